package policy

import (
	"fmt"
	"net/netip"
)

// hop is a packet's passage through one node: in by an interface ("" =
// sent by a local process), out by an interface ("" = delivered to a local
// process).
type hop struct {
	node      *Node
	in, out   string
	pre, post packet // before and after DNAT
	dnat      string // set when kube-proxy DNATs at this hop (explanation)
	noBackend string // set when a NodePort has no backend here
	untracked bool   // the request was NOTRACKed here
}

// route lays out the hops of pkt starting at node n (entered by in), one
// list per NodePort backend it may be DNAT'd to.
func (m *Model) route(n *Node, in string, pkt packet) [][]hop {
	var out [][]hop
	m.walk(n, in, pkt, nil, &out, 0)
	return out
}

func (m *Model) walk(n *Node, in string, pkt packet, acc []hop, out *[][]hop, depth int) {
	h := hop{node: n, in: in, pre: pkt, post: pkt}
	if svc, sp := m.localNodePort(n, pkt); sp != nil {
		backends := sp.Backends
		if svc.Local {
			backends = localBackends(backends, n.Name)
		}
		var viable int
		for _, b := range backends {
			ip, ok := addrOfFamily(b.Workload.IPs, pkt.dst.Is4())
			if !ok {
				continue
			}
			viable++
			hb := h
			hb.post.dst, hb.post.dport = ip, b.Port
			hb.dnat = fmt.Sprintf("NodePort %d/%s of service %s/%s -> %s %s:%d",
				sp.NodePort, ProtoName(sp.Proto), svc.Namespace, svc.Name, b.Workload.Key(), ip, b.Port)
			m.forward(hb, svc.Local, append([]hop(nil), acc...), out, depth)
		}
		if viable == 0 {
			h.noBackend = fmt.Sprintf("NodePort %d/%s of service %s/%s has no backend pod here", sp.NodePort, ProtoName(sp.Proto), svc.Namespace, svc.Name)
			*out = append(*out, append(acc, h))
		}
		return
	}
	m.forward(h, false, acc, out, depth)
}

// forward routes h.post from h.node, appends h and continues at the next node.
func (m *Model) forward(h hop, local bool, acc []hop, out *[][]hop, depth int) {
	n := h.node
	dst := h.post.dst
	if isLocalAddr(n, dst) {
		h.out = ""
		*out = append(*out, append(acc, h))
		return
	}
	if w := m.workloadByIP(dst); w != nil && w.Node == n.Name {
		h.out = n.WorkloadInterface(w)
		*out = append(*out, append(acc, h))
		return
	}
	h.out = uplink(n)
	next := m.nodeFor(dst)
	nextPkt := h.post
	if h.dnat != "" && !local && next != nil && next != n {
		// kube-proxy masquerades NodePort traffic it sends to another node.
		if a, ok := nodeAddr(n, dst.Is4()); ok {
			nextPkt.src = a
		}
	}
	acc = append(acc, h)
	if next == nil || next == n || depth > 4 {
		*out = append(*out, acc)
		return
	}
	m.walk(next, arrivalInterface(next, dst), nextPkt, acc, out, depth+1)
}

// localNodePort returns the NodePort service a packet addressed to one of
// n's own addresses hits, as kube-proxy would see it.
func (m *Model) localNodePort(n *Node, pkt packet) (*Service, *ServicePort) {
	if !pkt.carriesPorts() || !isLocalAddr(n, pkt.dst) || pkt.dst.IsLoopback() {
		return nil, nil
	}
	return m.nodePort(pkt.proto, pkt.dport)
}

func localBackends(bs []Backend, node string) []Backend {
	var out []Backend
	for _, b := range bs {
		if b.Workload.Node == node {
			out = append(out, b)
		}
	}
	return out
}

// nodeFor returns the node a packet for dst goes to: the node owning the
// address, or the node of the pod owning it.
func (m *Model) nodeFor(dst netip.Addr) *Node {
	if n := m.nodeByIP(dst); n != nil {
		return n
	}
	if w := m.workloadByIP(dst); w != nil {
		return m.Nodes[w.Node]
	}
	return nil
}

func isLocalAddr(n *Node, a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	for _, ifc := range n.Interfaces {
		for _, x := range ifc.Addrs {
			if x == a {
				return true
			}
		}
	}
	return false
}

// uplink is the interface a node sends off-node traffic by.
func uplink(n *Node) string {
	for _, ifc := range n.Interfaces {
		if ifc.Name != "lo" {
			return ifc.Name
		}
	}
	return "eth0"
}

// arrivalInterface is the interface a packet for dst arrives by: the one
// holding dst, else the uplink.
func arrivalInterface(n *Node, dst netip.Addr) string {
	for _, ifc := range n.Interfaces {
		if ifc.Name == "lo" {
			continue
		}
		for _, x := range ifc.Addrs {
			if x == dst {
				return ifc.Name
			}
		}
	}
	return uplink(n)
}

func nodeAddr(n *Node, v4 bool) (netip.Addr, bool) {
	for _, ifc := range n.Interfaces {
		if ifc.Name == "lo" {
			continue
		}
		if a, ok := addrOfFamily(ifc.Addrs, v4); ok {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func addrOfFamily(as []netip.Addr, v4 bool) (netip.Addr, bool) {
	for _, a := range as {
		if a.Is4() == v4 {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// IsLocal reports whether a is one of the node's addresses, or loopback.
func (n *Node) IsLocal(a netip.Addr) bool { return isLocalAddr(n, a) }

// Uplink is the interface the node sends off-node traffic by.
func (n *Node) Uplink() string { return uplink(n) }

// ArrivalInterface is the interface a packet for dst arrives by: the one
// holding dst, else the uplink.
func (n *Node) ArrivalInterface(dst netip.Addr) string { return arrivalInterface(n, dst) }

// NodePort returns the NodePort service port for proto and port, if any.
func (m *Model) NodePort(proto uint8, port uint16) (*Service, *ServicePort) {
	return m.nodePort(proto, port)
}
