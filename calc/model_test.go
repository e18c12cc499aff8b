package calc

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/selector"
)

var (
	flagSeed  = flag.Uint64("calc.seed", 0, "run the model test with this seed only")
	flagSteps = flag.Int("calc.steps", 0, "steps per model-test run (default 1500, 300 with -short)")
)

// universe sizes one random model run.
type universe struct {
	keys, values          int
	items, parents, sels  int
	reanchorMin           int // 0: the default
	denseMin              int // > 0: selectors may turn dense from this many matches (dense.go)
	checkInvariantsEveryN int
	seeds                 int  // run seeds 1..seeds; 0: all
	shove                 bool // move random selectors to random anchors
}

var universes = map[string]universe{
	// Few ids and values: many matches, heavy churn, re-anchoring constantly.
	"small": {keys: 4, values: 3, items: 25, parents: 5, sels: 20, reanchorMin: 2, checkInvariantsEveryN: 1, shove: true},
	// More items than the default re-anchor threshold, so that growth
	// re-anchors selectors as it would in production.
	"grow": {keys: 6, values: 4, items: 200, parents: 8, sels: 40, checkInvariantsEveryN: 25, seeds: 3},
	// Selectors turning dense and sparse again as their matches come and go.
	"dense":      {keys: 4, values: 3, items: 40, parents: 5, sels: 20, reanchorMin: 2, denseMin: 3, checkInvariantsEveryN: 1, shove: true},
	"dense-grow": {keys: 6, values: 4, items: 200, parents: 8, sels: 40, denseMin: 4, checkInvariantsEveryN: 5, seeds: 3},
}

// TestModel applies long seeded random sequences of updates and deletes to
// a LabelIndex and, after every step, compares its matches and the
// transitions it reported with a brute-force evaluation. At the end the
// final state is replayed in other orders into fresh indexes, which must
// agree. Reproduce a failure with -calc.seed=N (and -run TestModel/NAME).
func TestModel(t *testing.T) {
	steps := 1500
	if testing.Short() {
		steps = 300
	}
	if *flagSteps > 0 {
		steps = *flagSteps
	}
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if *flagSeed != 0 {
		seeds = []uint64{*flagSeed}
	}
	for _, name := range sortedKeys(universes) {
		u := universes[name]
		for _, seed := range seeds {
			if *flagSeed == 0 && u.seeds > 0 && seed > uint64(u.seeds) {
				continue
			}
			t.Run(fmt.Sprintf("%s/seed=%d", name, seed), func(t *testing.T) {
				t.Parallel()
				runModel(t, u, seed, steps)
			})
		}
	}
}

// modelRun is one random run: the index under test, its recorder, the
// reference and the generator.
type modelRun struct {
	t   *testing.T
	u   universe
	r   *rand.Rand
	li  *LabelIndex
	rec *recorder
	ref *refModel
}

func runModel(t *testing.T, u universe, seed uint64, steps int) {
	m := &modelRun{t: t, u: u, r: rand.New(rand.NewPCG(seed, 0xca1c)), ref: newRefModel()}
	m.li, m.rec = newIndex(t)
	if u.denseMin > 0 {
		m.li.denseOK, m.li.denseMin = true, u.denseMin
	}
	if u.reanchorMin > 0 {
		m.li.reanchorMin = u.reanchorMin
	}
	before := map[pair]bool{}
	for step := range steps {
		what := m.randomOp()
		if u.shove && m.r.IntN(4) == 0 {
			what += "; " + m.shove()
		}
		after := m.ref.matches()
		wantStarts, wantStops := diffPairs(before, after)
		starts, stops := m.rec.take()
		if !slices.Equal(starts, wantStarts) || !slices.Equal(stops, wantStops) {
			t.Fatalf("seed %d step %d (%s): reported starts %s stops %s, want starts %s stops %s",
				seed, step, what, fmtPairs(starts), fmtPairs(stops), fmtPairs(wantStarts), fmtPairs(wantStops))
		}
		if got := indexPairs(t, m.li, m.ref); !samePairs(got, after) {
			added, removed := diffPairs(after, got)
			t.Fatalf("seed %d step %d (%s): index has extra %s, lacks %s", seed, step, what, fmtPairs(added), fmtPairs(removed))
		}
		if step%u.checkInvariantsEveryN == 0 {
			if err := invariantError(m.li); err != nil {
				t.Fatalf("seed %d step %d (%s): %v", seed, step, what, err)
			}
		}
		before = after
	}
	checkInvariants(t, m.li)
	t.Logf("%d selectors moved anchors as lists grew, %d turned dense or sparse", m.li.moves, m.li.turns)
	if u.denseMin > 0 && m.li.turns < 2 {
		t.Errorf("selectors turned dense or sparse %d times: the dense form went untested", m.li.turns)
	}
	m.replay(seed, before)
}

// shove moves a random selector to a random one of its anchors or to the
// scan set, whatever they cost: anchors decide where a selector is looked
// up, never what it matches, so the index must stay correct.
func (m *modelRun) shove() string {
	ids := sortedKeys(m.li.sels)
	if len(ids) == 0 {
		return "no shove"
	}
	s := m.li.sels[ids[m.r.IntN(len(ids))]]
	j := m.r.IntN(len(s.cands)+1) - 1
	m.li.detach(s)
	s.cur = j
	m.li.attach(s)
	return fmt.Sprintf("shove %s to anchor %d", s.id, j)
}

func samePairs(a, b map[pair]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for p := range a {
		if !b[p] {
			return false
		}
	}
	return true
}

func (m *modelRun) key() string   { return fmt.Sprintf("k%d", m.r.IntN(m.u.keys)) }
func (m *modelRun) value() string { return fmt.Sprintf("v%d", m.r.IntN(m.u.values)) }

func (m *modelRun) labels() map[string]string {
	l := map[string]string{}
	for range m.r.IntN(m.u.keys + 1) {
		l[m.key()] = m.value()
	}
	if m.r.IntN(3) == 0 { // a key no selector refers to, like pod-template-hash
		l["unused"] = m.value()
	}
	return l
}

// parentIDs returns 0 to 3 parent ids, sometimes repeated, sometimes of
// parents never defined.
func (m *modelRun) parentIDs() []string {
	var ps []string
	for range m.r.IntN(4) {
		ps = append(ps, fmt.Sprintf("par%d", m.r.IntN(m.u.parents)))
	}
	return ps
}

// randomOp applies one random operation to the index and the reference and
// describes it.
func (m *modelRun) randomOp() string {
	item := fmt.Sprintf("it%d", m.r.IntN(m.u.items))
	par := fmt.Sprintf("par%d", m.r.IntN(m.u.parents))
	sel := fmt.Sprintf("sel%d", m.r.IntN(m.u.sels))
	switch n := m.r.IntN(100); {
	case n < 25:
		l, ps := m.labels(), m.parentIDs()
		m.li.UpdateItem(item, l, ps...)
		m.ref.items[item] = refItem{labels: l, parents: ps}
		return fmt.Sprintf("UpdateItem(%s, %v, %v)", item, l, ps)
	case n < 45:
		return m.flipLabel(item)
	case n < 52:
		m.li.DeleteItem(item)
		delete(m.ref.items, item)
		return "DeleteItem(" + item + ")"
	case n < 67:
		text := m.selector(2)
		s := selector.MustParse(text)
		m.li.UpdateSelector(sel, s)
		m.ref.sels[sel] = s
		return fmt.Sprintf("UpdateSelector(%s, %s)", sel, s)
	case n < 72:
		m.li.DeleteSelector(sel)
		delete(m.ref.sels, sel)
		return "DeleteSelector(" + sel + ")"
	case n < 92:
		l := m.labels()
		m.li.UpdateParent(par, l)
		m.ref.parents[par] = l
		return fmt.Sprintf("UpdateParent(%s, %v)", par, l)
	default:
		m.li.DeleteParent(par)
		delete(m.ref.parents, par)
		return "DeleteParent(" + par + ")"
	}
}

// flipLabel changes, adds or removes one label of an existing item, or
// re-sends it unchanged, keeping its parents (the common update).
func (m *modelRun) flipLabel(item string) string {
	old, ok := m.ref.items[item]
	if !ok {
		return "no-op"
	}
	l := cloneLabels(old.labels)
	if l == nil {
		l = map[string]string{}
	}
	k := m.key()
	switch m.r.IntN(4) {
	case 0:
		delete(l, k)
	case 1: // unchanged
	default:
		l[k] = m.value()
	}
	m.li.UpdateItem(item, l, old.parents...)
	m.ref.items[item] = refItem{labels: l, parents: old.parents}
	return fmt.Sprintf("UpdateItem(%s, %v, %v) [flip %s]", item, l, old.parents, k)
}

// selector returns random selector text, mostly conjunctions with anchors
// but every form of the language appears.
func (m *modelRun) selector(depth int) string {
	n := m.r.IntN(10)
	if depth == 0 {
		n = 9
	}
	switch {
	case n < 5:
		terms := make([]string, 1+m.r.IntN(3))
		for i := range terms {
			terms[i] = m.term(depth)
		}
		return strings.Join(terms, " && ")
	case n < 7:
		return "(" + m.selector(depth-1) + ") || (" + m.selector(depth-1) + ")"
	case n < 8:
		return "!(" + m.selector(depth-1) + ")"
	default:
		return m.atom()
	}
}

func (m *modelRun) term(depth int) string {
	if m.r.IntN(5) == 0 {
		return "(" + m.selector(depth-1) + ")"
	}
	return m.atom()
}

func (m *modelRun) atom() string {
	k, v := m.key(), m.value()
	switch m.r.IntN(12) {
	case 0, 1, 2:
		return fmt.Sprintf("%s == '%s'", k, v)
	case 3, 4:
		return fmt.Sprintf("%s in {%s}", k, m.valueSet())
	case 5, 6:
		return fmt.Sprintf("has(%s)", k)
	case 7:
		return fmt.Sprintf("!has(%s)", k)
	case 8:
		return fmt.Sprintf("%s != '%s'", k, v)
	case 9:
		return fmt.Sprintf("%s not in {%s}", k, m.valueSet())
	case 10:
		return fmt.Sprintf("%s %s '%s'", k, []string{"contains", "starts with", "ends with"}[m.r.IntN(3)], v[1:])
	default:
		return []string{"all()", "global()"}[m.r.IntN(2)]
	}
}

func (m *modelRun) valueSet() string {
	vs := make([]string, m.r.IntN(4))
	for i := range vs {
		vs[i] = "'" + m.value() + "'"
	}
	return strings.Join(vs, ", ")
}

// replay loads the final state into fresh indexes in other orders; each
// must report exactly the brute-force matches, through callbacks and reads.
func (m *modelRun) replay(seed uint64, want map[pair]bool) {
	type op struct {
		kind int // 0 parent, 1 item, 2 selector
		id   string
	}
	var ops []op
	for _, id := range sortedKeys(m.ref.parents) {
		ops = append(ops, op{0, id})
	}
	for _, id := range sortedKeys(m.ref.items) {
		ops = append(ops, op{1, id})
	}
	for _, id := range sortedKeys(m.ref.sels) {
		ops = append(ops, op{2, id})
	}
	orders := map[string]func([]op){
		"parents-items-sels": func([]op) {},
		"sels-items-parents": func(o []op) { slices.SortStableFunc(o, func(a, b op) int { return b.kind - a.kind }) },
		"items-sels-parents": func(o []op) { slices.SortStableFunc(o, func(a, b op) int { return (a.kind+2)%3 - (b.kind+2)%3 }) },
		"reversed":           func(o []op) { slices.Reverse(o) },
		"shuffled":           func(o []op) { m.r.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] }) },
	}
	for _, name := range sortedKeys(orders) {
		o := slices.Clone(ops)
		orders[name](o)
		li, rec := newIndex(m.t)
		for _, x := range o {
			switch x.kind {
			case 0:
				li.UpdateParent(x.id, m.ref.parents[x.id])
			case 1:
				li.UpdateItem(x.id, m.ref.items[x.id].labels, m.ref.items[x.id].parents...)
			case 2:
				li.UpdateSelector(x.id, m.ref.sels[x.id])
			}
		}
		checkInvariants(m.t, li)
		if got := indexPairs(m.t, li, m.ref); !samePairs(got, want) || !samePairs(rec.live, want) {
			added, removed := diffPairs(want, got)
			m.t.Fatalf("seed %d: replay %s: extra %s, lacking %s", seed, name, fmtPairs(added), fmtPairs(removed))
		}
	}
}

// FuzzModel runs short model sequences from fuzzed seeds:
// go test ./calc -run '^$' -fuzz FuzzModel.
func FuzzModel(f *testing.F) {
	f.Add(uint64(1))
	f.Fuzz(func(t *testing.T, seed uint64) {
		runModel(t, universes["small"], seed, 200)
	})
}
