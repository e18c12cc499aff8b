package nft

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Apply time at scale (issue 4: "render and apply time at 2,000 sets and
// chains"): 1,000 pods on one node, each with its own policy (benchModel),
// rendered and applied as one transaction:
//
//	go test ./nft -run '^$' -bench . -benchtime 5x
//
// The apply benchmark needs root (a scratch network namespace).

const benchNode = "bench"

// benchModel builds n pods on one node, each selected by its own
// GlobalNetworkPolicy whose source selector is distinct, so the node's
// ruleset has per-pod chains, per-policy chains and per-selector sets.
func benchModel(tb testing.TB, n int) *policy.Model {
	tb.Helper()
	objs := []api.Object{&api.Node{
		ObjectMeta: metav1.ObjectMeta{Name: benchNode},
		Spec:       api.NodeSpec{Interfaces: []api.NodeInterface{{Name: "eth0", Addresses: []string{"198.19.0.2", "fd00:19::2"}}}},
	}}
	tcp, udp := api.ProtocolFromString("TCP"), api.ProtocolFromString("UDP")
	for i := 0; i < n; i++ {
		v4 := fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
		v6 := fmt.Sprintf("fd00:18::%x", i+1)
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: fmt.Sprintf("ns-%d", i%20),
				Labels: map[string]string{"app": fmt.Sprintf("a%d", i), "grp": fmt.Sprintf("g%d", i%50)}},
			Spec:   corev1.PodSpec{NodeName: benchNode, Containers: []corev1.Container{{Name: "c"}}},
			Status: corev1.PodStatus{PodIP: v4, PodIPs: []corev1.PodIP{{IP: v4}, {IP: v6}}},
		})
		order := float64(i)
		objs = append(objs, &api.GlobalNetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gnp-%d", i)},
			Spec: api.GlobalNetworkPolicySpec{Order: &order, Selector: fmt.Sprintf("app == 'a%d'", i),
				Types: []api.PolicyType{api.PolicyTypeIngress, api.PolicyTypeEgress},
				Ingress: []api.Rule{
					{Action: api.Allow, Protocol: &tcp, Source: api.EntityRule{
						Selector: fmt.Sprintf("grp == 'g%d' && app != 'a%d'", i%50, (i*7+1)%n)},
						Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(80), api.PortRange(8000, 8100)}}},
					{Action: api.Deny, Source: api.EntityRule{Nets: []string{fmt.Sprintf("198.19.%d.0/24", i%250)}}},
				},
				Egress: []api.Rule{{Action: api.Allow, Protocol: &udp, Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(53)}}}},
			},
		})
	}
	m, err := policy.NewModel(objs)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// benchRuleset renders the bench node and checks it has at least 2,000
// chains and 2,000 sets.
func benchRuleset(tb testing.TB) *render.Ruleset {
	tb.Helper()
	rs, err := render.Node(benchModel(tb, 1000), benchNode)
	if err != nil {
		tb.Fatal(err)
	}
	st := rs.Stats()
	if st.Chains < 2000 || st.Sets < 2000 {
		tb.Fatalf("bench ruleset too small: %+v", st)
	}
	return rs
}

func reportStats(b *testing.B, rs *render.Ruleset) {
	st := rs.Stats()
	b.ReportMetric(float64(st.Chains), "chains")
	b.ReportMetric(float64(st.Sets), "sets")
	b.ReportMetric(float64(st.Rules), "rules")
	b.ReportMetric(float64(st.SetElements+st.MapElements), "elements")
}

func BenchmarkRender2000(b *testing.B) {
	m := benchModel(b, 1000)
	var rs *render.Ruleset
	for b.Loop() {
		var err error
		if rs, err = render.Node(m, benchNode); err != nil {
			b.Fatal(err)
		}
	}
	reportStats(b, rs)
}

// BenchmarkApply2000 replaces the whole table each iteration: over
// netlink (the Kernel's Apply after Forget: the table and its base chains
// kept, everything else deleted and declared again) and, for comparison,
// with nft loading the text (delete and re-create the table).
func BenchmarkApply2000(b *testing.B) {
	rs := benchRuleset(b)
	ctx := context.Background()
	b.Run("netlink", func(b *testing.B) {
		k := benchKernel(b, rs, Config{})
		for b.Loop() {
			k.Forget()
			if err := k.Apply(ctx, rs); err != nil {
				b.Fatal(err)
			}
		}
		reportStats(b, rs)
	})
	b.Run("nft-text", func(b *testing.B) {
		k := benchKernel(b, rs, Config{NoNetlink: true})
		text := rs.Text()
		b.ReportMetric(float64(len(text))/1e6, "MB-text")
		for b.Loop() {
			if err := k.ApplyText(ctx, text); err != nil {
				b.Fatal(err)
			}
		}
		reportStats(b, rs)
	})
}

// B4 (issue 9): with the table in place, one change applied by Apply,
// which writes only the difference. Each benchmark alternates between two
// rulesets that differ by one set member, one chain's rules, or nothing:
//
//	go test ./nft -run '^$' -bench 'B4' -benchtime 20x
//
// BenchmarkApply2000 above is the whole-table replace they compare with.

func benchKernel(b testing.TB, rs *render.Ruleset, cfg Config) *Kernel {
	b.Helper()
	lab := netlab.ForTest(b, "pal-nftb")
	ns, err := lab.NewNS("bench")
	if err != nil {
		b.Fatal(err)
	}
	cfg.NetNS = ns.Path()
	k, err := NewKernel(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := k.Apply(context.Background(), rs); err != nil {
		b.Fatal(err)
	}
	return k
}

// modes runs a benchmark over netlink (the default) and with nft scripts
// (Config.NoNetlink, the path before netlink), side by side.
func modes(b *testing.B, rs, other *render.Ruleset) {
	for _, m := range []struct {
		name string
		cfg  Config
	}{{"netlink", Config{}}, {"nft-scripts", Config{NoNetlink: true, Timeout: 3 * time.Minute}}} {
		// (nft loads the first, whole compiled table in ~45 s: the kernel
		// checks each rule's set bindings against the whole transaction.)
		b.Run(m.name, func(b *testing.B) { alternate(b, benchKernel(b, rs, m.cfg), rs, other) })
	}
}

// alternate applies a and b in turn, checking each went in place (or
// wrote nothing when they are equal).
func alternate(b *testing.B, k *Kernel, x, y *render.Ruleset) {
	ctx := context.Background()
	i := 0
	for b.Loop() {
		rs := x
		if i%2 == 0 {
			rs = y
		}
		i++
		if err := k.Apply(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	st, err := k.Stats()
	if st.Fallbacks > 0 {
		b.Fatalf("an incremental transaction failed: %v", err)
	}
	reportStats(b, x)
}

// withSet returns a copy of rs whose first selector set has one member
// more (a set of another name, as render names sets by content).
func withSet(rs *render.Ruleset) *render.Ruleset {
	cp := *rs
	cp.Sets = append([]*render.Set(nil), rs.Sets...)
	for i, s := range cp.Sets {
		if s.Type == render.SetIPv4 && s.Addrs.Len() > 0 {
			ns := *s
			ns.Addrs = iplist.Of(append(s.Addrs.Prefixes(), netip.MustParsePrefix("198.18.250.250/32")))
			cp.Sets[i] = &ns
			return render.Versioned(&cp)
		}
	}
	panic("no IPv4 set with members")
}

// withChain returns a copy of rs whose first policy chain has one rule
// more.
func withChain(rs *render.Ruleset) *render.Ruleset {
	cp := *rs
	cp.Chains = append([]*render.Chain(nil), rs.Chains...)
	for i, c := range cp.Chains {
		if strings.HasPrefix(c.Name, "pol-") {
			nc := *c
			nc.Rules = append(append([]render.Rule(nil), c.Rules...), render.Rule{
				Matches: []render.Match{render.MatchL4Proto{Protos: []uint8{6}}, render.MatchPort{Field: render.FieldDport, Ranges: []render.PortRange{{Lo: 9999, Hi: 9999}}}},
				Verdict: render.Drop, Comment: "bench"})
			cp.Chains[i] = &nc
			return &cp
		}
	}
	panic("no policy chain")
}

// forms runs modes with the rules linear and compiled (both rulesets
// compiled, as the agent does by default).
func forms(b *testing.B, rs, other *render.Ruleset) {
	b.Run("linear", func(b *testing.B) { modes(b, rs, other) })
	b.Run("compiled", func(b *testing.B) { modes(b, render.Compile(rs), render.Compile(other)) })
}

func BenchmarkB4MemberChange(b *testing.B) {
	rs := benchRuleset(b)
	forms(b, rs, withSet(rs))
}

func BenchmarkB4ChainChange(b *testing.B) {
	rs := benchRuleset(b)
	forms(b, rs, withChain(rs))
}

func BenchmarkB4NoopResync(b *testing.B) {
	rs := benchRuleset(b)
	forms(b, rs, rs)
}

// BenchmarkCompile2000 is render.Compile of the B4 ruleset: what the
// agent adds to each render with --rules compiled.
func BenchmarkCompile2000(b *testing.B) {
	rs := benchRuleset(b)
	var out *render.Ruleset
	for b.Loop() {
		out = render.Compile(rs)
	}
	reportStats(b, out)
}

// BenchmarkB4DiffRendered is the diff alone between two separate renders
// (no shared chains or sets, as in the agent, which renders afresh per
// change) that differ by one set member.
func BenchmarkB4DiffRendered(b *testing.B) {
	rs := benchRuleset(b)
	again, err := render.Node(benchModel(b, 1000), benchNode)
	if err != nil {
		b.Fatal(err)
	}
	other := withSet(again)
	for b.Loop() {
		if _, full := Diff(rs, other); full {
			b.Fatal("full")
		}
	}
}

// BenchmarkB4Diff is the diff alone (no kernel) when the new ruleset
// shares the old one's chains.
func BenchmarkB4Diff(b *testing.B) {
	rs := benchRuleset(b)
	other := withSet(rs)
	for b.Loop() {
		if _, full := Diff(rs, other); full {
			b.Fatal("full")
		}
	}
}

// BenchmarkFingerprint2000 reads the B4 table back over netlink and
// hashes it: what an agent's drift check costs at this size.
func BenchmarkFingerprint2000(b *testing.B) {
	rs := benchRuleset(b)
	k := benchKernel(b, rs, Config{})
	for b.Loop() {
		if _, err := k.Fingerprint(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	reportStats(b, rs)
}
