package api

import (
	"fmt"
	"net/netip"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// k8sPolicySpec validates a networking/v1 NetworkPolicy spec the way the
// API server does, plus palisade decision 9: bad CIDRs, excepts and ports
// are rejected rather than dropped.
func (v *validator) k8sPolicySpec(path string, podSel *metav1.LabelSelector,
	ingress []networkingv1.NetworkPolicyIngressRule, egress []networkingv1.NetworkPolicyEgressRule,
	types []networkingv1.PolicyType) {
	v.labelSelector(path+".podSelector", podSel)
	if len(types) > 2 {
		v.add(path+".policyTypes", "", "at most two policy types (Ingress, Egress) may be given")
	}
	for i, t := range types {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			v.add(fmt.Sprintf("%s.policyTypes[%d]", path, i), string(t), "policy type must be Ingress or Egress")
		}
	}
	for i, r := range ingress {
		rp := fmt.Sprintf("%s.ingress[%d]", path, i)
		v.k8sPorts(rp+".ports", r.Ports)
		for j := range r.From {
			v.k8sPeer(fmt.Sprintf("%s.from[%d]", rp, j), &r.From[j])
		}
	}
	for i, r := range egress {
		rp := fmt.Sprintf("%s.egress[%d]", path, i)
		v.k8sPorts(rp+".ports", r.Ports)
		for j := range r.To {
			v.k8sPeer(fmt.Sprintf("%s.to[%d]", rp, j), &r.To[j])
		}
	}
}

func (v *validator) labelSelector(path string, s *metav1.LabelSelector) {
	if s == nil {
		return
	}
	if _, err := metav1.LabelSelectorAsSelector(s); err != nil {
		v.add(path, "", "invalid label selector: "+err.Error())
	}
}

func (v *validator) k8sPorts(path string, ports []networkingv1.NetworkPolicyPort) {
	for i, p := range ports {
		pp := fmt.Sprintf("%s[%d]", path, i)
		if p.Protocol != nil {
			switch *p.Protocol {
			case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
			default:
				v.add(pp+".protocol", string(*p.Protocol), "protocol must be TCP, UDP or SCTP")
			}
		}
		numeric := p.Port != nil && p.Port.Type == intstr.Int
		if p.Port != nil {
			if numeric {
				if p.Port.IntVal < 1 || p.Port.IntVal > 65535 {
					v.add(pp+".port", p.Port.String(), "port must be between 1 and 65535, inclusive")
				}
			} else if errs := validation.IsValidPortName(p.Port.StrVal); len(errs) > 0 {
				v.add(pp+".port", p.Port.StrVal, "invalid port name: "+errs[0])
			}
		}
		if p.EndPort == nil {
			continue
		}
		switch {
		case !numeric:
			v.add(pp+".endPort", fmt.Sprint(*p.EndPort), "endPort may only be specified with a numeric port")
		case *p.EndPort < p.Port.IntVal:
			v.add(pp+".endPort", fmt.Sprint(*p.EndPort), "endPort must be greater than or equal to port")
		case *p.EndPort > 65535:
			v.add(pp+".endPort", fmt.Sprint(*p.EndPort), "endPort must be between 1 and 65535, inclusive")
		}
	}
}

func (v *validator) k8sPeer(path string, p *networkingv1.NetworkPolicyPeer) {
	n := 0
	if p.PodSelector != nil {
		n++
		v.labelSelector(path+".podSelector", p.PodSelector)
	}
	if p.NamespaceSelector != nil {
		n++
		v.labelSelector(path+".namespaceSelector", p.NamespaceSelector)
	}
	if p.IPBlock == nil {
		if n == 0 {
			v.add(path, "", "must specify a peer (podSelector, namespaceSelector or ipBlock)")
		}
		return
	}
	if n > 0 {
		v.add(path, "", "may not specify both ipBlock and another peer")
	}
	v.ipBlock(path+".ipBlock", p.IPBlock)
}

// ipBlock checks cidr and except: valid CIDRs, each except a strict subset
// of cidr (docs/api.md decision 9).
func (v *validator) ipBlock(path string, b *networkingv1.IPBlock) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		v.add(path+".cidr", b.CIDR, "must be a valid CIDR")
		return
	}
	cidr = cidr.Masked()
	for i, e := range b.Except {
		ep := fmt.Sprintf("%s.except[%d]", path, i)
		ex, err := netip.ParsePrefix(e)
		switch {
		case err != nil:
			v.add(ep, e, "must be a valid CIDR")
		case ipFamily(ex.Addr()) != ipFamily(cidr.Addr()) || !cidr.Contains(ex.Addr()) || ex.Bits() <= cidr.Bits():
			v.add(ep, e, "must be a strict subset of cidr "+b.CIDR)
		}
	}
}

// stagedK8s validates a StagedKubernetesNetworkPolicy (docs/api.md §2.3).
func (v *validator) stagedK8s(o *StagedKubernetesNetworkPolicy) {
	v.stagedAction("spec.stagedAction", o.Spec.StagedAction)
	if o.Spec.StagedAction == StagedActionDelete {
		rest := o.Spec
		rest.StagedAction = ""
		if !reflect.DeepEqual(rest, StagedKubernetesNetworkPolicySpec{}) {
			v.add("spec", "", "Spec fields, except stagedAction, should all be zero-value if stagedAction is Delete")
		}
		return
	}
	v.k8sPolicySpec("spec", &o.Spec.PodSelector, o.Spec.Ingress, o.Spec.Egress, o.Spec.PolicyTypes)
}
