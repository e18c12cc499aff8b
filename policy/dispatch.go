package policy

import "net/netip"

// namedHEP returns the host endpoint bound to iface on n by name or by one
// of its expectedIPs; the alphabetically smallest wins (§1.2 items 1-4).
func (m *Model) namedHEP(n *Node, iface string) *HostEndpoint {
	addrs := ifaceAddrs(n, iface)
	for _, h := range m.HostEndpoints { // sorted by name
		if h.Node != n.Name {
			continue
		}
		if h.Interface == iface {
			return h
		}
		if h.Interface == "" && holdsAny(addrs, h.ExpectedIPs) {
			return h
		}
	}
	return nil
}

// wildcardHEP returns n's active interfaceName "*" endpoint (§1.2 item 5).
func (m *Model) wildcardHEP(n *Node) *HostEndpoint {
	for _, h := range m.HostEndpoints {
		if h.Node == n.Name && h.IsWildcard() {
			return h
		}
	}
	return nil
}

// hepFor is HEP(iface) of §3.2: the named or IP-matched endpoint, else the
// wildcard. Workload interfaces get the wildcard only where the hook does
// not exclude them (forward and preDNAT), and nothing otherwise.
func (m *Model) hepFor(n *Node, iface string, workloadsToo bool) *HostEndpoint {
	if n.IsWorkloadInterface(iface) {
		if workloadsToo {
			return m.wildcardHEP(n)
		}
		return nil
	}
	if h := m.namedHEP(n, iface); h != nil {
		return h
	}
	return m.wildcardHEP(n)
}

// preDNATHEP is the errata's preDNAT dispatch: the interface's own endpoint
// if it has preDNAT policy, else the wildcard if it has, else none.
func (m *Model) preDNATHEP(n *Node, iface string) *HostEndpoint {
	if !n.IsWorkloadInterface(iface) {
		if h := m.namedHEP(n, iface); h != nil && m.hasPolicy(endpoint{hep: h}, StagePreDNAT, Ingress) {
			return h
		}
	}
	if w := m.wildcardHEP(n); w != nil && m.hasPolicy(endpoint{hep: w}, StagePreDNAT, Ingress) {
		return w
	}
	return nil
}

// untrackedHEP: only named or IP-matched endpoints with untracked policy in
// that direction; untracked policy on a wildcard is ignored (§3.2).
func (m *Model) untrackedHEP(n *Node, iface string, d Direction) *HostEndpoint {
	if n.IsWorkloadInterface(iface) {
		return nil
	}
	if h := m.namedHEP(n, iface); h != nil && m.hasPolicy(endpoint{hep: h}, StageUntracked, d) {
		return h
	}
	return nil
}

// workloadOn returns the workload on n whose interface is iface.
func (m *Model) workloadOn(n *Node, iface string) *Workload {
	return m.idx.wlByIface[ifaceKey{n.Name, iface}]
}

func ifaceAddrs(n *Node, iface string) []netip.Addr {
	for _, ifc := range n.Interfaces {
		if ifc.Name == iface {
			return ifc.Addrs
		}
	}
	return nil
}

func holdsAny(have, want []netip.Addr) bool {
	for _, a := range have {
		for _, b := range want {
			if a == b {
				return true
			}
		}
	}
	return false
}
