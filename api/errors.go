package api

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one broken rule at one place in a resource.
type FieldError struct {
	// Field is the JSON path of the offending value, for example
	// spec.ingress[0].destination.ports[1] or metadata.labels[app].
	Field string
	// Value is the offending value as text, when there is one.
	Value string
	// Rule says what is wrong, in Calico's words where docs/api.md quotes them.
	Rule string
	// Line is the line of the offending key in the source (0: unknown;
	// the document's line is printed instead).
	Line int
}

// Error renders "<field>: <rule>".
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Rule
	}
	return e.Field + ": " + e.Rule
}

// Rules shared between the decoder and its callers.
const (
	// RuleUnknownField is reported for every field the target type does not
	// have (calicoctl's wording).
	RuleUnknownField = "field in document is not recognized or is in the wrong location"
	// RuleDuplicateField is reported when a mapping repeats a key.
	RuleDuplicateField = "field is specified more than once"
)

// DocumentError is what Decode reports for a document (or one item of a
// list document) that did not yield an object. Either Fields or Err is set.
type DocumentError struct {
	Source string       // the source name given to Decode
	Index  int          // 1-based index of the document in Source
	Line   int          // first line of the object (or of the error)
	Kind   string       // the resource kind, when it could be read
	Name   string       // metadata.name, when it could be read
	Fields []FieldError // decoding, strictness and validation failures
	Err    error        // a failure that is not about one field
}

// Error renders one line per field error:
//
//	<source>: document <n> (line <l>): <Kind> "<name>": <field>: <rule>
func (e *DocumentError) Error() string {
	prefix := e.prefix()
	if len(e.Fields) == 0 {
		if e.Err == nil {
			return prefix + "invalid document"
		}
		return prefix + e.Err.Error()
	}
	lines := make([]string, 0, len(e.Fields)+1)
	for _, f := range e.Fields {
		p := prefix
		if f.Line > 0 && f.Line != e.Line {
			at := *e
			at.Line = f.Line
			p = at.prefix()
		}
		lines = append(lines, p+f.Error())
	}
	if e.Err != nil {
		lines = append(lines, prefix+e.Err.Error())
	}
	return strings.Join(lines, "\n")
}

func (e *DocumentError) prefix() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Index > 0 {
		fmt.Fprintf(&b, "document %d", e.Index)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Kind != "" {
		b.WriteString(e.Kind)
		if e.Name != "" {
			fmt.Fprintf(&b, " %q", e.Name)
		}
		b.WriteString(": ")
	}
	return b.String()
}

// CalicoMessage renders the field errors the way libcalico-go's validation
// error does, for output that scripts grep (docs/api.md §8.3): one field gives
// "error with field <field> = '<value>' (<rule>)", several give
// "error with the following fields:" and one "-  <field> = '<value>' (<rule>)"
// line each. Without field errors it is Err's text.
func (e *DocumentError) CalicoMessage() string {
	switch len(e.Fields) {
	case 0:
		if e.Err == nil {
			return "invalid document"
		}
		return e.Err.Error()
	case 1:
		f := e.Fields[0]
		return fmt.Sprintf("error with field %s = '%s' (%s)", f.Field, f.Value, f.Rule)
	}
	lines := []string{"error with the following fields:"}
	for _, f := range e.Fields {
		lines = append(lines, fmt.Sprintf("-  %s = '%s' (%s)", f.Field, f.Value, f.Rule))
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the non-field error, if any.
func (e *DocumentError) Unwrap() error { return e.Err }

// HasUnknownField reports whether the document was rejected (among other
// reasons) for a field its type does not have.
func (e *DocumentError) HasUnknownField() bool {
	for _, f := range e.Fields {
		if f.Rule == RuleUnknownField {
			return true
		}
	}
	return false
}

// UnknownKindError is returned for an (apiVersion, kind) pair palisade does
// not read.
type UnknownKindError struct {
	Kind       string
	APIVersion string
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("unknown resource type (%s) and/or version (%s)", e.Kind, e.APIVersion)
}

// IsUnknownKind reports whether err is or wraps an *UnknownKindError.
func IsUnknownKind(err error) bool {
	var u *UnknownKindError
	return errors.As(err, &u)
}

// Sentinel errors of DecodeOne and the splitter.
var (
	// ErrNoResources: the input held no resource at all.
	ErrNoResources = errors.New("no resources specified")
	// ErrMultipleResources: DecodeOne was given more than one resource.
	ErrMultipleResources = errors.New("more than one resource specified")
	// ErrDocumentTooLarge: one document exceeds MaxDocumentSize.
	ErrDocumentTooLarge = errors.New("document exceeds the maximum size of 10 MiB")
)

// IsValidation reports whether err is a *DocumentError that carries field
// errors (as opposed to a syntax or unknown-kind error).
func IsValidation(err error) bool {
	var d *DocumentError
	return errors.As(err, &d) && len(d.Fields) > 0
}
