package kerneltest

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/policy"
)

// The differential property test: seeded random models (gen_test.go) over
// one topology, each flow judged by policy.Model.Evaluate and by a real
// packet through the rendered ruleset in the kernel.
//
//	go test ./kerneltest -run Differential -v                         # 500 flows, a fresh seed
//	go test ./kerneltest -run Differential -v -flows=20000 -seed=7    # many more, reproducibly
//	go test ./kerneltest -run Differential -v -seed=7 -model=12       # one model of a run
//
// KERNELTEST_FLOWS and KERNELTEST_SEED set the same from the environment.
var (
	flagFlows    = flag.Int("flows", 0, "differential: flows to check (default 500, or $KERNELTEST_FLOWS)")
	flagSeed     = flag.Uint64("seed", 0, "differential: seed (default: from the clock, or $KERNELTEST_SEED)")
	flagModel    = flag.Int("model", -1, "differential: run only this model index of the seed")
	flagPerModel = flag.Int("per-model", 20, "differential: flows per random model")
)

func envInt(name string, def uint64) uint64 {
	if v, err := strconv.ParseUint(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

func TestDifferential(t *testing.T) {
	flows := uint64(*flagFlows)
	if flows == 0 {
		flows = envInt("KERNELTEST_FLOWS", 500)
	}
	seed := *flagSeed
	if seed == 0 {
		seed = envInt("KERNELTEST_SEED", uint64(time.Now().UnixNano()%1e9))
	}
	per := max(*flagPerModel, 1)
	models := (int(flows) + per - 1) / per
	t.Logf("seed %d: %d models x %d flows (reproduce: go test ./kerneltest -run Differential -v -seed=%d -flows=%d)",
		seed, models, per, seed, flows)
	c := newCluster(t)
	start := time.Now()
	st := &diffStats{deciders: map[string]int{}}
	for i := 0; i < models; i++ {
		if *flagModel >= 0 && i != *flagModel {
			continue
		}
		c.runModel(t, seed, i, per, st)
		if t.Failed() && !testing.Verbose() {
			break
		}
	}
	t.Logf("seed %d: %d flows checked (%d allowed, %d denied), %d known-issue matches, %d invalid models regenerated, in %v",
		seed, st.checked, st.allowed, st.checked-st.allowed, st.known, st.skipped, time.Since(start).Round(time.Millisecond))
	t.Logf("stages that decided (flows):%s", st.coverageString())
}

type diffStats struct {
	checked, allowed, known, skipped int
	deciders                         map[string]int // stage/kind that gave a verdict -> flows
}

// coverage counts, per flow, each stage (and kind) that gave a verdict, to
// show which parts of the ruleset the random flows exercised.
func (st *diffStats) coverage(o outcome) {
	seen := map[string]bool{}
	for _, p := range o.verdict.Paths {
		for _, s := range append(append([]policy.Step(nil), p.Request...), p.Reply...) {
			if s.Result == policy.ResultNone {
				continue
			}
			k := s.Stage + "/" + string(s.Result)
			if s.Kind != "" {
				k = s.Stage + ":" + s.Kind + "/" + string(s.Result)
			}
			seen[k] = true
		}
	}
	for k := range seen {
		st.deciders[k]++
	}
}

func (st diffStats) coverageString() string {
	keys := make([]string, 0, len(st.deciders))
	for k := range st.deciders {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %-40s %6d", k, st.deciders[k])
	}
	return b.String()
}

// runModel generates model i of the seed (valid manifests only), applies it
// and judges its flows.
func (c *cluster) runModel(t *testing.T, seed uint64, i, per int, st *diffStats) {
	t.Helper()
	g := &gen{r: rand.New(rand.NewPCG(seed, uint64(i)))}
	c.compiled = i%2 == 1 // every other model in its compiled form
	defer func() { c.compiled = false }()
	var extra string
	for {
		extra = g.model()
		m, err := decodeModel(baseYAML + extra)
		if err != nil {
			st.skipped++ // the generator wrote something the API rejects
			continue
		}
		if err := c.applyModel(m); err != nil {
			t.Errorf("seed %d model %d: %v\nmodel:\n%s", seed, i, err, extra)
			return
		}
		break
	}
	if err := c.node.FlushConntrack(); err != nil {
		t.Fatal(err)
	}
	var fs []flow
	for len(fs) < per {
		if f, ok := g.flow(); ok {
			f.srcPort = c.clientPort()
			fs = append(fs, f)
		}
	}
	var bad []outcome
	for _, o := range c.judgeAll(fs) {
		switch {
		case o.err != nil:
			t.Errorf("seed %d model %d: %s: cannot judge: %v", seed, i, o.f, o.err)
			continue
		case o.kernelAllowed() != o.evalAllowed() && known(o) != nil:
			st.known++
			t.Logf("seed %d model %d: KNOWN ISSUE %s: %s", seed, i, known(o).id, o.f)
		case o.kernelAllowed() != o.evalAllowed():
			bad = append(bad, o)
		}
		st.checked++
		if o.evalAllowed() {
			st.allowed++
		}
		st.coverage(o)
	}
	if len(bad) > 0 {
		c.reportDisagreements(t, seed, i, extra, bad)
	}
}

// clientPort hands out client ports spread over 20000-59999 (a stride
// coprime to the range, so 40000 flows get distinct ports) so that random
// source-port rules match some flows and not others.
func (c *cluster) clientPort() uint16 {
	n := c.port.Add(1)
	return uint16(20000 + (n*7919)%40000)
}

func (c *cluster) reportDisagreements(t *testing.T, seed uint64, i int, extra string, bad []outcome) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d model %d: %d DISAGREEMENTS between the kernel and the evaluator\n", seed, i, len(bad))
	fmt.Fprintf(&b, "reproduce: go test ./kerneltest -run Differential -v -seed=%d -model=%d\n", seed, i)
	for _, o := range bad {
		fmt.Fprintf(&b, "\n%s (client port %d): kernel %s, evaluator %s\n%s", o.f, o.f.srcPort,
			word(o.kernelAllowed(), o.kernel), word(o.evalAllowed(), nil), explain(o))
	}
	fmt.Fprintf(&b, "\nmodel (over baseYAML):\n%s\nruleset:\n%s", extra, c.rs.Text())
	t.Error(b.String())
}
