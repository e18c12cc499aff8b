package kerneltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	yaml "sigs.k8s.io/yaml"
)

// stagedModel returns random staged policies: new ones, and staged
// versions of the model's policies (same kind, namespace and name).
func (g *gen) stagedModel() string {
	var b strings.Builder
	for i, n := 0, 1+g.r.IntN(4); i < n; i++ {
		p := g.policy(g.r.IntN(5))
		switch p["kind"] {
		case "GlobalNetworkPolicy":
			p["kind"] = "StagedGlobalNetworkPolicy"
		case "NetworkPolicy":
			if p["apiVersion"] == "networking.k8s.io/v1" {
				p["kind"] = "StagedKubernetesNetworkPolicy"
				p["apiVersion"] = "projectcalico.org/v3"
			} else {
				p["kind"] = "StagedNetworkPolicy"
			}
		}
		y, err := yaml.Marshal(p)
		if err != nil {
			panic(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

// stepAt identifies an endpoint's evaluation in a verdict's path.
type stepAt struct{ stage, kind, endpoint, direction string }

func at(s policy.Step) stepAt { return stepAt{s.Stage, s.Kind, s.Endpoint, s.Direction} }

// TestStagedCountersMatchEvaluator renders random models with random staged
// policies (NodeStaged), sends random flows and checks the shadow counters
// against the evaluator run on the staged view (policy.StagedView): at every
// normal-policy endpoint the packet really reached, the staged Deny the
// evaluator names (a staged rule or a tier's end) is counted, and where the
// staged view allows at every endpoint the packet reached, no staged
// counter moves. Nothing staged is enforced: the kernel's verdicts still
// agree with the enforced model (the differential test's job, checked here
// too).
func TestStagedCountersMatchEvaluator(t *testing.T) {
	seed := envInt("KERNELTEST_SEED", 11)
	models := int(envInt("KERNELTEST_STAGED_MODELS", 8))
	per := int(envInt("KERNELTEST_STAGED_FLOWS", 20))
	c := newCluster(t)
	ctx := context.Background()
	checked, quiet := 0, 0
	for i := 0; i < models; i++ {
		g := &gen{r: rand.New(rand.NewPCG(seed, uint64(2000+i)))}
		var extra string
		var enforced, staged *policy.Model
		for {
			extra = g.model() + g.stagedModel()
			objs, err := decodeObjects(baseYAML + extra)
			if err != nil {
				continue
			}
			if enforced, err = policy.NewModel(objs); err != nil {
				continue
			}
			if staged, err = policy.NewModel(policy.StagedView(objs)); err != nil {
				continue
			}
			break
		}
		rs, err := render.NodeStaged(enforced, staged, nodeName)
		must(t, err)
		if err := c.k.Apply(ctx, rs); err != nil {
			t.Fatalf("model %d: %v\n%s", i, err, rs.Text())
		}
		c.model, c.rs = enforced, rs
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
			if o.kernelAllowed() != o.evalAllowed() && known(o) == nil {
				t.Errorf("seed %d model %d: %s: staged policies changed the enforced verdict: kernel %v, evaluator %v",
					seed, i, f, o.kernelAllowed(), o.evalAllowed())
			}
			sv, err := staged.Evaluate(o.pf)
			if err != nil || len(o.verdict.Paths) != 1 || len(sv.Paths) != 1 {
				continue
			}
			want, denies, complete := stagedDenies(sv.Paths[0].Request, o.verdict.Paths[0].Request)
			moved := map[render.CounterKey]bool{}
			for k, v := range after {
				if strings.HasPrefix(k.Kind, "staged-") && v > before[k] {
					moved[k] = true
				}
			}
			for _, k := range want {
				checked++
				if !moved[k] {
					t.Errorf("seed %d model %d: %s: the staged view denies by %+v but its counter did not move (moved: %v)\nmodel:\n%s\nstaged explain:\n%s",
						seed, i, f, k, moved, extra, explainVerdict(sv))
				}
			}
			if denies == 0 && complete {
				quiet++
				if len(moved) > 0 {
					t.Errorf("seed %d model %d: %s: the staged view allows, yet staged counters moved: %v\nmodel:\n%s\nstaged explain:\n%s",
						seed, i, f, moved, extra, explainVerdict(sv))
				}
			}
		}
	}
	if checked == 0 || quiet == 0 {
		t.Fatalf("%d staged denies and %d quiet flows checked: the test checked too little", checked, quiet)
	}
	t.Logf("seed %d: %d staged denies counted, %d flows with no staged deny checked quiet, over %d models", seed, checked, quiet, models)
}

// stagedDenies lists the shadow counter keys of the staged path's normal
// policy denies at endpoints the packet reached (on the enforced path)
// where the enforced decision differs (where it is the same Deny, the
// endpoint may have no shadow: nothing staged changes it). complete is
// false when the staged path stops before an endpoint the packet reached
// (its staged verdict there is unknown). denies counts the staged denies at
// reached endpoints, listed or not.
func stagedDenies(staged, enforced []policy.Step) (out []render.CounterKey, denies int, complete bool) {
	decided := map[stepAt]policy.Step{}
	for _, s := range enforced {
		if s.Result != policy.ResultNone {
			decided[at(s)] = s
		}
	}
	seen := map[stepAt]bool{}
	for _, s := range staged {
		seen[at(s)] = true
		e, reached := decided[at(s)]
		if !reached || s.Kind != policy.StageNormal.String() || s.Result != policy.ResultDeny {
			continue
		}
		denies++
		k, ok := render.StepCounterKey(s)
		if ek, eok := render.StepCounterKey(e); eok && ek == k {
			continue
		}
		switch {
		case !ok:
		case k.Kind == render.CountRule:
			k.Kind = render.CountStagedRule
			out = append(out, k)
		case k.Kind == render.CountEndOfTier:
			k.Kind = render.CountStagedEndOfTier
			out = append(out, k)
		}
	}
	for r := range decided {
		if r.kind == policy.StageNormal.String() && !seen[r] {
			return out, denies, false
		}
	}
	return out, denies, true
}

// decodeObjects decodes manifests into objects.
func decodeObjects(docs string) ([]api.Object, error) {
	ds, errs := api.Decode("model.yaml", []byte(docs))
	if len(errs) > 0 {
		return nil, fmt.Errorf("%v", errs)
	}
	out := make([]api.Object, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Object)
	}
	return out, nil
}

func explainVerdict(v *policy.Verdict) string {
	return explain(outcome{verdict: v})
}
