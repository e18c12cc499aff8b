package render

import (
	"fmt"
	"net/netip"

	"github.com/palisade-net/palisade/policy"
)

// Synthetic packets of a flow at one node, for the tracer: the flow's
// passage through the node (in by an interface or sent by a local process,
// out by an interface or delivered locally), with a NodePort DNAT where
// kube-proxy would do one. The hop logic follows policy/route.go for the
// node's own view (policy does not export its routes): a flow the node
// starts, ends or forwards between a local pod and the outside.

// Hop is one passage of a flow's first packet through the node.
type Hop struct {
	In, Out   string // "" = a local process
	Pre, Post Packet // before and after DNAT (equal without DNAT)
	DNAT      bool
	Via       string // the NodePort backend, when DNAT'd
	NoBackend bool   // a NodePort with no backend here: kube-proxy drops it
}

// FlowHops returns the hops of f at node, one per NodePort backend the
// flow may be DNAT'd to.
func FlowHops(m *policy.Model, node string, f policy.Flow) ([]Hop, error) {
	n, ok := m.Nodes[node]
	if !ok {
		return nil, fmt.Errorf("no node named %q in the model", node)
	}
	src, dst, err := flowAddrs(f)
	if err != nil {
		return nil, err
	}
	in, err := entry(m, n, f, dst)
	if err != nil {
		return nil, err
	}
	return hops(m, n, in, flowPacket(f, src, dst)), nil
}

// flowAddrs are the flow's source and destination addresses, as the
// evaluator picks them.
func flowAddrs(f policy.Flow) (netip.Addr, netip.Addr, error) {
	v4 := f.Family != 6
	switch {
	case f.Dst.IP.IsValid():
		v4 = f.Dst.IP.Is4()
	case f.Src.IP.IsValid():
		v4 = f.Src.IP.Is4()
	}
	dst, ok := peerAddr(f.Dst, v4)
	if !ok {
		return dst, dst, fmt.Errorf("destination %s has no address of the family", f.Dst)
	}
	if f.Src.Kind == policy.PeerHost && !f.Src.IP.IsValid() && (dst.IsLoopback() || f.Dst.Kind == policy.PeerHost && f.Dst.Node == f.Src.Node) {
		return dst, dst, nil
	}
	src, ok := peerAddr(f.Src, v4)
	if !ok {
		return src, dst, fmt.Errorf("source %s has no address of the family", f.Src)
	}
	return src, dst, nil
}

func peerAddr(p policy.Peer, v4 bool) (netip.Addr, bool) {
	switch {
	case p.IP.IsValid():
		return p.IP, true
	case p.Kind == policy.PeerWorkload:
		return familyAddr(p.Workload.IPs, v4)
	case p.Kind == policy.PeerHost:
		for _, ifc := range p.Node.Interfaces {
			if a, ok := familyAddr(ifc.Addrs, v4); ok && ifc.Name != "lo" {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}

// entry is the interface the flow's first packet enters node by ("" for a
// local process).
func entry(m *policy.Model, n *policy.Node, f policy.Flow, dst netip.Addr) (string, error) {
	switch {
	case f.Src.Kind == policy.PeerWorkload && f.Src.Workload.Node == n.Name:
		return n.WorkloadInterface(f.Src.Workload), nil
	case f.Src.Kind == policy.PeerHost && f.Src.Node == n:
		return "", nil
	case f.Dst.Kind == policy.PeerWorkload && f.Dst.Workload.Node == n.Name:
		return n.Uplink(), nil
	case n.IsLocal(dst):
		return n.ArrivalInterface(dst), nil
	}
	return "", fmt.Errorf("the flow %s -> %s neither starts nor ends on node %s", f.Src, f.Dst, n.Name)
}

// flowPacket is the first packet of f, with the evaluator's defaults: the
// source port DefaultSrcPort, ICMP echo request and code 0.
func flowPacket(f policy.Flow, src, dst netip.Addr) Packet {
	p := Packet{Src: src, Dst: dst, Proto: f.Proto, Sport: f.SrcPort, Dport: f.Port}
	if p.Sport == 0 {
		p.Sport = policy.DefaultSrcPort
	}
	if f.Proto == 1 || f.Proto == 58 {
		p.Sport, p.Dport = 0, 0
		p.ICMPType = 8
		if dst.Is6() {
			p.ICMPType = 128
		}
		if f.ICMPType >= 0 {
			p.ICMPType = uint8(f.ICMPType)
		}
		if f.ICMPCode >= 0 {
			p.ICMPCode = uint8(f.ICMPCode)
		}
	}
	return p
}

// hops lays out the flow at n from in: DNAT'd to each NodePort backend
// when it hits one of n's NodePorts, else routed to its destination.
func hops(m *policy.Model, n *policy.Node, in string, p Packet) []Hop {
	h := Hop{In: in, Pre: p, Post: p}
	if carriesPorts(p.Proto) && n.IsLocal(p.Dst) && !p.Dst.IsLoopback() {
		if svc, sp := m.NodePort(p.Proto, p.Dport); sp != nil {
			var out []Hop
			for _, b := range sp.Backends {
				ip, ok := familyAddr(b.Workload.IPs, p.Dst.Is4())
				if !ok || svc.Local && b.Workload.Node != n.Name {
					continue
				}
				hb := h
				hb.Post.Dst, hb.Post.Dport, hb.DNAT = ip, b.Port, true
				hb.Via = fmt.Sprintf("NodePort %d of %s/%s -> %s %s:%d", sp.NodePort, svc.Namespace, svc.Name, b.Workload.Key(), ip, b.Port)
				hb.Out = outOf(m, n, ip)
				out = append(out, hb)
			}
			if len(out) == 0 {
				h.NoBackend = true
				h.Via = fmt.Sprintf("NodePort %d of %s/%s has no backend", sp.NodePort, svc.Namespace, svc.Name)
				out = append(out, h)
			}
			return out
		}
	}
	h.Out = outOf(m, n, p.Dst)
	return []Hop{h}
}

func carriesPorts(proto uint8) bool { return proto == 6 || proto == 17 || proto == 132 }

// outOf is the interface a packet for dst leaves n by ("" = local).
func outOf(m *policy.Model, n *policy.Node, dst netip.Addr) string {
	if n.IsLocal(dst) {
		return ""
	}
	for _, w := range m.WorkloadsOn(n.Name) {
		for _, ip := range w.IPs {
			if ip == dst {
				return n.WorkloadInterface(w)
			}
		}
	}
	return n.Uplink()
}

func familyAddr(as []netip.Addr, v4 bool) (netip.Addr, bool) {
	for _, a := range as {
		if a.Is4() == v4 {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// Reversed is the reply to p: addresses and ports swapped, an echo request
// answered by an echo reply.
func (p Packet) Reversed() Packet {
	r := Packet{Src: p.Dst, Dst: p.Src, Proto: p.Proto, Sport: p.Dport, Dport: p.Sport, ICMPType: p.ICMPType, ICMPCode: p.ICMPCode}
	switch {
	case p.Proto == 1 && p.ICMPType == 8:
		r.ICMPType = 0
	case p.Proto == 58 && p.ICMPType == 128:
		r.ICMPType = 129
	}
	return r
}

// Reply is the hop the reply takes: in where the request went out, out
// where it came in; prerouting sees the reply to the DNAT'd packet, later
// hooks the de-NATed one.
func (h Hop) Reply() Hop {
	return Hop{In: h.Out, Out: h.In, Pre: h.Post.Reversed(), Post: h.Pre.Reversed()}
}

// HopTrace is a hop traced through the ruleset: the partial traces (hooks
// before and after the routing decision, and through lo for a packet to
// the host itself), whether it got through, and whether it was left
// untracked.
type HopTrace struct {
	Allowed, Untracked bool
	Traces             []TraceResult
}

func (ht *HopTrace) run(r *Ruleset, pk Packet) (Packet, bool) {
	res := r.Trace(pk)
	ht.Traces = append(ht.Traces, res)
	if res.Packet.CtState == CtUntracked {
		ht.Untracked = true
	}
	return res.Packet, res.Allowed()
}

// TraceHop traces one hop: prerouting sees Pre (DNAT'd at -100 when the hop
// DNATs), later hooks Post; a packet to the host itself goes out and back
// in by lo. st is the conntrack state the packet arrives with; dnatConn
// says the connection was DNAT'd earlier (a reply).
func (r *Ruleset) TraceHop(h Hop, st string, dnatConn bool) HopTrace {
	return r.traceHop(h, st, dnatConn, false)
}

// traceHop: with compat, a packet NOTRACKed by an untracked allow keeps
// the conntrack state it came with for the rest of the hop, as the
// reference evaluator assumes (the kernel sees it untracked).
func (r *Ruleset) traceHop(h Hop, st string, dnatConn, compat bool) HopTrace {
	var ht HopTrace
	if h.NoBackend {
		return ht
	}
	keep := func(p Packet) string {
		if compat && p.CtState == CtUntracked {
			return st
		}
		return p.CtState
	}
	pk := h.Pre
	pk.CtState, pk.CtDNAT = st, dnatConn
	if h.DNAT {
		pk.DNAT = netip.AddrPortFrom(h.Post.Dst, h.Post.Dport)
	}
	if h.In == "" {
		pk.Oif, pk.Hooks = h.Out, []Hook{HookOutput, HookPostrouting}
		if pk.Oif == "" {
			pk.Oif = "lo"
		}
		after, ok := ht.run(r, pk)
		if ok && h.Out == "" { // to the host itself: back in by lo
			loop := h.Post
			loop.Iif, loop.CtState, loop.CtDNAT, loop.Mark = "lo", keep(after), after.CtDNAT, after.Mark
			loop.Hooks = []Hook{HookPrerouting, HookInput}
			_, ok = ht.run(r, loop)
		}
		ht.Allowed = ok
		return ht
	}
	pk.Iif, pk.Oif, pk.Hooks = h.In, h.Out, []Hook{HookPrerouting}
	after, ok := ht.run(r, pk)
	if !ok {
		return ht
	}
	next := h.Post
	next.Iif, next.Oif, next.CtState, next.CtDNAT, next.Mark = h.In, h.Out, keep(after), after.CtDNAT, after.Mark
	next.Hooks = []Hook{HookInput}
	if h.Out != "" {
		next.Hooks = []Hook{HookForward, HookPostrouting}
	}
	_, ht.Allowed = ht.run(r, next)
	return ht
}

// ReplyState is the conntrack state a reply arrives with at a hop: an
// untracked request left no state, so a TCP or ICMP reply is invalid and a
// UDP reply looks new (§9.2).
func ReplyState(request Hop, untracked bool) string {
	switch {
	case !untracked:
		return CtEstablished
	case request.Pre.Proto == 17:
		return CtNew
	}
	return CtInvalid
}
