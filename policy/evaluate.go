package policy

import (
	"fmt"
	"net/netip"
)

// Evaluate decides the fate of a flow: it follows the first packet through
// every node and stage it meets (and, for NodePorts, through every backend
// kube-proxy may pick), then the reply back, and says which rule of which
// policy decided each stage. A flow is allowed when every way it can take
// is allowed both ways.
func (m *Model) Evaluate(f Flow) (*Verdict, error) { return m.evaluate(f, false) }

func (m *Model) evaluate(f Flow, quiet bool) (*Verdict, error) {
	src, dst, err := m.addresses(f)
	if err != nil {
		return nil, err
	}
	pkt := packet{src: src, dst: dst, proto: f.Proto, sport: f.SrcPort, dport: f.Port, icmpType: -1, icmpCode: -1}
	if pkt.sport == 0 {
		pkt.sport = DefaultSrcPort
	}
	if f.Proto == protoICMP || f.Proto == protoICMPv6 {
		pkt.sport, pkt.dport = 0, 0
		pkt.icmpType, pkt.icmpCode = f.ICMPType, f.ICMPCode
		if pkt.icmpType < 0 {
			pkt.icmpType = 8
			if dst.Is6() {
				pkt.icmpType = 128
			}
		}
		if pkt.icmpCode < 0 {
			pkt.icmpCode = 0
		}
	}
	v := &Verdict{}
	if !quiet {
		v.From, v.To, v.SrcIP, v.DstIP, v.Port = f.Src.String(), f.Dst.String(), src.String(), dst.String(), portString(f)
	}
	if f.Src.Kind == PeerWorkload && f.Dst.Kind == PeerWorkload && f.Src.Workload == f.Dst.Workload {
		// A pod's traffic to its own address never leaves its network
		// namespace: no policy sees it (Kubernetes: "a pod cannot block
		// access to itself").
		v.Verdict = ResultAllow
		v.Paths = []Path{{Verdict: ResultAllow, Request: []Step{{Stage: "route", Result: ResultNone,
			Reason: "a pod talking to itself stays inside its own network namespace: never policed"}}}}
		return v, nil
	}
	start, in := m.start(f, dst)
	if start == nil {
		v.Verdict = ResultAllow
		v.Paths = []Path{{Verdict: ResultAllow, Request: []Step{{Stage: "route", Result: ResultNone,
			Reason: "no palisade node on the path: nothing polices this flow"}}}}
		return v, nil
	}
	st := ctNew
	if f.Established {
		st = ctEstablished
	}
	v.Verdict = ResultAllow
	for _, hops := range m.route(start, in, pkt) {
		p := m.judge(hops, st, quiet)
		if p.Verdict != ResultAllow {
			v.Verdict = ResultDeny
		}
		v.Paths = append(v.Paths, p)
	}
	return v, nil
}

// judge evaluates one way through the network, the request and then, if it
// got through, the reply.
func (m *Model) judge(hops []hop, st ctState, quiet bool) Path {
	p := Path{Verdict: ResultAllow}
	for i := range hops {
		if hops[i].dnat != "" {
			p.Via = hops[i].dnat
		}
	}
	e := &evaluator{m: m, quiet: quiet}
	for i := range hops {
		if !e.processHop(&hops[i], st) {
			p.Verdict = ResultDeny
			p.Request = e.steps
			return p
		}
	}
	p.Request = e.steps
	r := &evaluator{m: m, quiet: quiet}
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		rh := hop{node: h.node, in: h.out, out: h.in, pre: h.post.reversed(), post: h.pre.reversed()}
		rst := ctEstablished
		if h.untracked {
			// The request left no conntrack state here (§9.2): a TCP or
			// ICMP reply is invalid, a UDP reply looks like a new flow.
			rst = ctInvalid
			if h.pre.proto == protoUDP {
				rst = ctNew
			}
		}
		if !r.processHop(&rh, rst) {
			p.Verdict = ResultDeny
			break
		}
		if rh.untracked && !h.untracked && h.pre.proto == protoTCP {
			// Conntrack saw the SYN here but never the NOTRACKed SYN-ACK,
			// so the handshake's next packet (the client's ACK) is invalid
			// here; judge it through the same stages (§9.2: such an allow
			// can break the tracked flow).
			r.node = h.node
			r.note(stageRawPre, ResultNone, "the reply was NOTRACKed while the connection is tracked here: "+
				"the client's next packet (the handshake's ACK) has invalid conntrack state (§9.2)")
			ack := h
			if !r.processHop(&ack, ctInvalid) {
				p.Verdict = ResultDeny
				break
			}
		}
	}
	p.Reply = r.steps
	return p
}

// start returns the node where the flow's first packet meets palisade and
// the interface it comes in by ("" for a host process).
func (m *Model) start(f Flow, dst netip.Addr) (*Node, string) {
	switch f.Src.Kind {
	case PeerWorkload:
		n := m.Nodes[f.Src.Workload.Node]
		return n, n.WorkloadInterface(f.Src.Workload)
	case PeerHost:
		return f.Src.Node, ""
	}
	switch f.Dst.Kind {
	case PeerWorkload:
		n := m.Nodes[f.Dst.Workload.Node]
		return n, uplink(n)
	case PeerHost:
		return f.Dst.Node, arrivalInterface(f.Dst.Node, dst)
	}
	return nil, ""
}

// addresses picks the source and destination addresses of the flow.
func (m *Model) addresses(f Flow) (netip.Addr, netip.Addr, error) {
	v4 := f.Family != 6
	switch {
	case f.Dst.IP.IsValid():
		v4 = f.Dst.IP.Is4()
	case f.Src.IP.IsValid():
		v4 = f.Src.IP.Is4()
	}
	dst, err := m.addrOf(f.Dst, v4)
	if err != nil {
		return dst, dst, fmt.Errorf("destination %s: %w", f.Dst, err)
	}
	if f.Src.Kind == PeerHost && !f.Src.IP.IsValid() && dst.IsLoopback() {
		return dst, dst, nil
	}
	if f.Src.Kind == PeerHost && !f.Src.IP.IsValid() && f.Dst.Kind == PeerHost && f.Dst.Node == f.Src.Node {
		return dst, dst, nil
	}
	src, err := m.addrOf(f.Src, v4)
	if err != nil {
		return src, dst, fmt.Errorf("source %s: %w", f.Src, err)
	}
	return src, dst, nil
}

func (m *Model) addrOf(p Peer, v4 bool) (netip.Addr, error) {
	if p.IP.IsValid() {
		return p.IP, nil
	}
	fam := "IPv4"
	if !v4 {
		fam = "IPv6"
	}
	switch p.Kind {
	case PeerWorkload:
		if a, ok := addrOfFamily(p.Workload.IPs, v4); ok {
			return a, nil
		}
	case PeerHost:
		if a, ok := nodeAddr(p.Node, v4); ok {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("has no %s address", fam)
}

func portString(f Flow) string {
	switch f.Proto {
	case protoICMP, protoICMPv6:
		t := f.ICMPType
		if t < 0 {
			t = 8
			if f.Proto == protoICMPv6 {
				t = 128
			}
		}
		return fmt.Sprintf("%d/%s", t, ProtoName(f.Proto))
	}
	return fmt.Sprintf("%d/%s", f.Port, ProtoName(f.Proto))
}

// Allowed is Evaluate without the explanation: it records no steps, for
// callers that judge many flows (matrix). Safe for concurrent use.
func (m *Model) Allowed(f Flow) (bool, error) {
	v, err := m.evaluate(f, true)
	if err != nil {
		return false, err
	}
	return v.Verdict == ResultAllow, nil
}
