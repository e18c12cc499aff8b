package kerneltest

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/palisade-net/palisade/render"
)

// TestCountersMatchExplain sends random flows through random models, one
// at a time, and checks that for every step of the evaluator's verdict
// that a counter stands for (the deciding policy or profile rule, Pass and
// Log rules on the way, an end of tier, an endpoint's default, the forward
// default) the kernel's counter of that key went up: the rule the kernel
// counted is the rule explain names.
func TestCountersMatchExplain(t *testing.T) {
	seed := envInt("KERNELTEST_SEED", 7)
	models := int(envInt("KERNELTEST_COUNTER_MODELS", 6))
	per := int(envInt("KERNELTEST_COUNTER_FLOWS", 20))
	c := newCluster(t)
	ctx := context.Background()
	checked := 0
	for i := 0; i < models; i++ {
		g := &gen{r: rand.New(rand.NewPCG(seed, uint64(1000+i)))}
		var extra string
		for {
			extra = g.model()
			m, err := decodeModel(baseYAML + extra)
			if err != nil {
				continue
			}
			if err := c.applyModel(m); err != nil {
				t.Fatalf("model %d: %v", i, err)
			}
			break
		}
		must(t, c.node.FlushConntrack())
		for n := 0; n < per; {
			f, ok := g.flow()
			if !ok {
				continue
			}
			n++
			f.srcPort = c.clientPort()
			before := c.counterKeys(t, ctx)
			o := c.judge(ctx, f, c.timeout)
			if o.err != nil {
				t.Fatalf("model %d: %s: %v", i, f, o.err)
			}
			after := c.counterKeys(t, ctx)
			if len(o.verdict.Paths) != 1 {
				continue // a NodePort with several backends: the kernel picks one
			}
			for _, p := range o.verdict.Paths {
				for _, s := range p.Request {
					key, ok := render.StepCounterKey(s)
					if !ok {
						continue
					}
					checked++
					if after[key] <= before[key] {
						t.Errorf("seed %d model %d: %s: explain names %q (counter key %+v) but its counter stayed at %d\nmodel:\n%s\nexplain:\n%s",
							seed, i, f, s.Reason, key, after[key], extra, explain(o))
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no step of any verdict had a counter: the test checked nothing")
	}
	t.Logf("seed %d: %d steps' counters checked over %d models", seed, checked, models)
}

// counterKeys reads the kernel's counters, packets by key.
func (c *cluster) counterKeys(t *testing.T, ctx context.Context) map[render.CounterKey]uint64 {
	t.Helper()
	vals, err := c.k.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[render.CounterKey]uint64{}
	for _, v := range vals {
		k, ok := render.ParseCounterComment(v.Comment)
		if !ok {
			t.Fatalf("counter %s: comment %q does not read back", v.Name, v.Comment)
		}
		out[k] += v.Packets
	}
	return out
}
