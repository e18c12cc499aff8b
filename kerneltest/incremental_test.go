package kerneltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	yaml "sigs.k8s.io/yaml"
)

// TestIncrementalEqualsFull applies a random sequence of models to the
// cluster's node with the kernel applier (which, after the first, writes
// only the differences: a new model, one policy more, or a remote pod more,
// which changes set elements only and goes over netlink), and after each
// one checks that the node's table
// equals, as data, the same ruleset loaded whole into a scratch namespace;
// the same model applied twice writes nothing. It runs with the rules
// compiled (a remote pod then moves address map elements: ids-v4) and
// linear (it changes a selector set's elements).
func TestIncrementalEqualsFull(t *testing.T) {
	for _, compiled := range []bool{true, false} {
		name := map[bool]string{true: "compiled", false: "linear"}[compiled]
		t.Run(name, func(t *testing.T) { testIncremental(t, compiled) })
	}
}

func testIncremental(t *testing.T, compiled bool) {
	seed := envInt("KERNELTEST_SEED", 5)
	steps := int(envInt("KERNELTEST_INCREMENTAL_STEPS", 30))
	c := newCluster(t)
	scratchNS, err := c.lab.NewNS("scratch")
	must(t, err)
	scratch, err := nft.NewKernel(nft.Config{NetNS: scratchNS.Path()})
	must(t, err)
	ctx := context.Background()
	g := &gen{r: rand.New(rand.NewPCG(seed, 77))}
	var prev string
	for i := 0; i < steps; i++ {
		extra := prev
		switch {
		case i == 0 || g.chance(0.5):
			extra = g.model() // a different model: most chains change
		case g.chance(0.5):
			extra = prev + "---\n" + toYAML(g.policy(10+i)) // one policy more
		default:
			extra = prev + remotePod(i) // set members only
		}
		m, err := decodeModel(baseYAML + webSource + extra)
		if err != nil {
			i--
			continue
		}
		prev = extra
		before, _ := c.k.Stats()
		rs, err := render.Node(m, nodeName)
		must(t, err)
		if compiled {
			rs = render.Compile(rs)
		}
		if err := c.k.Apply(ctx, rs); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		after, lastErr := c.k.Stats()
		if after.Fallbacks != before.Fallbacks {
			t.Fatalf("step %d: the incremental transaction failed: %v\nmodel:\n%s", i, lastErr, extra)
		}
		must(t, scratch.ApplyText(ctx, rs.Text()))
		got, want := listing(t, c.k), listing(t, scratch)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("step %d: the incrementally updated table differs from the whole ruleset (-whole +incremental):\n%s\nmodel:\n%s", i, d, extra)
		}
		// The same ruleset again writes nothing.
		if err := c.k.Apply(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if again, _ := c.k.Stats(); again.Unchanged != after.Unchanged+1 {
			t.Fatalf("step %d: applying the same ruleset again wrote something (%+v -> %+v)", i, after, again)
		}
	}
	st, _ := c.k.Stats()
	if st.Netlink == 0 {
		t.Errorf("no step was written over netlink (set elements only): %+v", st)
	}
	// Each step applied once more unchanged (Unchanged counts those too);
	// the rest of the steps after the first were incremental or replaced.
	same := st.Unchanged - steps
	replaced := steps - 1 - same - st.Incremental
	if st.Incremental == 0 || replaced > steps/4 {
		t.Fatalf("%d steps: %d in place, %d unchanged, %d replaced whole (%+v)", steps, st.Incremental, same, replaced, st)
	}
	t.Logf("seed %d: %d steps: %d in place (%d of them set elements over netlink), %d unchanged, %d replaced whole",
		seed, steps, st.Incremental, st.Netlink, same, replaced)
}

// webSource is in every step's model: a policy whose rule's source set
// holds the web pods, so that a remote web pod (remotePod) changes set
// members and nothing else.
const webSource = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: zz-from-web}
spec: {order: 9999, selector: app == 'db', ingress: [{action: Allow, source: {selector: app == 'web'}}]}
`

// remotePod is a web pod of another node.
func remotePod(i int) string {
	return fmt.Sprintf("---\napiVersion: v1\nkind: Pod\nmetadata: {name: remote-%d, namespace: app, labels: {app: web}}\n"+
		"spec: {nodeName: node2, containers: [{name: c}]}\nstatus: {podIP: 198.18.3.%d, podIPs: [{ip: 198.18.3.%d}]}\n",
		i, 10+i, 10+i)
}

// listing reads palisade's table as data (nft.Canonical).
func listing(t *testing.T, k *nft.Kernel) []string {
	t.Helper()
	text, err := k.Show(context.Background())
	must(t, err)
	return strings.Split(nft.Canonical(text), "\n")
}

// toYAML prints one generated object.
func toYAML(o obj) string {
	y, err := yaml.Marshal(o)
	if err != nil {
		panic(err)
	}
	return string(y)
}
