package policy

import (
	"net/netip"
	"sort"
)

// epKey identifies one endpoint evaluation context.
type epKey struct {
	wl  *Workload
	hep *HostEndpoint
	k   StageKind
	d   Direction
}

// ifaceKey names an interface on a node.
type ifaceKey struct{ node, iface string }

// tierPolicies are the policies of one tier that apply to an endpoint.
type tierPolicies struct {
	tier     *Tier
	policies []*Policy
}

// index holds lookups computed once when the model is built, so the model
// is read-only afterwards and safe for concurrent evaluation.
type index struct {
	applicable map[epKey][]tierPolicies
	byAddr     map[netip.Addr][]int // owners whose prefix is one host address
	wide       []int                // owners with wider prefixes (network sets)
	wlByIP     map[netip.Addr]*Workload
	wlByIface  map[ifaceKey]*Workload
	nodeByIP   map[netip.Addr]*Node
}

func (m *Model) buildIndex() {
	x := &m.idx
	x.applicable = map[epKey][]tierPolicies{}
	for _, w := range m.Workloads {
		for _, d := range []Direction{Ingress, Egress} {
			m.indexEndpoint(endpoint{wl: w}, StageNormal, d)
		}
	}
	for _, h := range m.HostEndpoints {
		for _, k := range []StageKind{StageNormal, StageForward, StagePreDNAT, StageUntracked} {
			for _, d := range []Direction{Ingress, Egress} {
				m.indexEndpoint(endpoint{hep: h}, k, d)
			}
		}
	}
	x.byAddr = map[netip.Addr][]int{}
	for i, o := range m.owners {
		if o.prefix.IsSingleIP() {
			x.byAddr[o.prefix.Addr()] = append(x.byAddr[o.prefix.Addr()], i)
		} else {
			x.wide = append(x.wide, i)
		}
	}
	x.wlByIP = map[netip.Addr]*Workload{}
	x.wlByIface = map[ifaceKey]*Workload{}
	for _, w := range m.Workloads {
		for _, ip := range w.IPs {
			if _, dup := x.wlByIP[ip]; !dup {
				x.wlByIP[ip] = w
			}
		}
		x.wlByIface[ifaceKey{w.Node, m.Nodes[w.Node].WorkloadInterface(w)}] = w
	}
	x.nodeByIP = map[netip.Addr]*Node{}
	names := m.NodeNames()
	sort.Strings(names)
	for _, name := range names {
		n := m.Nodes[name]
		for _, ifc := range n.Interfaces {
			if ifc.Name == "lo" {
				continue
			}
			for _, a := range ifc.Addrs {
				if _, dup := x.nodeByIP[a]; !dup {
					x.nodeByIP[a] = n
				}
			}
		}
	}
}

func (m *Model) indexEndpoint(ep endpoint, k StageKind, d Direction) {
	var list []tierPolicies
	for _, t := range m.Tiers {
		var ps []*Policy
		for _, p := range t.Policies {
			if p.applies(ep, k, d) {
				ps = append(ps, p)
			}
		}
		if len(ps) > 0 {
			list = append(list, tierPolicies{tier: t, policies: ps})
		}
	}
	if len(list) > 0 {
		m.idx.applicable[epKey{ep.wl, ep.hep, k, d}] = list
	}
}

// applicableTiers returns the tiers, in order, with the policies that apply
// to ep for kind and direction (§7.1).
func (m *Model) applicableTiers(ep endpoint, k StageKind, d Direction) []tierPolicies {
	return m.idx.applicable[epKey{ep.wl, ep.hep, k, d}]
}

// forEachOwner calls fn for every owner whose prefix holds ip, until fn
// returns true; it reports whether fn did.
func (m *Model) forEachOwner(ip netip.Addr, fn func(o *ipOwner) bool) bool {
	for _, i := range m.idx.byAddr[ip] {
		if fn(&m.owners[i]) {
			return true
		}
	}
	for _, i := range m.idx.wide {
		if m.owners[i].prefix.Contains(ip) && fn(&m.owners[i]) {
			return true
		}
	}
	return false
}

// Pods returns every workload with an address as a peer, in order.
func (m *Model) Pods() []Peer {
	var out []Peer
	for _, w := range m.Workloads {
		if len(w.IPs) > 0 {
			out = append(out, Peer{Kind: PeerWorkload, Workload: w})
		}
	}
	return out
}
