package nft

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/render"
)

// elementsRuleset has one set of each kind render makes (interval prefix
// sets for both families, concatenated address-protocol-port sets for both
// families, a protocol-port set), a chain that uses them, and the given
// members.
func elementsRuleset(v4, v6 []netip.Prefix, t4, t6, pp []render.Tuple) *render.Ruleset {
	sets := []*render.Set{
		{Name: "p4", Type: render.SetIPv4, Interval: true, Comment: "prefixes", Addrs: iplist.Of(v4)},
		{Name: "p6", Type: render.SetIPv6, Interval: true, Comment: "prefixes", Addrs: iplist.Of(v6)},
		{Name: "t4", Type: render.SetIPv4ProtoPort, Comment: "named ports", Tuples: t4},
		{Name: "t6", Type: render.SetIPv6ProtoPort, Comment: "named ports", Tuples: t6},
		{Name: "pp", Type: render.SetProtoPort, Comment: "failsafes", Tuples: pp},
	}
	in := &render.Chain{Name: "filter-input", Base: &render.BaseChain{Type: "filter", Hook: render.HookInput, Policy: "accept"},
		Rules: []render.Rule{{Matches: []render.Match{render.MatchL4Proto{Protos: []uint8{6}}}, Verdict: render.Accept}}}
	return &render.Ruleset{Table: render.TableName, Family: render.TableFamily, Chains: []*render.Chain{in}, Sets: sets}
}

// randomMembers picks members from fixed pools, so that consecutive
// rulesets share some and differ in others (adjacent prefixes included).
func randomMembers(r *rand.Rand) ([]netip.Prefix, []netip.Prefix, []render.Tuple, []render.Tuple, []render.Tuple) {
	var v4, v6 []netip.Prefix
	for i := range 40 {
		if r.IntN(2) == 0 {
			continue
		}
		bits := []int{32, 30, 28, 24}[i%4]
		base := netip.AddrFrom4([4]byte{198, 18, byte(i), 0})
		v4 = append(v4, netip.PrefixFrom(base, bits))
		b6 := netip.MustParseAddr(fmt.Sprintf("fd00:18:%x::", i))
		v6 = append(v6, netip.PrefixFrom(b6, []int{128, 64, 48, 120}[i%4]))
	}
	var t4, t6, pp []render.Tuple
	for i := range 20 {
		if r.IntN(2) == 0 {
			continue
		}
		proto := []uint8{6, 17, 132}[i%3]
		t4 = append(t4, render.Tuple{Addr: netip.AddrFrom4([4]byte{198, 19, 0, byte(i)}), Proto: proto, Port: uint16(8000 + i)})
		t6 = append(t6, render.Tuple{Addr: netip.MustParseAddr(fmt.Sprintf("fd00:19::%x", i+1)), Proto: proto, Port: uint16(9000 + i)})
		pp = append(pp, render.Tuple{Proto: proto, Port: uint16(20 + i)})
	}
	return v4, v6, t4, t6, pp
}

// TestElementsOverNetlink: element-only changes are written over netlink
// as elements deleted and added, and leave the table equal, as data, to
// the same ruleset loaded whole, for every kind of set; the applier's own
// batches are not reported as another process's changes; an interval
// from the zero address (written as the whole set again) too.
func TestElementsOverNetlink(t *testing.T) {
	k, _ := scratch(t)
	other, err := netlab.ForTest(t, "pal-nft").NewNS("whole")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := NewKernel(Config{NetNS: other.Path()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := rand.New(rand.NewPCG(7, 11))
	if err := k.Apply(ctx, elementsRuleset(randomMembers(r))); err != nil {
		t.Fatal(err)
	}
	changes, err := k.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		rs := elementsRuleset(randomMembers(r))
		before, _ := k.Stats()
		if err := k.Apply(ctx, rs); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		after, lastErr := k.Stats()
		if after.Netlink != before.Netlink+1 || after.Incremental != before.Incremental+1 {
			t.Fatalf("step %d: not written incrementally over netlink (%+v -> %+v): %v", i, before, after, lastErr)
		}
		if err := whole.ApplyText(ctx, rs.Text()); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(canonicalOf(t, whole), canonicalOf(t, k)); d != "" {
			t.Fatalf("step %d: the table differs from the ruleset loaded whole (-whole +netlink):\n%s", i, d)
		}
	}
	select {
	case ch := <-changes:
		t.Fatalf("the applier's own netlink batches were reported as a change: %+v", ch)
	case <-time.After(300 * time.Millisecond):
	}

	// 0.0.0.0/0 has no interval end: the set is written again whole.
	rs := elementsRuleset(randomMembers(r))
	rs.Sets[0].Addrs = iplist.Of([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
	before, _ := k.Stats()
	if err := k.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	after, _ := k.Stats()
	if after.Netlink != before.Netlink+1 || after.Incremental != before.Incremental+1 {
		t.Fatalf("0.0.0.0/0: want an incremental netlink write (%+v -> %+v)", before, after)
	}
	if err := whole.ApplyText(ctx, rs.Text()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(canonicalOf(t, whole), canonicalOf(t, k)); d != "" {
		t.Fatalf("0.0.0.0/0: (-whole +applied):\n%s", d)
	}
}

func canonicalOf(t *testing.T, k *Kernel) string {
	t.Helper()
	text, err := k.Show(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return Canonical(text)
}
