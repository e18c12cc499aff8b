package kerneltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/palisade-net/palisade/flowlog"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
)

// flowLogsOn turns flow logs on for the node, allowed flows included,
// over whatever the generated default FelixConfiguration says.
const flowLogsOn = `
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.` + nodeName + `}
spec: {flowLogs: All, flowLogsRateLimit: 10000, flowLogsRateLimitBurst: 10000}
`

// TestCountersAndFlowLogsMatchExplain sends random flows through random
// models, one at a time, and checks, for every step of the evaluator's
// verdict that a counter stands for (the deciding policy or profile rule,
// Pass and Log rules on the way, an end of tier, an endpoint's default,
// the forward default), that the kernel's counter of that key went up, and
// for every such Allow or Deny step (but the forward default, which is not
// logged) that the flow log has a record of the
// flow with that decision: the rule the kernel counted and logged is the
// rule explain names.
func TestCountersAndFlowLogsMatchExplain(t *testing.T) {
	seed := envInt("KERNELTEST_SEED", 7)
	models := int(envInt("KERNELTEST_COUNTER_MODELS", 6))
	per := int(envInt("KERNELTEST_COUNTER_FLOWS", 20))
	c := newCluster(t)
	ctx := context.Background()
	col := &flowlog.Collector{Node: nodeName, NetNS: c.node.Path(), Hub: flowlog.NewHub(0)}
	stop, err := col.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	recs, unfollow := col.Hub.Follow()
	t.Cleanup(unfollow)
	counted, logged := 0, 0
	for i := 0; i < models; i++ {
		g := &gen{r: rand.New(rand.NewPCG(seed, uint64(1000+i)))}
		var extra string
		for {
			extra = g.model() + flowLogsOn
			m, err := decodeModel(baseYAML + extra)
			if err != nil {
				continue
			}
			if err := c.applyModel(m); err != nil {
				t.Fatalf("model %d: %v", i, err)
			}
			break
		}
		col.Update(c.rs)
		must(t, c.node.FlushConntrack())
		for n := 0; n < per; {
			f, ok := g.flow()
			if !ok {
				continue
			}
			n++
			f.srcPort = c.clientPort()
			before := c.counterKeys(t, ctx)
			drain(recs)
			o := c.judge(ctx, f, c.timeout)
			if o.err != nil {
				t.Fatalf("model %d: %s: %v", i, f, o.err)
			}
			after := c.counterKeys(t, ctx)
			if len(o.verdict.Paths) != 1 {
				continue // a NodePort with several backends: the kernel picks one
			}
			var wantLogs []render.CounterKey
			for _, s := range o.verdict.Paths[0].Request {
				key, ok := render.StepCounterKey(s)
				if !ok {
					continue
				}
				counted++
				if after[key] <= before[key] {
					t.Errorf("seed %d model %d: %s: explain names %q (counter key %+v) but its counter stayed at %d\nmodel:\n%s\nexplain:\n%s",
						seed, i, f, s.Reason, key, after[key], extra, explain(o))
				}
				if (key.Action == "Allow" || key.Action == "Deny") && key.Kind != render.CountForward {
					wantLogs = append(wantLogs, key)
				}
			}
			if err := awaitLogs(recs, o.pf, wantLogs); err != nil {
				t.Errorf("seed %d model %d: %s: %v\nexplain:\n%s", seed, i, f, err, explain(o))
			}
			logged += len(wantLogs)
		}
	}
	if counted == 0 || logged == 0 {
		t.Fatalf("%d counted and %d logged steps: the test checked nothing", counted, logged)
	}
	t.Logf("seed %d: %d steps' counters and %d flow log records checked over %d models", seed, counted, logged, models)
}

func drain(c <-chan flowlog.Record) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// awaitLogs waits for a record of the flow (its protocol and, for ports,
// client port) with each wanted decision.
func awaitLogs(recs <-chan flowlog.Record, pf policy.Flow, want []render.CounterKey) error {
	missing := map[render.CounterKey]bool{}
	for _, k := range want {
		missing[k] = true
	}
	var seen []string
	deadline := time.After(2 * time.Second)
	for len(missing) > 0 {
		select {
		case r := <-recs:
			if r.Proto != flowlog.ProtoName(pf.Proto) || pf.SrcPort != 0 && r.SrcPort != pf.SrcPort {
				continue
			}
			k := render.CounterKey{Kind: r.Kind, Direction: r.Direction, Tier: r.Tier, Policy: r.Policy, Rule: -1, Action: r.Action}
			if r.Rule != nil {
				k.Rule = *r.Rule
			}
			delete(missing, k)
			seen = append(seen, r.Text())
		case <-deadline:
			return fmt.Errorf("the flow log has no record of %d decision(s) explain names: %+v; records of the flow: %q", len(missing), missing, seen)
		}
	}
	return nil
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
