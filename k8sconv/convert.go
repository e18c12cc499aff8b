package k8sconv

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
)

// KindKubernetesNetworkPolicy is the kind a converted policy has in the
// equal-order tie-break "<name>/<namespace>/<kind>" (docs/semantics.md §7.3).
const KindKubernetesNetworkPolicy = "KubernetesNetworkPolicy"

// Order is the order every converted Kubernetes NetworkPolicy gets.
const Order = 1000.0

// Convert returns the Calico form of a Kubernetes NetworkPolicy: an
// *api.NetworkPolicy in the same namespace with the same name, tier
// "default", order 1000, a selector built per docs/api.md §6.2, types from
// policyTypes (empty → [Ingress]) and rules per §6.3.
//
// Convert does not default policyTypes the way the API server does; call
// ApplyDefaults first for a policy that did not come from an API server.
//
// Errors are *ConversionError values naming every bad field. If the policy
// as a whole cannot be converted (missing name or namespace, bad podSelector,
// unknown policy type), the policy is nil. If only some Kubernetes rules are
// bad, Convert returns the policy without those rules together with the
// error, so that callers enforcing existing objects can fail closed while
// callers admitting new objects reject them. Rules are never dropped
// silently.
func Convert(np *networkingv1.NetworkPolicy) (*api.NetworkPolicy, error) {
	cerr := &ConversionError{Namespace: np.Namespace, Name: np.Name}
	errs := (*fieldErrs)(&cerr.Errors)
	if np.Name == "" {
		errs.add("metadata.name", "", "name is required")
	}
	if np.Namespace == "" {
		errs.add("metadata.namespace", "", "namespace is not specified on namespaced resource")
	}
	sel := podSelector(&np.Spec.PodSelector, "spec.podSelector", errs)
	types := policyTypes(np.Spec.PolicyTypes, errs)
	policyLevel := len(cerr.Errors) > 0
	ingress, egress := convertRules(np, cerr)
	if policyLevel {
		return nil, cerr
	}
	order := Order
	pol := &api.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{Kind: api.KindNetworkPolicy, APIVersion: api.GroupVersionV3},
		ObjectMeta: metav1.ObjectMeta{
			Name:              np.Name,
			Namespace:         np.Namespace,
			UID:               np.UID,
			ResourceVersion:   np.ResourceVersion,
			CreationTimestamp: np.CreationTimestamp,
		},
		Spec: api.NetworkPolicySpec{
			Tier:     api.DefaultTierName,
			Order:    &order,
			Selector: sel,
			Types:    types,
			Ingress:  ingress,
			Egress:   egress,
		},
	}
	if len(cerr.Errors) > 0 {
		return pol, cerr
	}
	return pol, nil
}

// convertRules converts every ingress and egress rule, recording the
// problems and the indexes of the rules left out in cerr.
func convertRules(np *networkingv1.NetworkPolicy, cerr *ConversionError) (ingress, egress []api.Rule) {
	errs := (*fieldErrs)(&cerr.Errors)
	for i, r := range np.Spec.Ingress {
		rules := convertRule(r.From, r.Ports, fmt.Sprintf("spec.ingress[%d]", i), "from", true, errs)
		if rules == nil {
			cerr.DroppedIngress = append(cerr.DroppedIngress, i)
		}
		ingress = append(ingress, rules...)
	}
	for i, r := range np.Spec.Egress {
		rules := convertRule(r.To, r.Ports, fmt.Sprintf("spec.egress[%d]", i), "to", false, errs)
		if rules == nil {
			cerr.DroppedEgress = append(cerr.DroppedEgress, i)
		}
		egress = append(egress, rules...)
	}
	return ingress, egress
}

// policyTypes maps policyTypes to Calico types, Ingress before Egress
// whatever the input order. An empty list means [Ingress] (Calico's rule for
// policies written before policyTypes existed). An unknown value is an
// error: ignoring it could leave a direction unenforced.
func policyTypes(in []networkingv1.PolicyType, errs *fieldErrs) []api.PolicyType {
	var ingress, egress bool
	for i, t := range in {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		default:
			errs.add(fmt.Sprintf("spec.policyTypes[%d]", i), string(t), "supported values: \"Egress\", \"Ingress\"")
		}
	}
	var out []api.PolicyType
	if ingress || !egress {
		out = append(out, api.PolicyTypeIngress)
	}
	if egress {
		out = append(out, api.PolicyTypeEgress)
	}
	return out
}

// ApplyDefaults returns a copy of np with the defaults the Kubernetes API
// server applies on create: an empty policyTypes becomes [Ingress], plus
// Egress when the egress list is non-empty; a port without a protocol gets
// TCP. Policies read from files or YAML need this before Convert
// (docs/semantics.md errata, §7.5); policies read from an API server already
// have it. np is not modified.
func ApplyDefaults(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	out := np.DeepCopy()
	if len(out.Spec.PolicyTypes) == 0 {
		out.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(out.Spec.Egress) > 0 {
			out.Spec.PolicyTypes = append(out.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range out.Spec.Ingress {
		defaultProtocols(out.Spec.Ingress[i].Ports)
	}
	for i := range out.Spec.Egress {
		defaultProtocols(out.Spec.Egress[i].Ports)
	}
	return out
}

func defaultProtocols(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			tcp := corev1.ProtocolTCP
			ports[i].Protocol = &tcp
		}
	}
}
