package k8sconv

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field of a Kubernetes NetworkPolicy.
type FieldError struct {
	// Field is the path of the offending field, for example
	// "spec.ingress[0].from[1].ipBlock.cidr".
	Field string
	// Value is the offending value as written.
	Value string
	// Reason says what is wrong with it.
	Reason string
}

// Error renders the error in Calico's validation style (docs/api.md §8.3), so
// that "error with field" matches as a stable substring.
func (e *FieldError) Error() string {
	return fmt.Sprintf("error with field %s = '%s' (%s)", e.Field, e.Value, e.Reason)
}

// ConversionError lists every problem found while converting one policy.
//
// When Convert returns a ConversionError together with a non-nil policy, the
// policy lacks exactly the Kubernetes rules named in Errors (their Rule
// indexes are in DroppedIngress and DroppedEgress). Such a policy allows
// less than the author asked for, never more.
type ConversionError struct {
	Namespace string
	Name      string
	Errors    []*FieldError
	// DroppedIngress and DroppedEgress are the indexes of the Kubernetes
	// rules left out of the returned policy.
	DroppedIngress []int
	DroppedEgress  []int
}

// Error joins the field errors after a line naming the policy.
func (e *ConversionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot convert Kubernetes NetworkPolicy %s/%s:", e.Namespace, e.Name)
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteByte(' ')
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap exposes the field errors to errors.As and errors.Is.
func (e *ConversionError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

// fieldErrs accumulates FieldErrors.
type fieldErrs []*FieldError

func (f *fieldErrs) add(field, value, reason string) {
	*f = append(*f, &FieldError{Field: field, Value: value, Reason: reason})
}

// addAll records one error whose reason joins reasons; nothing if empty.
func (f *fieldErrs) addAll(field, value string, reasons []string) {
	if len(reasons) > 0 {
		f.add(field, value, strings.Join(reasons, "; "))
	}
}
