package api

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LabelTier is set on every policy by defaulting (docs/api.md §1.3).
const LabelTier = "projectcalico.org/tier"

// Default fills in the values Calico's defaulting would (docs/api.md §2.1, §2.3,
// §2.4, §2.10; docs/semantics.md decision 7 and the §7.5 erratum). It is
// idempotent and never fails; Validate reports what it cannot fix.
func Default(o Object) {
	switch o := o.(type) {
	case *GlobalNetworkPolicy:
		defaultPolicy(&o.ObjectMeta, &o.Spec.Tier, &o.Spec.Types, len(o.Spec.Ingress), len(o.Spec.Egress), true)
	case *NetworkPolicy:
		defaultPolicy(&o.ObjectMeta, &o.Spec.Tier, &o.Spec.Types, len(o.Spec.Ingress), len(o.Spec.Egress), true)
	case *StagedGlobalNetworkPolicy:
		s := &o.Spec
		defaultStagedAction(&s.StagedAction)
		// Delete wants every spec field but tier zero, so types stay empty.
		defaultPolicy(&o.ObjectMeta, &s.Tier, &s.Types, len(s.Ingress), len(s.Egress),
			s.StagedAction != StagedActionDelete)
	case *StagedNetworkPolicy:
		s := &o.Spec
		defaultStagedAction(&s.StagedAction)
		defaultPolicy(&o.ObjectMeta, &s.Tier, &s.Types, len(s.Ingress), len(s.Egress),
			s.StagedAction != StagedActionDelete)
	case *StagedKubernetesNetworkPolicy:
		defaultStagedAction(&o.Spec.StagedAction)
		if o.Spec.StagedAction != StagedActionDelete {
			defaultK8sPolicy(&o.Spec.PolicyTypes, o.Spec.Ingress, o.Spec.Egress)
		}
	case *networkingv1.NetworkPolicy:
		defaultK8sPolicy(&o.Spec.PolicyTypes, o.Spec.Ingress, o.Spec.Egress)
	case *Tier:
		if o.Spec.DefaultAction == nil {
			a := Deny
			o.Spec.DefaultAction = &a
		}
	case *FelixConfiguration:
		defaultFailsafes(o.Spec.FailsafeInboundHostPorts)
		defaultFailsafes(o.Spec.FailsafeOutboundHostPorts)
	case *corev1.Pod:
		defaultPodPorts(o)
	case *corev1.Service:
		for i := range o.Spec.Ports {
			if o.Spec.Ports[i].Protocol == "" {
				o.Spec.Ports[i].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// defaultPolicy applies the policy defaults shared by the four Calico policy
// kinds: tier, the default-tier name prefix, types and the tier label.
func defaultPolicy(meta *metav1.ObjectMeta, tier *string, types *[]PolicyType, nIngress, nEgress int, withTypes bool) {
	if *tier == "" {
		*tier = DefaultTierName
	}
	if *tier == DefaultTierName {
		if rest, ok := strings.CutPrefix(meta.Name, DefaultTierName+"."); ok && rest != "" {
			meta.Name = rest
		}
	}
	if len(*types) == 0 && withTypes {
		*types = inferTypes(nIngress, nEgress)
	}
	if meta.Labels == nil {
		meta.Labels = map[string]string{}
	}
	meta.Labels[LabelTier] = *tier
}

// inferTypes is Calico's types defaulting (api/pkg/defaults/networkpolicy.go).
func inferTypes(nIngress, nEgress int) []PolicyType {
	switch {
	case nEgress == 0:
		return []PolicyType{PolicyTypeIngress}
	case nIngress == 0:
		return []PolicyType{PolicyTypeEgress}
	}
	return []PolicyType{PolicyTypeIngress, PolicyTypeEgress}
}

func defaultStagedAction(a *StagedAction) {
	if *a == "" {
		*a = StagedActionSet
	}
}

// defaultK8sPolicy is the API server's NetworkPolicy defaulting: policyTypes
// is Ingress plus Egress when there is at least one egress rule (an empty
// `egress: []` adds nothing, as in the API server's SetDefaults), and ports
// without a protocol are TCP.
func defaultK8sPolicy(types *[]networkingv1.PolicyType, ingress []networkingv1.NetworkPolicyIngressRule,
	egress []networkingv1.NetworkPolicyEgressRule) {
	if len(*types) == 0 {
		*types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(egress) != 0 {
			*types = append(*types, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range ingress {
		defaultK8sPorts(ingress[i].Ports)
	}
	for i := range egress {
		defaultK8sPorts(egress[i].Ports)
	}
}

func defaultK8sPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			p := corev1.ProtocolTCP
			ports[i].Protocol = &p
		}
	}
}

// defaultFailsafes upper-cases failsafe protocols and fills in TCP, Felix's
// default for an entry without one.
func defaultFailsafes(list *[]ProtoPort) {
	if list == nil {
		return
	}
	for i := range *list {
		p := &(*list)[i]
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		p.Protocol = strings.ToUpper(p.Protocol)
	}
}

func defaultPodPorts(p *corev1.Pod) {
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			for j := range cs[i].Ports {
				if cs[i].Ports[j].Protocol == "" {
					cs[i].Ports[j].Protocol = corev1.ProtocolTCP
				}
			}
		}
	}
}
