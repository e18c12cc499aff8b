package calc

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

// BenchmarkW1ColdStart is B7's cold start at W1: an agent's first
// ruleset from nothing, in parts timed separately: the engine's cold
// build from W1's objects, the node's render, its compile (the agent's
// default --rules compiled), and the first write of the compiled table
// into an empty network namespace over netlink; for comparison, the
// linear ruleset's first write too. It needs root.
//
//	go test ./calc -run '^$' -bench W1ColdStart -benchtime 5x
func BenchmarkW1ColdStart(b *testing.B) {
	netlab.RequireRoot(b)
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	lab := netlab.ForTest(b, "pal-cold")
	ctx := context.Background()
	var build, rnd, comp, nl, linear time.Duration
	var rs, crs *render.Ruleset
	n := 0
	for b.Loop() {
		t0 := time.Now()
		e := loadW1(b, c)
		src := e.Source()
		t1 := time.Now()
		var err error
		if rs, err = render.Node(src, w1Node); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		crs = render.Compile(rs)
		t3 := time.Now()
		for i, form := range []*render.Ruleset{crs, rs} {
			ns, err := lab.NewNS(fmt.Sprintf("n%d-%d", n, i))
			if err != nil {
				b.Fatal(err)
			}
			k, err := nft.NewKernel(nft.Config{NetNS: ns.Path()})
			if err != nil {
				b.Fatal(err)
			}
			t := time.Now()
			if err := k.Apply(ctx, form); err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				nl += time.Since(t)
			} else {
				linear += time.Since(t)
			}
		}
		build += t1.Sub(t0)
		rnd += t2.Sub(t1)
		comp += t3.Sub(t2)
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(ms(build), "build-ms")
	b.ReportMetric(ms(rnd), "render-ms")
	b.ReportMetric(ms(comp), "compile-ms")
	b.ReportMetric(ms(nl), "apply-ms")
	b.ReportMetric(ms(linear), "apply-linear-ms")
	b.ReportMetric(ms(build+rnd+comp+nl), "cold-start-ms")
	b.ReportMetric(ms(build+rnd+linear), "cold-start-linear-ms")
	st, cst := rs.Stats(), crs.Stats()
	b.ReportMetric(float64(cst.Rules), "rules")
	b.ReportMetric(float64(cst.SetElements+cst.MapElements), "elements")
	b.ReportMetric(float64(st.Rules), "linear-rules")
}

// BenchmarkW1Compile is render.Compile of W1's node ruleset alone.
//
//	go test ./calc -run '^$' -bench W1Compile -benchtime 3x
func BenchmarkW1Compile(b *testing.B) {
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	e := loadW1(b, c)
	rs, err := render.Node(e.Source(), w1Node)
	if err != nil {
		b.Fatal(err)
	}
	var out *render.Ruleset
	for b.Loop() {
		out = render.Compile(rs)
	}
	st := out.Stats()
	b.ReportMetric(float64(st.Rules), "rules")
	b.ReportMetric(float64(st.MapElements), "map-elements")
	b.ReportMetric(float64(rs.Stats().Rules), "linear-rules")
	endpoints, compiled := 0, 0
	for _, ch := range rs.Chains {
		if ch.Remote == 0 {
			continue
		}
		endpoints++
		if oc := out.Chain(ch.Name); oc != nil && len(oc.Rules) > 0 {
			if v := oc.Rules[len(oc.Rules)-1].Verdict; strings.HasPrefix(v.Chain, "out-") || strings.HasPrefix(v.Map, "lids-") {
				compiled++
			}
		}
	}
	b.ReportMetric(float64(endpoints), "endpoint-chains")
	b.ReportMetric(float64(compiled), "compiled-chains")
}

// BenchmarkW1CompileChange is what the agent's render.Compiler does per
// change at W1: the node's ruleset and the same with one more address in
// the first selector set (a remote pod that joined it), compiled in turn;
// only the sections whose identity classes changed are walked again.
//
//	go test ./calc -run '^$' -bench W1CompileChange -benchtime 20x
func BenchmarkW1CompileChange(b *testing.B) {
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	e := loadW1(b, c)
	rs, err := render.Node(e.Source(), w1Node)
	if err != nil {
		b.Fatal(err)
	}
	other := *rs
	other.Sets = slices.Clone(rs.Sets)
	for i, s := range other.Sets {
		if s.Type == render.SetIPv4 && strings.HasPrefix(s.Name, "sel-") && s.Addrs.Len() > 0 {
			cp := *s
			cp.Addrs = iplist.Of(append(s.Addrs.Prefixes(), netip.MustParsePrefix("198.18.250.250/32")))
			other.Sets[i] = &cp
			break
		}
	}
	cc := render.NewCompiler()
	cc.Compile(rs)
	walked, i := 0, 0
	for b.Loop() {
		x := &other
		if i%2 == 1 {
			x = rs
		}
		cc.Compile(x)
		walked += cc.Walked
		i++
	}
	b.ReportMetric(float64(walked)/float64(i), "walked/op")
	b.ReportMetric(float64(cc.Walked+cc.Reused), "sections")
}
