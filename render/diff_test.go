package render

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/policy"
)

// The differential test: for seeded random single-node models and random
// flows, the reference evaluator (policy.Model.Allowed, request and reply)
// must agree with tracing the packets through the node's rendered ruleset,
// hop by hop. policy does not export its routing, so FlowHops (flow.go)
// lays out the hops of the single-node cases the way policy/route.go does:
// external->host, host->external, external->pod, pod->external, pod->pod,
// pod->own host, host->own pod, host->itself (via lo), and NodePorts
// DNAT'd to local pods.

var (
	diffModels = flag.Int("diff-models", 400, "models in TestDifferential")
	diffFlows  = flag.Int("diff-flows", 150, "flows per model in TestDifferential")
)

// judgeRendered is the rendered ruleset's verdict on a flow: every way
// through, request then reply, must get through.
func judgeRendered(rs *Ruleset, paths []Hop, st string, compat bool, log *strings.Builder) bool {
	allowed := true
	for _, h := range paths {
		fmt.Fprintf(log, "hop in=%q out=%q pre=%s post=%s dnat=%v noBackend=%v\n", h.In, h.Out, pktString(h.Pre), pktString(h.Post), h.DNAT, h.NoBackend)
		req := rs.traceHop(h, st, false, compat)
		writeTraces(log, "request", req.Traces)
		if !req.Allowed {
			allowed = false
			continue
		}
		rep := rs.traceHop(h.Reply(), ReplyState(h, req.Untracked), h.DNAT, compat)
		writeTraces(log, "reply", rep.Traces)
		allowed = allowed && rep.Allowed
		if rep.Allowed && rep.Untracked && !req.Untracked && h.Pre.Proto == 6 {
			// The NOTRACKed SYN-ACK left conntrack in SYN_SENT: the
			// client's next packet (the ACK) is invalid here (§9.2).
			ack := rs.traceHop(h, CtInvalid, h.DNAT, compat)
			writeTraces(log, "handshake ACK", ack.Traces)
			allowed = allowed && ack.Allowed
		}
	}
	return allowed
}

func pktString(p Packet) string {
	return fmt.Sprintf("%s:%d -> %s:%d proto %d icmp %d/%d", p.Src, p.Sport, p.Dst, p.Dport, p.Proto, p.ICMPType, p.ICMPCode)
}

func writeTraces(w *strings.Builder, what string, ts []TraceResult) {
	for _, t := range ts {
		p := t.Packet
		fmt.Fprintf(w, "--- %s iif=%q oif=%q %s:%d -> %s:%d proto %d ct=%s dnat=%v mark=%#x\n%s",
			what, p.Iif, p.Oif, p.Src, p.Sport, p.Dst, p.Dport, p.Proto, p.CtState, p.CtDNAT, p.Mark, t.String())
	}
}

// tflow is a generated flow: what the evaluator judges, and where its
// first packet enters the node.
type tflow struct {
	f    policy.Flow
	what string
}

// genFlows returns random flows of every single-node kind.
func genFlows(r *rand.Rand, m *policy.Model, n *policy.Node, count int) []tflow {
	pods := m.WorkloadsOn(n.Name)
	var out []tflow
	for len(out) < count {
		v4 := r.IntN(4) != 0
		host := policy.Peer{Kind: policy.PeerHost, Node: n, IP: hostAddr(r, v4)}
		ext := policy.Peer{Kind: policy.PeerExternal, IP: extAddr(r, v4)}
		pod, ok := podPeer(r, pods, v4)
		pod2, ok2 := podPeer(r, pods, v4)
		var src, dst policy.Peer
		kind := r.IntN(9)
		switch kind {
		case 0:
			src, dst = ext, host
		case 1:
			src, dst = host, ext
		case 2:
			src, dst = ext, pod
		case 3:
			src, dst = pod, ext
		case 4:
			src, dst = pod, pod2
		case 5:
			src, dst = pod, host
		case 6:
			src, dst = host, pod
		case 7:
			src, dst = host, host
		case 8:
			lo := netip.MustParseAddr("127.0.0.1")
			if !v4 {
				lo = netip.IPv6Loopback()
			}
			src = policy.Peer{Kind: policy.PeerHost, Node: n, IP: lo}
			dst = src
		}
		if (kind >= 2 && kind <= 6) && (!ok || !ok2) || kind == 4 && pod.Workload == pod2.Workload {
			continue // a pod talking to itself never leaves its namespace
		}
		out = append(out, makeFlow(r, src, dst, v4))
	}
	return out
}

func hostAddr(r *rand.Rand, v4 bool) netip.Addr {
	if !v4 {
		return netip.MustParseAddr(genNodeV6)
	}
	return netip.MustParseAddr(pick(r, []string{genNodeV4, genNodeV4, genEth1V4}))
}

func extAddr(r *rand.Rand, v4 bool) netip.Addr {
	if v4 {
		return netip.MustParseAddr(pick(r, genExtV4))
	}
	return netip.MustParseAddr(pick(r, genExtV6))
}

func podPeer(r *rand.Rand, pods []*policy.Workload, v4 bool) (policy.Peer, bool) {
	var fit []*policy.Workload
	for _, w := range pods {
		if _, ok := familyAddr(w.IPs, v4); ok {
			fit = append(fit, w)
		}
	}
	if len(fit) == 0 {
		return policy.Peer{}, false
	}
	w := pick(r, fit)
	ip, _ := familyAddr(w.IPs, v4)
	return policy.Peer{Kind: policy.PeerWorkload, Workload: w, IP: ip}, true
}

// makeFlow picks a protocol, ports or an ICMP type and code.
func makeFlow(r *rand.Rand, src, dst policy.Peer, v4 bool) tflow {
	f := policy.Flow{Src: src, Dst: dst, ICMPType: -1, ICMPCode: -1, Established: r.IntN(10) == 0}
	icmp := uint8(1)
	if !v4 {
		icmp = 58
	}
	f.Proto = pick(r, []uint8{6, 6, 6, 17, 17, 132, icmp, icmp, 4, 47})
	switch f.Proto {
	case 1, 58:
		f.ICMPType = pick(r, []int{-1, 0, 3, 8, 128, 129, 135})
		f.ICMPCode = pick(r, []int{-1, 0, 1})
	default:
		f.Port = pick(r, genPorts)
		if r.IntN(4) == 0 {
			f.SrcPort = pick(r, genPorts)
		}
	}
	return tflow{f: f, what: fmt.Sprintf("%s -> %s proto %d", src, dst, f.Proto)}
}

func TestDifferential(t *testing.T) {
	t.Run("linear", func(t *testing.T) { testDifferential(t, false) })
	t.Run("compiled", func(t *testing.T) { testDifferential(t, true) })
}

func testDifferential(t *testing.T, compiled bool) {
	models, flows := *diffModels, *diffFlows
	if testing.Short() {
		models, flows = 60, 60
	}
	total, failures := 0, 0
	for seed := 0; seed < models && failures < 5; seed++ {
		m, err := policy.NewModel(genModel(uint64(seed)))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		rs, err := Node(m, genNode)
		if err != nil {
			t.Fatalf("seed %d: render: %v", seed, err)
		}
		if compiled {
			rs = Compile(rs)
		}
		n := m.Nodes[genNode]
		r := rand.New(rand.NewPCG(uint64(seed), 0xf10))
		for _, tf := range genFlows(r, m, n, flows) {
			total++
			want, err := m.Allowed(tf.f)
			if err != nil {
				t.Fatalf("seed %d: %s: %v", seed, tf.what, err)
			}
			st := CtNew
			if tf.f.Established {
				st = CtEstablished
			}
			var log strings.Builder
			paths, err := FlowHops(m, genNode, tf.f)
			if err != nil {
				t.Fatalf("seed %d: %s: %v", seed, tf.what, err)
			}
			got := judgeRendered(rs, paths, st, false, &log)
			if got != want {
				failures++
				t.Errorf("seed %d: %s %s established=%v: evaluator allowed=%v, ruleset allowed=%v\nevaluator:\n%s\nruleset:\n%s",
					seed, tf.what, pktString(paths[0].Pre), tf.f.Established, want, got, explain(m, tf.f), log.String())
			}
		}
	}
	t.Logf("%d models, %d flows, %d disagreements", models, total, failures)
}

func explain(m *policy.Model, f policy.Flow) string {
	v, err := m.Evaluate(f)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range v.Paths {
		fmt.Fprintf(&b, "path via %q: %s\n", p.Via, p.Verdict)
		for _, st := range append(append([]policy.Step(nil), p.Request...), p.Reply...) {
			fmt.Fprintf(&b, "  [%s] %s %s %s: %s: %s\n", st.Stage, st.Endpoint, st.Direction, st.Kind, st.Result, st.Reason)
		}
	}
	return b.String()
}
