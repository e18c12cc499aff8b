package calc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

// BenchmarkW1ColdStart is B7's cold start at W1: an agent's first
// ruleset from nothing, in three parts timed separately: the engine's
// cold build from W1's objects, the node's render, and the first write of
// the table into an empty network namespace, over netlink and (for
// comparison) with nft loading the text. It needs root.
//
//	go test ./calc -run '^$' -bench W1ColdStart -benchtime 5x
func BenchmarkW1ColdStart(b *testing.B) {
	netlab.RequireRoot(b)
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	lab := netlab.ForTest(b, "pal-cold")
	ctx := context.Background()
	var build, rnd, nl, text time.Duration
	var rs *render.Ruleset
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
		for _, noNetlink := range []bool{false, true} {
			ns, err := lab.NewNS(fmt.Sprintf("n%d-%t", n, noNetlink))
			if err != nil {
				b.Fatal(err)
			}
			k, err := nft.NewKernel(nft.Config{NetNS: ns.Path(), NoNetlink: noNetlink})
			if err != nil {
				b.Fatal(err)
			}
			t := time.Now()
			if err := k.Apply(ctx, rs); err != nil {
				b.Fatal(err)
			}
			if noNetlink {
				text += time.Since(t)
			} else {
				nl += time.Since(t)
			}
		}
		build += t1.Sub(t0)
		rnd += t2.Sub(t1)
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(ms(build), "build-ms")
	b.ReportMetric(ms(rnd), "render-ms")
	b.ReportMetric(ms(nl), "apply-netlink-ms")
	b.ReportMetric(ms(text), "apply-nft-ms")
	b.ReportMetric(ms(build+rnd+nl), "cold-start-ms")
	st := rs.Stats()
	b.ReportMetric(float64(st.Rules), "rules")
	b.ReportMetric(float64(st.SetElements), "elements")
}
