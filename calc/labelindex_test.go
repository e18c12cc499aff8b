package calc

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/selector"
)

// L builds a label map from "k=v" strings.
func L(kvs ...string) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

type tItem struct {
	id      string
	labels  map[string]string
	parents []string
}

// world is one static state: parents, items and selectors.
type world struct {
	parents map[string]map[string]string
	items   []tItem
	sels    map[string]string
}

// Shared fixture for the table: two namespaces as parents, pods under them.
var tableWorld = world{
	parents: map[string]map[string]string{
		"ns-a":   L("pcns.name=a", "env=prod", "team=red"),
		"ns-b":   L("pcns.name=b", "env=dev"),
		"sa-web": L("pcsa.name=web", "team=blue", "env=sa"),
	},
	items: []tItem{
		{id: "p1", labels: L("app=web", "tier=fe"), parents: []string{"ns-a"}},
		{id: "p2", labels: L("app=web", "tier=be", "env=staging"), parents: []string{"ns-a"}},
		{id: "p3", labels: L("app=db"), parents: []string{"ns-b", "ns-a"}},
		{id: "p4", labels: L("app=web"), parents: []string{"sa-web", "ns-a"}},
		{id: "p5", labels: L("app=cache"), parents: []string{"ns-gone"}},
		{id: "p6", labels: L("app=web", "tier=fe"), parents: []string{"ns-b", "ns-b"}},
		{id: "h1", labels: L("role=host")},
		{id: "n1"},
	},
}

func TestLabelIndexTable(t *testing.T) {
	cases := []struct {
		name, sel string
		want      []string
	}{
		{"eq", `app == "web"`, []string{"p1", "p2", "p4", "p6"}},
		{"eq no match", `app == "none"`, nil},
		{"in", `app in {"db", "cache"}`, []string{"p3", "p5"}},
		{"empty in", `app in {}`, nil},
		{"has", `has(tier)`, []string{"p1", "p2", "p6"}},
		{"and", `app == "web" && tier == "fe"`, []string{"p1", "p6"}},
		{"nested and", `(app == "web" && (has(tier) && tier != "be"))`, []string{"p1", "p6"}},
		{"and with empty in", `has(app) && app in {}`, nil},
		{"inherited eq", `env == "prod"`, []string{"p1"}},
		{"own overrides parent", `env == "staging"`, []string{"p2"}},
		{"earlier parent wins", `env == "dev"`, []string{"p3", "p6"}},
		{"earlier parent wins over later", `team == "blue"`, []string{"p4"}},
		{"earlier parent's value", `env == "sa"`, []string{"p4"}},
		{"later parent fills gaps", `has(pcns.name) && team == "red"`, []string{"p1", "p2", "p3"}},
		{"undefined parent is empty", `app == "cache" && !has(env)`, []string{"p5"}},
		{"all", `all()`, []string{"h1", "n1", "p1", "p2", "p3", "p4", "p5", "p6"}},
		{"empty selector", ``, []string{"h1", "n1", "p1", "p2", "p3", "p4", "p5", "p6"}},
		{"global", `global()`, []string{"h1", "n1", "p1", "p2", "p3", "p4", "p5", "p6"}},
		{"not has", `!has(app)`, []string{"h1", "n1"}},
		{"ne", `env != "prod"`, []string{"h1", "n1", "p2", "p3", "p4", "p5", "p6"}},
		{"not in", `app not in {"web"}`, []string{"h1", "n1", "p3", "p5"}},
		{"or", `app == "db" || role == "host"`, []string{"h1", "p3"}},
		{"and of or", `has(app) && (tier == "be" || env == "dev")`, []string{"p2", "p3", "p6"}},
		{"negated and", `!(app == "web" && has(tier))`, []string{"h1", "n1", "p3", "p4", "p5"}},
		{"contains", `pcns.name contains "a"`, []string{"p1", "p2", "p4"}},
		{"starts and ends", `app starts with "c" || app ends with "b"`, []string{"p3", "p5", "p6", "p1", "p2", "p4"}},
		{"has from parent", `has(pcsa.name)`, []string{"p4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tableWorld
			w.sels = map[string]string{"s": tc.sel}
			want := slices.Clone(tc.want)
			slices.Sort(want)
			for _, order := range []string{"parents-items-sels", "sels-items-parents", "items-sels-parents"} {
				li, r := newIndex(t)
				w.load(t, li, order)
				checkInvariants(t, li)
				if got := li.Matches("s"); !slices.Equal(got, want) {
					t.Errorf("%s: Matches = %v, want %v", order, got, want)
				}
				if got := len(r.live); got != len(want) {
					t.Errorf("%s: %d live matches from callbacks, want %d", order, got, len(want))
				}
			}
		})
	}
}

// load applies w in the given order of kinds.
func (w world) load(t testing.TB, li *LabelIndex, order string) {
	for _, kind := range strings.Split(order, "-") {
		switch kind {
		case "parents":
			for _, id := range sortedKeys(w.parents) {
				li.UpdateParent(id, w.parents[id])
			}
		case "items":
			for _, it := range w.items {
				li.UpdateItem(it.id, it.labels, it.parents...)
			}
		case "sels":
			for _, id := range sortedKeys(w.sels) {
				li.UpdateSelector(id, selector.MustParse(w.sels[id]))
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestAnchors checks which conjuncts become anchors.
func TestAnchors(t *testing.T) {
	cases := []struct {
		sel  string
		want []string
	}{
		{`a == "x"`, []string{`==a[x]`}},
		{`a == "x" && b in {"z", "y"} && has(c)`, []string{`==a[x]`, `in b[y z]`, `has c[]`}},
		{`(a == "x" && (has(c) && d != "e"))`, []string{`==a[x]`, `has c[]`}},
		{`a in {}`, nil},
		{`!has(a)`, nil},
		{`a == "x" || b == "y"`, nil},
		{`!(a == "x" && b == "y")`, nil},
		{`all() && a not in {"x"}`, nil},
		{``, nil},
	}
	for _, tc := range cases {
		var got []string
		for _, a := range anchorsOf(selector.MustParse(tc.sel).Root()) {
			got = append(got, []string{"==", "in ", "has "}[a.kind]+a.key+"["+strings.Join(a.values, " ")+"]")
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("anchorsOf(%s) = %q, want %q", tc.sel, got, tc.want)
		}
	}
}

// step is one operation of a scripted scenario with the transitions it must
// report.
type step struct {
	do     func(li *LabelIndex)
	starts string // "sel/item ..." sorted
	stops  string
}

func TestCallbacksFireOncePerTransition(t *testing.T) {
	sel := func(id, s string) func(*LabelIndex) {
		return func(li *LabelIndex) { li.UpdateSelector(id, selector.MustParse(s)) }
	}
	itm := func(id string, labels map[string]string, parents ...string) func(*LabelIndex) {
		return func(li *LabelIndex) { li.UpdateItem(id, labels, parents...) }
	}
	par := func(id string, labels map[string]string) func(*LabelIndex) {
		return func(li *LabelIndex) { li.UpdateParent(id, labels) }
	}
	steps := []step{
		{do: sel("web", `app == "web"`)},
		{do: sel("prod", `env == "prod"`)},
		{do: itm("p1", L("app=web"), "ns"), starts: "web/p1"},
		{do: itm("p1", L("app=web"), "ns")},                              // no change
		{do: par("ns", L("env=prod")), starts: "prod/p1"},                // inherited
		{do: par("ns", L("env=prod", "x=y"))},                            // irrelevant key
		{do: itm("p2", L("app=db", "env=dev"), "ns"), starts: ""},        // own overrides
		{do: itm("p2", L("app=web", "env=dev"), "ns"), starts: "web/p2"}, // label flip
		{do: itm("p2", L("app=web"), "ns"), starts: "prod/p2"},           // own label removed
		{do: par("ns", L("env=dev")), stops: "prod/p1 prod/p2"},
		{do: sel("dev", `env == "dev" && app == "web"`), starts: "dev/p1 dev/p2"},
		{do: sel("dev", `(env == "dev" && app == "web")`)}, // same canonical text
		{do: sel("dev", `app == "web" && env == "dev"`)},   // same meaning
		{do: sel("dev", `env == "dev" && !has(q)`), starts: ""},
		{do: itm("p1", L("app=web", "q=1"), "ns"), stops: "dev/p1"},
		{do: func(li *LabelIndex) { li.DeleteParent("ns") }, stops: "dev/p2"},
		{do: par("ns", L("env=prod")), starts: "prod/p1 prod/p2"},
		{do: itm("p1", L("app=db", "q=1"), "other", "ns"), stops: "web/p1"},
		{do: par("other", L("env=dev")), starts: "", stops: "prod/p1"},
		{do: func(li *LabelIndex) { li.DeleteItem("p2") }, stops: "prod/p2 web/p2"},
		{do: func(li *LabelIndex) { li.DeleteSelector("web") }},
		{do: sel("web", `has(app)`), starts: "web/p1"},
		{do: func(li *LabelIndex) { li.DeleteItem("p1") }, stops: "web/p1"},
		{do: func(li *LabelIndex) { li.DeleteItem("p1") }},
		{do: func(li *LabelIndex) { li.DeleteSelector("none") }},
	}
	li, r := newIndex(t)
	for i, s := range steps {
		s.do(li)
		checkInvariants(t, li)
		starts, stops := r.take()
		if got := pairsText(starts); got != s.starts {
			t.Errorf("step %d: starts %q, want %q", i, got, s.starts)
		}
		if got := pairsText(stops); got != s.stops {
			t.Errorf("step %d: stops %q, want %q", i, got, s.stops)
		}
	}
	if len(li.parents) != 2 || len(li.items) != 0 {
		t.Errorf("left %d parents, %d items; want the 2 defined parents only", len(li.parents), len(li.items))
	}
}

func pairsText(ps []pair) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func TestCallbackOrderAndReads(t *testing.T) {
	var li *LabelIndex
	var log []string
	li = NewLabelIndex(func(sel, item string) {
		if !li.IsMatch(sel, item) {
			t.Errorf("start %s/%s reported before the index holds it", sel, item)
		}
		log = append(log, "start "+sel)
	}, func(sel, item string) {
		if li.IsMatch(sel, item) {
			t.Errorf("stop %s/%s reported while the index still holds it", sel, item)
		}
		log = append(log, "stop "+sel)
	})
	li.UpdateSelector("a", selector.MustParse(`x == "1"`))
	li.UpdateSelector("b", selector.MustParse(`x == "2"`))
	li.UpdateItem("i", L("x=1"))
	li.UpdateItem("i", L("x=2"))
	want := []string{"start a", "start b", "stop a"}
	if !slices.Equal(log, want) {
		t.Errorf("callbacks %q, want %q", log, want)
	}
}

func TestModifyFromCallbackPanics(t *testing.T) {
	var li *LabelIndex
	li = NewLabelIndex(func(sel, item string) { li.DeleteItem(item) }, nil)
	li.UpdateSelector("s", selector.MustParse(`all()`))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("modifying the index from a callback did not panic")
			}
		}()
		li.UpdateItem("i", nil)
	}()
	// The index stays usable after the panic.
	li.onStart = nil
	li.UpdateItem("j", nil)
	if got := li.Matches("s"); !slices.Equal(got, []string{"i", "j"}) {
		t.Errorf("after recovering: Matches = %v", got)
	}
}

func TestCallerMapsAreCopied(t *testing.T) {
	li, _ := newIndex(t)
	labels, plabels := L("app=web"), L("env=prod")
	li.UpdateParent("ns", plabels)
	li.UpdateItem("i", labels, "ns")
	li.UpdateSelector("s", selector.MustParse(`app == "web" && env == "prod"`))
	labels["app"], plabels["env"] = "db", "dev"
	if got := li.Matches("s"); !slices.Equal(got, []string{"i"}) {
		t.Errorf("caller's later map edits leaked into the index: Matches = %v", got)
	}
	checkInvariants(t, li)
}

func TestNilSelectorDeletes(t *testing.T) {
	li, r := newIndex(t)
	li.UpdateItem("i", nil)
	li.UpdateSelector("s", selector.MustParse(`all()`))
	li.UpdateSelector("s", nil)
	if len(r.live) != 0 || len(li.sels) != 0 {
		t.Errorf("UpdateSelector(nil) left %d matches, %d selectors", len(r.live), len(li.sels))
	}
}

// TestReanchorOnGrowth: selectors loaded before items start on the first of
// equal anchors and move to the selective one as items arrive.
func TestReanchorOnGrowth(t *testing.T) {
	li, r := newIndex(t)
	for i := range 20 {
		li.UpdateSelector(itoa("s", i), selector.MustParse(`tier == "db" && ns == "`+itoa("ns", i)+`"`))
	}
	for i := range 400 {
		li.UpdateItem(itoa("p", i), L("tier=db", "ns="+itoa("ns", i%20)))
	}
	checkInvariants(t, li)
	if li.moves == 0 {
		t.Fatal("no selector moved off the crowded anchor")
	}
	for _, s := range li.sels {
		if a := s.cands[s.cur]; a.key != "ns" {
			t.Errorf("selector %s anchored on %s, want ns", s.id, a.key)
		}
	}
	if len(r.live) != 400 {
		t.Errorf("%d matches, want 400", len(r.live))
	}
}

// TestReanchorHasOnGrowth: a selector anchored on has(k) while k is rare
// moves to its == conjunct once k becomes common.
func TestReanchorHasOnGrowth(t *testing.T) {
	li, r := newIndex(t)
	for i := range 40 {
		li.UpdateItem(itoa("b", i), L("b=v"))
	}
	li.UpdateSelector("s", selector.MustParse(`has(a) && b == "v"`))
	if s := li.sels["s"]; s.cands[s.cur].kind != anchorHas {
		t.Fatalf("anchored on %+v, want has(a)", s.cands[s.cur])
	}
	for i := range 64 {
		li.UpdateItem(itoa("a", i), L("a=x", "b="+itoa("w", i)))
	}
	li.UpdateItem("both", L("a=x", "b=v"))
	checkInvariants(t, li)
	if s := li.sels["s"]; s.cands[s.cur].key != "b" {
		t.Errorf("anchored on %+v, want b == v", s.cands[s.cur])
	}
	if !slices.Equal(li.Matches("s"), []string{"both"}) || len(r.live) != 1 {
		t.Errorf("Matches = %v", li.Matches("s"))
	}
}

func itoa(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

// TestAllocs: a re-sent item costs nothing; a label flip costs the copy of
// the caller's map (a map header and its group) and nothing else, callbacks
// included.
func TestAllocs(t *testing.T) {
	var n int
	li := NewLabelIndex(func(string, string) { n++ }, func(string, string) { n-- })
	li.UpdateParent("ns", L("env=prod"))
	for i := range 10 {
		li.UpdateItem(itoa("keep", i), L("app="+itoa("a", i%2), "tier=db"), "ns")
		li.UpdateSelector(itoa("s", i), selector.MustParse(`app == "`+itoa("a", i%2)+`" && env == "prod"`))
	}
	both := [2]map[string]string{L("app=a-0", "tier=db"), L("app=a-1", "tier=db")}
	for i := range 4 { // settle slice capacities
		li.UpdateItem("flip", both[i%2], "ns")
	}
	if n := testing.AllocsPerRun(100, func() { li.UpdateItem("flip", both[1], "ns") }); n != 0 {
		t.Errorf("unchanged UpdateItem: %v allocs, want 0", n)
	}
	i := 0
	if a := testing.AllocsPerRun(100, func() {
		li.UpdateItem("flip", both[i%2], "ns")
		i++
	}); a > 2 {
		t.Errorf("label flip: %v allocs, want at most 2", a)
	}
	if n == 0 {
		t.Error("no callbacks ran")
	}
}

// TestItemSlots: walks go over the live items in slot order (the order
// they came, a deleted item's slot going to the next new one); selectors'
// lists name slots; a selector registered after deletions (scanning every
// item, or indexing a key every item holds) matches exactly the live
// items.
func TestItemSlots(t *testing.T) {
	li, _ := newIndex(t)
	li.UpdateSelector("early", selector.MustParse(`k == "v"`))
	for i := range 200 {
		li.UpdateItem(itoa("p", i), L("k=v"))
	}
	for i := range 200 {
		if i%4 != 0 {
			li.DeleteItem(itoa("p", i))
		}
	}
	li.UpdateItem("p-0", L("k=w")) // changed, not re-added: keeps its slot
	li.UpdateItem("late", L("k=v"))
	if got := li.items["late"].slot; got != 199 { // the last slot freed
		t.Fatalf("the new item took slot %d, want 199", got)
	}
	var want []string
	for i := 0; i < 200; i += 4 {
		want = append(want, itoa("p", i))
	}
	want = append(want, "late")
	var got []string
	for _, it := range li.live() {
		got = append(got, it.id)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("live items %v, want %v", got, want)
	}
	li.UpdateSelector("scan", selector.MustParse(`all()`))
	li.UpdateSelector("key", selector.MustParse(`has(k)`))
	checkInvariants(t, li)
	for s, w := range map[string][]string{"scan": want, "key": want, "early": want[1:]} {
		m := li.Matches(s)
		w = slices.Clone(w)
		slices.Sort(m)
		slices.Sort(w)
		if !slices.Equal(m, w) {
			t.Errorf("%s matches %v, want %v", s, m, w)
		}
	}
}

// TestEpochsStartAgain: when the epochs run out every mark is cleared and
// they start again; matches stay right across the restart.
func TestEpochsStartAgain(t *testing.T) {
	li, r := newIndex(t)
	li.epochLimit = 5
	li.UpdateSelector("s", selector.MustParse(`k == "v"`))
	for i := range 30 {
		li.UpdateItem(itoa("p", i%6), L("k="+[]string{"v", "w"}[i%2]))
		checkInvariants(t, li)
	}
	if li.epoch > 5 {
		t.Fatalf("epoch %d beyond the limit", li.epoch)
	}
	want := []string{"p-0", "p-2", "p-4"}
	if got := li.Matches("s"); !slices.Equal(got, want) || len(r.live) != 3 {
		t.Fatalf("Matches %v (%d reported), want %v", got, len(r.live), want)
	}
	// Across restarts an item's mark from before must not pass for one of
	// now: between two selectors' rematches (which mark every item) other
	// items' rematches take 0 to 14 epochs, so some new selector's rematch
	// falls on the epoch of the last one's marks.
	for n := range 15 {
		for i := range n {
			li.UpdateItem("p-1", L("k="+[]string{"v", "w"}[i%2]))
		}
		id := itoa("all", n)
		li.UpdateSelector(id, selector.MustParse(`has(k)`))
		if got := li.Matches(id); len(got) != 6 {
			t.Fatalf("selector %d (epoch %d) matches %v, want the 6 items", n, li.epoch, got)
		}
	}
	checkInvariants(t, li)
}

// TestKeyless: a keyless index holds the items its caller holds (setItem,
// dropItem) and refuses id-keyed calls, where an id names no item.
func TestKeyless(t *testing.T) {
	li := NewLabelIndex(nil, nil)
	li.keyless()
	li.UpdateSelector("s", selector.MustParse("app == 'a'"))
	var it *item
	li.setItem(&it, "x", li.packer.pack(map[string]string{"app": "a"}), []string{"p"})
	if it == nil || !li.has(li.sels["s"], it) {
		t.Fatalf("item %v not held, or not matched", it)
	}
	checkInvariants(t, li)
	li.dropItem(&it)
	if it != nil || len(li.slots)-len(li.free) != 0 {
		t.Fatalf("item %v left, %d live slots", it, len(li.slots)-len(li.free))
	}
	checkInvariants(t, li)
	for name, call := range map[string]func(){
		"UpdateItem": func() { li.UpdateItem("x", nil) },
		"DeleteItem": func() { li.DeleteItem("x") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s on a keyless index did not panic", name)
				}
			}()
			call()
		}()
	}
}
