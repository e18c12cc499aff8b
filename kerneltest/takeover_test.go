package kerneltest

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

// TestTakeOverEqualsFull: a ruleset applied by one applier, saved with the
// digest of the kernel's listing (nft.SaveState), is taken over by a new
// applier (a restarted agent) that checks the digest and adopts it: the
// same ruleset then writes nothing, and the next one writes only the
// difference, which leaves the table equal, as data, to that ruleset
// loaded whole. Random models cover every rule feature, so every Match and
// Statement type goes through the saved state.
func TestTakeOverEqualsFull(t *testing.T) {
	seed := envInt("KERNELTEST_SEED", 5)
	c := newCluster(t)
	scratchNS, err := c.lab.NewNS("scratch")
	must(t, err)
	scratch, err := nft.NewKernel(nft.Config{NetNS: scratchNS.Path()})
	must(t, err)
	ctx := context.Background()
	g := &gen{r: rand.New(rand.NewPCG(seed, 91))}
	path := filepath.Join(t.TempDir(), "ruleset.state")
	render1 := func() *render.Ruleset {
		for {
			m, err := decodeModel(baseYAML + g.model())
			if err != nil {
				continue
			}
			rs, err := render.Node(m, nodeName)
			must(t, err)
			return rs
		}
	}
	for i := range 8 {
		rs := render1()
		must(t, c.k.Apply(ctx, rs))
		text, err := c.k.Show(ctx)
		must(t, err)
		must(t, nft.SaveState(path, nft.State{Ruleset: rs, Digest: nft.ListingDigest(text)}))

		next, err := nft.NewKernel(nft.Config{NetNS: c.node.Path()}) // the restarted agent's
		must(t, err)
		s, err := nft.LoadState(path)
		must(t, err)
		now, err := next.Show(ctx)
		must(t, err)
		if nft.ListingDigest(now) != s.Digest {
			t.Fatalf("step %d: the digest of the unchanged table differs from the saved one", i)
		}
		if d := cmp.Diff(rs.Text(), s.Ruleset.Text()); d != "" {
			t.Fatalf("step %d: the saved ruleset differs from the applied one (-applied +saved):\n%s", i, d)
		}
		next.Adopt(s.Ruleset)
		must(t, next.Apply(ctx, rs))
		if st, _ := next.Stats(); st.Unchanged != 1 {
			t.Fatalf("step %d: the adopted ruleset applied again wrote something: %+v", i, st)
		}
		after := render1()
		must(t, next.Apply(ctx, after))
		if st, err := next.Stats(); st.Fallbacks != 0 {
			t.Fatalf("step %d: the first difference after the takeover failed: %v", i, err)
		}
		must(t, scratch.ApplyText(ctx, after.Text()))
		if d := cmp.Diff(listing(t, scratch), listing(t, next)); d != "" {
			t.Fatalf("step %d: after the takeover the table differs from the whole ruleset (-whole +taken over):\n%s", i, d)
		}
		c.k = next
	}
}
