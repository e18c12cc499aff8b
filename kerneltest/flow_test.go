package kerneltest

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
)

// flow is one connection attempt. from and to are "ext" (198.19.0.254),
// "ext2" (198.19.0.253), "node" (node1's own processes), "lo" (127.0.0.1
// or ::1, as a destination from node), "NAMESPACE/POD" or an address.
type flow struct {
	from, to string
	port     string // "80/TCP", "53/UDP", "0/ICMP" (ICMPv6 when fam is 6)
	fam      int    // 4 or 6
	want     bool
	why      string
	// Filled in by judge:
	srcPort uint16
}

func allow(from, to, port string, why ...string) flow {
	return flow{from: from, to: to, port: port, fam: 4, want: true, why: strings.Join(why, " ")}
}

func deny(from, to, port string, why ...string) flow {
	return flow{from: from, to: to, port: port, fam: 4, want: false, why: strings.Join(why, " ")}
}

// both returns the flows in IPv4 and in IPv6.
func both(fs ...flow) []flow {
	var out []flow
	for _, f := range fs {
		out = append(out, f)
		f.fam = 6
		out = append(out, f)
	}
	return out
}

func (f flow) String() string {
	return fmt.Sprintf("%s -> %s %s (IPv%d)", f.from, f.to, f.port, f.fam)
}

// peerName maps a flow end to what policy.Model.ResolvePeer takes.
func peerName(s string, fam int) string {
	v6 := fam == 6
	switch s {
	case "ext":
		return pick(v6, ext1V4, ext1V6)
	case "ext2":
		return pick(v6, ext2V4, ext2V6)
	case "node":
		return "node:" + nodeName
	case "lo":
		return pick(v6, "127.0.0.1", "::1")
	}
	return s
}

func pick(v6 bool, a, b string) string {
	if v6 {
		return b
	}
	return a
}

// outcome is a flow judged twice.
type outcome struct {
	f       flow
	pf      policy.Flow
	probe   netlab.Probe
	verdict *policy.Verdict
	kernel  error // nil = the packet got through and back
	err     error // the test could not judge the flow
}

func (o outcome) kernelAllowed() bool { return o.kernel == nil }
func (o outcome) evalAllowed() bool   { return o.verdict.Allowed() }

// policyFlow resolves f against the model, with a fresh client port.
func (c *cluster) policyFlow(f *flow) (policy.Flow, error) {
	m := c.model
	src, err := m.ResolvePeer(peerName(f.from, f.fam))
	if err != nil {
		return policy.Flow{}, err
	}
	dst, err := m.ResolvePeer(peerName(f.to, f.fam))
	if err != nil {
		return policy.Flow{}, err
	}
	port := f.port
	if f.fam == 6 {
		port = strings.Replace(port, "/ICMP", "/ICMPv6", 1)
	}
	pf, err := policy.NewFlow(src, dst, port)
	if err != nil {
		return pf, err
	}
	pf.Family = f.fam
	if pf.Proto == 6 || pf.Proto == 17 {
		if f.srcPort == 0 {
			f.srcPort = uint16(c.port.Add(1))
		}
		pf.SrcPort = f.srcPort
	}
	return pf, nil
}

// sourceNS is the namespace a flow's first packet leaves from.
func (c *cluster) sourceNS(p policy.Peer) (*netlab.NS, error) {
	switch p.Kind {
	case policy.PeerWorkload:
		if ns, ok := c.pods[p.Workload.Key()]; ok {
			return ns, nil
		}
		return nil, fmt.Errorf("no namespace for pod %s", p.Workload.Key())
	case policy.PeerHost:
		return c.node, nil
	}
	for _, a := range []string{ext1V4, ext1V6, ext2V4, ext2V6} {
		if p.IP == netip.MustParseAddr(a) {
			return c.ext, nil
		}
	}
	return nil, fmt.Errorf("no namespace holds %s", p.IP)
}

// judge asks the evaluator, then sends the packet the same way.
func (c *cluster) judge(ctx context.Context, f flow, timeout time.Duration) outcome {
	o := outcome{f: f}
	o.pf, o.err = c.policyFlow(&o.f)
	if o.err != nil {
		return o
	}
	if o.verdict, o.err = c.model.Evaluate(o.pf); o.err != nil {
		return o
	}
	ns, err := c.sourceNS(o.pf.Src)
	if err != nil {
		o.err = err
		return o
	}
	o.probe = netlab.Probe{Src: netip.MustParseAddr(o.verdict.SrcIP), Dst: netip.MustParseAddr(o.verdict.DstIP),
		SrcPort: o.pf.SrcPort, DstPort: o.pf.Port, Timeout: timeout}
	switch o.pf.Proto {
	case 6:
		o.probe.Proto = "tcp"
	case 17:
		o.probe.Proto = "udp"
	default:
		o.probe.Proto = "icmp"
		o.probe.ICMPID = uint16(c.icmpID.Add(1))
	}
	o.kernel = ns.Probe(ctx, o.probe)
	return o
}

// judgeAll judges flows concurrently (each with its own client port or
// ICMP id, so they cannot meet in conntrack). A flow the kernel denied but
// the evaluator allows is retried once with a longer timeout, so a slow
// machine is not mistaken for a drop.
func (c *cluster) judgeAll(fs []flow) []outcome {
	out := make([]outcome, len(fs))
	sem := make(chan struct{}, 24)
	var wg sync.WaitGroup
	for i := range fs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			ctx := context.Background()
			o := c.judge(ctx, fs[i], c.timeout)
			if o.err == nil && o.kernel != nil && o.evalAllowed() {
				f := fs[i]
				f.srcPort = 0
				o = c.judge(ctx, f, 5*c.timeout)
			}
			out[i] = o
		}(i)
	}
	wg.Wait()
	return out
}

// check judges flows and fails the test where the kernel, the evaluator
// and the test's expectation do not all agree.
func (c *cluster) check(t *testing.T, fs ...flow) {
	t.Helper()
	bad := false
	for _, o := range c.judgeAll(fs) {
		switch {
		case o.err != nil:
			t.Errorf("%s: cannot judge: %v", o.f, o.err)
		case o.kernelAllowed() != o.evalAllowed() && known(o) != nil:
			k := known(o)
			t.Logf("KNOWN ISSUE %s (not failing; KERNELTEST_STRICT=1 to fail): %s: kernel %s, evaluator %s\n  %s\n%s",
				k.id, o.f, word(o.kernelAllowed(), nil), word(o.evalAllowed(), nil), k.summary, explain(o))
		case o.kernelAllowed() != o.evalAllowed():
			bad = true
			t.Errorf("DISAGREEMENT %s: kernel %s, evaluator %s (test expects %s; %s)\n%s",
				o.f, word(o.kernelAllowed(), o.kernel), word(o.evalAllowed(), nil), word(o.f.want, nil), o.f.why, explain(o))
		case o.kernelAllowed() != o.f.want:
			t.Errorf("%s: kernel and evaluator say %s, the test expects %s (%s)\n%s",
				o.f, word(o.kernelAllowed(), nil), word(o.f.want, nil), o.f.why, explain(o))
		}
	}
	if bad {
		t.Logf("ruleset:\n%s", c.rs.Text())
	}
}

func word(ok bool, err error) string {
	if ok {
		return "allow"
	}
	if err != nil {
		return "deny (" + err.Error() + ")"
	}
	return "deny"
}

// explain prints the probe and the evaluator's stages.
func explain(o outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  probe: %s\n", o.probe)
	if o.verdict == nil {
		return b.String()
	}
	for _, p := range o.verdict.Paths {
		if p.Via != "" {
			fmt.Fprintf(&b, "  via %s\n", p.Via)
		}
		for _, s := range p.Request {
			fmt.Fprintf(&b, "  request %s\n", stepString(s))
		}
		for _, s := range p.Reply {
			fmt.Fprintf(&b, "  reply   %s\n", stepString(s))
		}
	}
	return b.String()
}

func stepString(s policy.Step) string {
	out := fmt.Sprintf("%s %s %s", s.Node, s.Stage, s.Result)
	for _, kv := range [][2]string{{"kind", s.Kind}, {"endpoint", s.Endpoint}, {"dir", s.Direction},
		{"tier", s.Tier}, {"policy", s.Policy}, {"action", s.Action}} {
		if kv[1] != "" {
			out += " " + kv[0] + "=" + kv[1]
		}
	}
	if s.Rule != nil {
		out += fmt.Sprintf(" rule=%d", *s.Rule)
	}
	return out + ": " + s.Reason
}
