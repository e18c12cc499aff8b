package nft

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/render"
)

func diffRuleset(members []string, ruleTo string, extraChain bool) *render.Ruleset {
	set := &render.Set{Name: "sel-a-v4", Type: render.SetIPv4, Interval: true}
	var ps []netip.Prefix
	for _, m := range members {
		ps = append(ps, netip.MustParsePrefix(m))
	}
	set.Addrs = iplist.Of(ps)
	pol := &render.Chain{Name: "pol-a", Rules: []render.Rule{{
		Matches:    []render.Match{render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Set: "sel-a-v4"}},
		Statements: []render.Statement{render.StmtCounter{Name: "cnt-a"}},
		Verdict:    render.Accept,
	}}}
	base := &render.Chain{Name: "filter-input", Base: &render.BaseChain{Type: "filter", Hook: render.HookInput, Policy: "accept"},
		Rules: []render.Rule{{Verdict: render.Jump(ruleTo)}}}
	rs := &render.Ruleset{Table: render.TableName, Family: render.TableFamily,
		Chains:   []*render.Chain{base, pol},
		Sets:     []*render.Set{set},
		Maps:     []*render.Map{{Name: "map-wep-to", Elements: []render.MapElement{{Key: "cali1", Verdict: render.Goto("pol-a")}}}},
		Counters: []*render.Counter{{Name: "cnt-a", Key: render.CounterKey{Kind: render.CountRule, Rule: 0}}}}
	if extraChain {
		rs.Chains = append(rs.Chains, &render.Chain{Name: "pol-b", Rules: []render.Rule{{Verdict: render.Drop}}})
	}
	return rs
}

func TestDiff(t *testing.T) {
	a := diffRuleset([]string{"198.18.0.1/32", "198.18.1.0/24"}, "pol-a", false)
	for _, tc := range []struct {
		name string
		to   *render.Ruleset
		full bool
		want []string
	}{
		{"nothing", diffRuleset([]string{"198.18.0.1/32", "198.18.1.0/24"}, "pol-a", false), false, nil},
		{"members", diffRuleset([]string{"198.18.1.0/24", "198.18.2.0/24"}, "pol-a", false), false, []string{
			"flush set inet palisade sel-a-v4",
			"table inet palisade {",
			"\tset sel-a-v4 {",
			"\t\ttype ipv4_addr",
			"\t\tflags interval",
			"\t\telements = {",
			"\t\t\t198.18.1.0/24,",
			"\t\t\t198.18.2.0/24",
			"\t\t}",
			"\t}",
			"}",
		}},
		{"new chain, changed rule", diffRuleset([]string{"198.18.0.1/32", "198.18.1.0/24"}, "pol-b", true), false, []string{
			"table inet palisade {", // what is new comes first, a transaction of its own
			"\tchain pol-b {",
			"\t\tdrop",
			"\t}",
			"}",
			"flush chain inet palisade filter-input",
			"add rule inet palisade filter-input jump pol-b",
		}},
	} {
		script, full := Diff(a, tc.to)
		if full != tc.full {
			t.Errorf("%s: full = %v", tc.name, full)
			continue
		}
		var got []string
		for _, l := range strings.Split(script, "\n") {
			if l != "" {
				got = append(got, l)
			}
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	// Going back drops the chain after flushing it.
	script, full := Diff(diffRuleset(nil, "pol-b", true), diffRuleset(nil, "pol-a", false))
	if full || !strings.Contains(script, "flush chain inet palisade pol-b\n") || !strings.HasSuffix(script, "delete chain inet palisade pol-b\n") {
		t.Errorf("removing pol-b:\n%s", script)
	}
	// A base chain's hook cannot change in place.
	b := diffRuleset(nil, "pol-a", false)
	b.Chains[0].Base = &render.BaseChain{Type: "filter", Hook: render.HookForward, Policy: "accept"}
	if _, full := Diff(a, b); !full {
		t.Error("a changed hook did not ask for a full replace")
	}
	if _, full := Diff(nil, a); !full {
		t.Error("no earlier ruleset did not ask for a full replace")
	}
}

// TestMatch: pairing by name gives the same pairs, additions and
// removals whether the lists are sorted (walked in step) or not (indexed).
func TestMatch(t *testing.T) {
	type res struct{ Both, Added, Gone []string }
	run := func(old, new []string) res {
		var r res
		gone, _ := match(old, new, func(s string) string { return s },
			func(o, n string) bool { r.Both = append(r.Both, o+"="+n); return false },
			func(n string) bool { r.Added = append(r.Added, n); return false })
		r.Gone = gone
		return r
	}
	for _, tc := range []struct {
		name     string
		old, new []string
		want     res
	}{
		{"empty", nil, nil, res{}},
		{"all new", nil, []string{"a", "b"}, res{Added: []string{"a", "b"}}},
		{"all gone", []string{"a", "b"}, nil, res{Gone: []string{"a", "b"}}},
		{"mixed", []string{"a", "c", "d", "f"}, []string{"b", "c", "e", "f", "g"},
			res{Both: []string{"c=c", "f=f"}, Added: []string{"b", "e", "g"}, Gone: []string{"a", "d"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, run(tc.old, tc.new)); d != "" {
				t.Errorf("sorted: (-want +got):\n%s", d)
			}
			// Reversed (unsorted) lists: the same pairs, in the lists' order.
			rev := func(xs []string) []string { out := slices.Clone(xs); slices.Reverse(out); return out }
			got := run(rev(tc.old), rev(tc.new))
			want := res{Both: rev(tc.want.Both), Added: rev(tc.want.Added), Gone: rev(tc.want.Gone)}
			if len(tc.old) < 2 && len(tc.new) < 2 {
				return // one element is sorted either way
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("unsorted: (-want +got):\n%s", d)
			}
		})
	}
	var stopped []string
	_, stop := match([]string{"a", "b"}, []string{"a", "b"}, func(s string) string { return s },
		func(o, _ string) bool { stopped = append(stopped, o); return o == "a" }, func(string) bool { return false })
	if !stop || len(stopped) != 1 {
		t.Errorf("a callback's stop was not honoured: %v %v", stop, stopped)
	}
}
