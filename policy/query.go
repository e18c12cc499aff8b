package policy

import (
	"net/netip"
	"sort"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/selector"
)

// This file is the model's read-only query surface for the dataplane
// renderer: what the evaluator decides from, exposed so the nftables
// ruleset is built from the same facts.

// TierPolicies are the policies of one tier that apply to an endpoint, in
// evaluation order.
type TierPolicies struct {
	Tier     *Tier
	Policies []*Policy
}

func exportTiers(in []tierPolicies) []TierPolicies {
	out := make([]TierPolicies, len(in))
	for i, tp := range in {
		out[i] = TierPolicies{Tier: tp.tier, Policies: tp.policies}
	}
	return out
}

// WorkloadPolicies returns the tiers and policies that apply to a workload
// in a direction (workloads use normal policy only, §7.1).
func (m *Model) WorkloadPolicies(w *Workload, d Direction) []TierPolicies {
	return exportTiers(m.applicableTiers(endpoint{wl: w}, StageNormal, d))
}

// HostEndpointPolicies returns the tiers and policies that apply to a host
// endpoint for a stage kind and direction.
func (m *Model) HostEndpointPolicies(h *HostEndpoint, k StageKind, d Direction) []TierPolicies {
	return exportTiers(m.applicableTiers(endpoint{hep: h}, k, d))
}

// HostEndpointFor is HEP(iface) of §3.2 (see hepFor).
func (m *Model) HostEndpointFor(n *Node, iface string, workloadsToo bool) *HostEndpoint {
	return m.hepFor(n, iface, workloadsToo)
}

// NamedHostEndpoint is the named or IP-matched endpoint of iface, if any.
func (m *Model) NamedHostEndpoint(n *Node, iface string) *HostEndpoint { return m.namedHEP(n, iface) }

// WildcardHostEndpoint is the node's active "*" endpoint, if any.
func (m *Model) WildcardHostEndpoint(n *Node) *HostEndpoint { return m.wildcardHEP(n) }

// PreDNATHostEndpoint is the endpoint whose preDNAT policy runs for packets
// arriving by iface (errata to §3.2).
func (m *Model) PreDNATHostEndpoint(n *Node, iface string) *HostEndpoint {
	return m.preDNATHEP(n, iface)
}

// UntrackedHostEndpoint is the endpoint whose untracked policy runs for iface
// in a direction (named or IP-matched only).
func (m *Model) UntrackedHostEndpoint(n *Node, iface string, d Direction) *HostEndpoint {
	return m.untrackedHEP(n, iface, d)
}

// WorkloadsOn returns the workloads on a node, in order.
func (m *Model) WorkloadsOn(node string) []*Workload {
	var out []*Workload
	for _, w := range m.Workloads {
		if w.Node == node {
			out = append(out, w)
		}
	}
	return out
}

// InFamily reports whether the rule is rendered for IPv4 (v4) or IPv6.
func (r *Rule) InFamily(v4 bool) bool {
	if v4 {
		return r.v4
	}
	return r.v6
}

// SelectorMembers returns the addresses a selector side resolves to
// (§8.5): the prefixes of every workload address, host endpoint expected
// address and network set CIDR whose labels match sel and not notSel. With
// a nil sel it returns what notSel matches (the set a lone notSelector
// excludes). Sorted and de-duplicated.
func (m *Model) SelectorMembers(sel, notSel *selector.Selector) iplist.List {
	seen := map[netip.Prefix]bool{}
	for i := range m.owners {
		o := &m.owners[i]
		var in bool
		if sel == nil {
			in = notSel != nil && notSel.Matches(o.labels)
		} else {
			in = sel.Matches(o.labels) && (notSel == nil || !notSel.Matches(o.labels))
		}
		if in {
			seen[o.prefix] = true
		}
	}
	out := make([]netip.Prefix, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Addr().Compare(out[j].Addr()); c != 0 {
			return c < 0
		}
		return out[i].Bits() < out[j].Bits()
	})
	return iplist.Of(out)
}

// NamedPortMember is one (address, protocol, port) a named port resolves to.
type NamedPortMember struct {
	Addr  netip.Addr
	Proto uint8
	Port  uint16
}

// NamedPortMembers resolves named ports on one side of a rule (§8.4): every
// endpoint address whose endpoint matches sel (any endpoint when sel is
// nil) and has a port of one of the names. Sorted.
func (m *Model) NamedPortMembers(sel *selector.Selector, names []string) []NamedPortMember {
	var out []NamedPortMember
	for i := range m.owners {
		o := &m.owners[i]
		if !o.prefix.IsSingleIP() || (sel != nil && !sel.Matches(o.labels)) {
			continue
		}
		for _, np := range o.ports {
			if contains(names, np.Name) {
				out = append(out, NamedPortMember{Addr: o.prefix.Addr(), Proto: np.Proto, Port: np.Port})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c < 0
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		return a.Port < b.Port
	})
	return out
}
