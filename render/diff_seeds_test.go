package render

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/policy"
)

// TestDifferentialSeeds compares the evaluator with the rendered rulesets
// on the seed example steps of the golden tests, for flows between pods,
// nodes and outside hosts. A flow between two nodes is traced at the
// source node, then at the destination node (the reply the other way);
// flows a NodePort DNATs to another node are left out (the second node
// sees kube-proxy's masquerade, which FlowHops does not model).
func TestDifferentialSeeds(t *testing.T) {
	ports := []string{"22/TCP", "80/TCP", "53/UDP", "30180/TCP", "30010/TCP", "6379/TCP", "10250/TCP", "8/ICMP"}
	if testing.Short() {
		ports = []string{"22/TCP", "30180/TCP", "8/ICMP"}
	}
	total, skipped := 0, 0
	for _, st := range goldenSteps {
		m := loadExample(t, st.files...)
		rulesets := map[string]*Ruleset{}
		for _, n := range m.NodeNames() {
			rs, err := Node(m, n)
			if err != nil {
				t.Fatal(err)
			}
			rulesets[n] = rs
		}
		peers := seedPeers(m)
		for _, src := range peers {
			for _, dst := range peers {
				if src.String() == dst.String() {
					continue
				}
				for _, port := range ports {
					f, err := policy.NewFlow(src, dst, port)
					if err != nil {
						t.Fatal(err)
					}
					want, err := m.Allowed(f)
					if err != nil {
						continue // no address of the family
					}
					got, log, ok := judgeMultiNode(m, rulesets, f, false)
					if !ok {
						skipped++
						continue
					}
					total++
					if got == want {
						continue
					}
					t.Errorf("%s: %s -> %s %s: evaluator allowed=%v, ruleset allowed=%v\nevaluator:\n%s\nruleset:\n%s",
						st.name, src, dst, port, want, got, explain(m, f), log)
				}
			}
		}
	}
	t.Logf("%d flows compared, %d skipped (NodePort to another node)", total, skipped)
}

// seedPeers: every pod, every node's processes, and two outside hosts.
func seedPeers(m *policy.Model) []policy.Peer {
	var out []policy.Peer
	out = append(out, m.Pods()...)
	for _, n := range m.NodeNames() {
		out = append(out, policy.Peer{Kind: policy.PeerHost, Node: m.Nodes[n]})
	}
	for _, ip := range []string{"198.19.15.254", "198.19.15.253"} {
		out = append(out, policy.Peer{Kind: policy.PeerExternal, IP: netip.MustParseAddr(ip)})
	}
	return out
}

// pathNodes are the nodes a flow crosses: the source's, then the
// destination's.
func pathNodes(f policy.Flow) []string {
	var out []string
	add := func(p policy.Peer) {
		name := ""
		switch p.Kind {
		case policy.PeerWorkload:
			name = p.Workload.Node
		case policy.PeerHost:
			name = p.Node.Name
		}
		if name != "" && (len(out) == 0 || out[len(out)-1] != name) {
			out = append(out, name)
		}
	}
	add(f.Src)
	add(f.Dst)
	return out
}

// judgeMultiNode traces the flow at each node it crosses; ok is false for
// flows it cannot lay out.
func judgeMultiNode(m *policy.Model, rulesets map[string]*Ruleset, f policy.Flow, compat bool) (bool, string, bool) {
	var log strings.Builder
	nodes := pathNodes(f)
	if len(nodes) == 0 {
		return true, "", true
	}
	st := CtNew
	if f.Established {
		st = CtEstablished
	}
	var all [][]Hop
	for _, n := range nodes {
		hs, err := FlowHops(m, n, f)
		if err != nil {
			return false, err.Error(), false
		}
		all = append(all, hs)
	}
	if len(nodes) == 2 && (len(all[0]) != 1 || all[0][0].DNAT || all[0][0].Out == "") {
		return false, "", false
	}
	if len(nodes) == 1 {
		for _, h := range all[0] {
			if h.DNAT && h.Out == m.Nodes[nodes[0]].Uplink() {
				return false, "", false // DNAT'd to a pod on another node
			}
		}
		return judgeRendered(rulesets[nodes[0]], all[0], st, compat, &log), log.String(), true
	}
	h1, h2 := all[0][0], all[1][0]
	if len(all[1]) != 1 || h2.DNAT {
		return false, "", false
	}
	req1 := rulesets[nodes[0]].traceHop(h1, st, false, compat)
	writeTraces(&log, "request at "+nodes[0], req1.Traces)
	if !req1.Allowed {
		return false, log.String(), true
	}
	req2 := rulesets[nodes[1]].traceHop(h2, st, false, compat)
	writeTraces(&log, "request at "+nodes[1], req2.Traces)
	if !req2.Allowed {
		return false, log.String(), true
	}
	rep2 := rulesets[nodes[1]].traceHop(h2.Reply(), ReplyState(h2, req2.Untracked), false, compat)
	writeTraces(&log, "reply at "+nodes[1], rep2.Traces)
	if !rep2.Allowed {
		return false, log.String(), true
	}
	rep1 := rulesets[nodes[0]].traceHop(h1.Reply(), ReplyState(h1, req1.Untracked), false, compat)
	writeTraces(&log, "reply at "+nodes[0], rep1.Traces)
	return rep1.Allowed, log.String(), true
}
