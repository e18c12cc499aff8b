package k8sconv

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrchestratorClause starts every pod selector palisade builds from a
// Kubernetes label selector, so that it matches pods only.
const OrchestratorClause = "projectcalico.org/orchestrator == 'k8s'"

// podSelector renders a Kubernetes pod selector in Calico's form: the
// orchestrator clause, then matchLabels sorted by key, then matchExpressions
// in input order, joined with " && ". A nil selector yields only the
// orchestrator clause.
func podSelector(s *metav1.LabelSelector, path string, errs *fieldErrs) string {
	terms := []string{OrchestratorClause}
	if s == nil {
		return OrchestratorClause
	}
	terms = append(terms, selectorTerms(s, path, errs)...)
	return strings.Join(terms, " && ")
}

// namespaceSelector renders a Kubernetes namespace selector in Calico's
// form: no orchestrator clause and no prefix. Absent means "the policy's own
// namespace" and yields ""; present but empty selects every namespace and
// yields "all()".
func namespaceSelector(s *metav1.LabelSelector, path string, errs *fieldErrs) string {
	if s == nil {
		return ""
	}
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return "all()"
	}
	return strings.Join(selectorTerms(s, path, errs), " && ")
}

// selectorTerms returns one Calico term per requirement of s and records a
// FieldError for every requirement that Kubernetes validation would reject.
// Unknown operators are errors rather than being skipped: skipping one
// would widen the selector.
func selectorTerms(s *metav1.LabelSelector, path string, errs *fieldErrs) []string {
	var terms []string
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := s.MatchLabels[k]
		field := fmt.Sprintf("%s.matchLabels[%s]", path, k)
		errs.addAll(field, k, content.IsLabelKey(k))
		errs.addAll(field, v, content.IsLabelValue(v))
		terms = append(terms, fmt.Sprintf("%s == '%s'", k, v))
	}
	for i, e := range s.MatchExpressions {
		field := fmt.Sprintf("%s.matchExpressions[%d]", path, i)
		if t, ok := expressionTerm(e, field, errs); ok {
			terms = append(terms, t)
		}
	}
	return terms
}

// expressionTerm converts one matchExpressions entry.
func expressionTerm(e metav1.LabelSelectorRequirement, field string, errs *fieldErrs) (string, bool) {
	before := len(*errs)
	errs.addAll(field+".key", e.Key, content.IsLabelKey(e.Key))
	var term string
	switch e.Operator {
	case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
		if len(e.Values) == 0 {
			errs.add(field+".values", "", "must be specified when `operator` is 'In' or 'NotIn'")
		}
		for j, v := range e.Values {
			errs.addAll(fmt.Sprintf("%s.values[%d]", field, j), v, content.IsLabelValue(v))
		}
		op := "in"
		if e.Operator == metav1.LabelSelectorOpNotIn {
			op = "not in"
		}
		term = fmt.Sprintf("%s %s { '%s' }", e.Key, op, strings.Join(e.Values, "', '"))
	case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
		if len(e.Values) > 0 {
			errs.add(field+".values", strings.Join(e.Values, ","),
				"may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
		}
		term = fmt.Sprintf("has(%s)", e.Key)
		if e.Operator == metav1.LabelSelectorOpDoesNotExist {
			term = "! " + term
		}
	default:
		errs.add(field+".operator", string(e.Operator), "not a valid selector operator (In, NotIn, Exists, DoesNotExist)")
	}
	return term, len(*errs) == before
}
