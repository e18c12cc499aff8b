package kerneltest

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

// TestNetlinkEqualsText: a ruleset written over netlink is, as nft lists
// it, the table nft loads from the rendered text, for random models
// using every rule feature, linear and compiled (render.Compile).
func TestNetlinkEqualsText(t *testing.T) {
	seed := envInt("KERNELTEST_SEED", 7)
	c := newCluster(t)
	scratchNS, err := c.lab.NewNS("scratch")
	must(t, err)
	scratch, err := nft.NewKernel(nft.Config{NetNS: scratchNS.Path()})
	must(t, err)
	ctx := context.Background()
	g := &gen{r: rand.New(rand.NewPCG(seed, 11))}
	compiledMaps := 0
	defer func() {
		if !t.Failed() && compiledMaps == 0 {
			t.Errorf("no model had a compiled map")
		}
		t.Logf("%d compiled maps", compiledMaps)
	}()
	for i := 0; i < int(envInt("KERNELTEST_NETLINK_MODELS", 20)); {
		m, err := decodeModel(baseYAML + g.model())
		if err != nil {
			continue
		}
		rs, err := render.Node(m, nodeName)
		must(t, err)
		if i%2 == 1 { // every other model in its compiled form
			rs = render.Compile(rs)
			for _, m := range rs.Maps {
				if m.Kind != render.MapIfname {
					compiledMaps++
				}
			}
		}
		must(t, c.k.WriteNetlink(rs))
		must(t, scratch.ApplyText(ctx, rs.Text()))
		if d := cmp.Diff(listing(t, scratch), listing(t, c.k)); d != "" {
			t.Fatalf("model %d: the table written over netlink differs from its text loaded by nft (-nft +netlink):\n%s", i, d)
		}
		if i == 0 {
			t.Logf("model 0: %d lines listed", len(listing(t, c.k)))
		}
		i++
	}
}
