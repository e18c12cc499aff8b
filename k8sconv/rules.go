package k8sconv

import (
	"fmt"
	"net/netip"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-net/palisade/api"
)

// convertRule converts one Kubernetes rule (its peers and ports) into Calico
// Allow rules: one per protocol group and peer, protocols outermost.
// ingress puts the peer in the source; egress puts it in the destination.
// If anything in the rule is invalid, no rules are returned and errs says
// why: a partly converted rule could allow more than the author meant.
func convertRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort,
	path, peerField string, ingress bool, errs *fieldErrs) []api.Rule {
	before := len(*errs)
	groups := groupPorts(ports, path+".ports", errs)
	entities := make([]api.EntityRule, 0, max(len(peers), 1))
	for i := range peers {
		entities = append(entities, convertPeer(&peers[i], fmt.Sprintf("%s.%s[%d]", path, peerField, i), errs))
	}
	if len(peers) == 0 {
		entities = append(entities, api.EntityRule{})
	}
	if len(*errs) != before {
		return nil
	}
	rules := make([]api.Rule, 0, len(groups)*len(entities))
	for _, g := range groups {
		var proto *api.Protocol
		if g.proto != "" {
			p := api.ProtocolFromString(g.proto)
			proto = &p
		}
		for _, peer := range entities {
			r := api.Rule{Action: api.Allow, Protocol: proto}
			if ingress {
				r.Source = peer
				r.Destination = api.EntityRule{Ports: g.ports}
			} else {
				r.Destination = peer
				r.Destination.Ports = g.ports
			}
			rules = append(rules, r)
		}
	}
	return rules
}

// convertPeer converts one from/to entry. An ipBlock becomes nets and
// notNets; pod and namespace selectors become selector and
// namespaceSelector. Mixing the two kinds is an error: Calico would ignore
// the selectors and so allow more than either reading of the entry.
func convertPeer(p *networkingv1.NetworkPolicyPeer, path string, errs *fieldErrs) api.EntityRule {
	if p.IPBlock != nil {
		if p.PodSelector != nil || p.NamespaceSelector != nil {
			errs.add(path, "ipBlock", "may not specify more than 1 peer type: ipBlock cannot be combined with podSelector or namespaceSelector")
			return api.EntityRule{}
		}
		return convertIPBlock(p.IPBlock, path+".ipBlock", errs)
	}
	return api.EntityRule{
		Selector:          podSelector(p.PodSelector, path+".podSelector", errs),
		NamespaceSelector: namespaceSelector(p.NamespaceSelector, path+".namespaceSelector", errs),
	}
}

// convertIPBlock converts an ipBlock. The cidr is normalised to its network
// address; every except entry must be a CIDR of the same family strictly
// inside it (the Kubernetes API server's rule), and is normalised too.
func convertIPBlock(b *networkingv1.IPBlock, path string, errs *fieldErrs) api.EntityRule {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		errs.add(path+".cidr", b.CIDR, "invalid CIDR: "+err.Error())
		return api.EntityRule{}
	}
	cidr = cidr.Masked()
	er := api.EntityRule{Nets: []string{cidr.String()}}
	for i, ex := range b.Except {
		field := fmt.Sprintf("%s.except[%d]", path, i)
		p, err := netip.ParsePrefix(ex)
		switch {
		case err != nil:
			errs.add(field, ex, "invalid CIDR: "+err.Error())
		case p.Addr().Is4() != cidr.Addr().Is4():
			errs.add(field, ex, "must be the same IP family as cidr "+cidr.String())
		case p.Bits() <= cidr.Bits() || !cidr.Contains(p.Addr()):
			errs.add(field, ex, "must be a strict subset of cidr "+cidr.String())
		default:
			er.NotNets = append(er.NotNets, p.Masked().String())
		}
	}
	return er
}
