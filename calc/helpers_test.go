package calc

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/selector"
)

// pair is one (selector, item) match.
type pair struct{ sel, item string }

func (p pair) String() string { return p.sel + "/" + p.item }

// recorder collects callbacks and fails the test on a start of a live pair
// or a stop of a dead one, so that each transition is reported exactly once.
type recorder struct {
	t      testing.TB
	live   map[pair]bool
	starts []pair
	stops  []pair
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, live: map[pair]bool{}}
}

// newIndex returns an index wired to a fresh recorder.
func newIndex(t testing.TB) (*LabelIndex, *recorder) {
	r := newRecorder(t)
	return NewLabelIndex(r.start, r.stop), r
}

func (r *recorder) start(sel, item string) {
	p := pair{sel, item}
	if r.live[p] {
		r.t.Errorf("OnMatchStarted(%s) for a live match", p)
	}
	r.live[p] = true
	r.starts = append(r.starts, p)
}

func (r *recorder) stop(sel, item string) {
	p := pair{sel, item}
	if !r.live[p] {
		r.t.Errorf("OnMatchStopped(%s) for a match never started", p)
	}
	delete(r.live, p)
	r.stops = append(r.stops, p)
}

// take returns the transitions since the last take, each sorted.
func (r *recorder) take() (starts, stops []pair) {
	starts, stops = r.starts, r.stops
	r.starts, r.stops = nil, nil
	sortPairs(starts)
	sortPairs(stops)
	return starts, stops
}

func sortPairs(ps []pair) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].sel != ps[j].sel {
			return ps[i].sel < ps[j].sel
		}
		return ps[i].item < ps[j].item
	})
}

func fmtPairs(ps []pair) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// refItem is an item as the reference model sees it.
type refItem struct {
	labels  map[string]string
	parents []string
}

// refModel is the obviously correct reference: it stores what it is told
// and evaluates every selector against every item with selector.Matches.
type refModel struct {
	items   map[string]refItem
	parents map[string]map[string]string // defined parents only
	sels    map[string]*selector.Selector
}

func newRefModel() *refModel {
	return &refModel{items: map[string]refItem{}, parents: map[string]map[string]string{},
		sels: map[string]*selector.Selector{}}
}

// effective returns an item's labels: own over parents, earlier parents
// over later ones.
func (m *refModel) effective(id string) selector.Map {
	it := m.items[id]
	eff := selector.Map{}
	for i := len(it.parents) - 1; i >= 0; i-- {
		for k, v := range m.parents[it.parents[i]] {
			eff[k] = v
		}
	}
	for k, v := range it.labels {
		eff[k] = v
	}
	return eff
}

// matches evaluates everything by brute force.
func (m *refModel) matches() map[pair]bool {
	out := map[pair]bool{}
	for iid := range m.items {
		eff := m.effective(iid)
		for sid, s := range m.sels {
			if s.Matches(eff) {
				out[pair{sid, iid}] = true
			}
		}
	}
	return out
}

// diffPairs returns b minus a and a minus b, sorted.
func diffPairs(a, b map[pair]bool) (added, removed []pair) {
	for p := range b {
		if !a[p] {
			added = append(added, p)
		}
	}
	for p := range a {
		if !b[p] {
			removed = append(removed, p)
		}
	}
	sortPairs(added)
	sortPairs(removed)
	return added, removed
}

// indexPairs reads the whole relation back through the public API and
// checks that Matches, SelectorsMatching and IsMatch agree.
func indexPairs(t testing.TB, li *LabelIndex, m *refModel) map[pair]bool {
	t.Helper()
	out := map[pair]bool{}
	for sid := range m.sels {
		for _, iid := range li.Matches(sid) {
			out[pair{sid, iid}] = true
		}
	}
	n := 0
	for iid := range m.items {
		for _, sid := range li.SelectorsMatching(iid) {
			n++
			if !out[pair{sid, iid}] {
				t.Fatalf("SelectorsMatching(%s) has %s, Matches(%s) lacks %s", iid, sid, sid, iid)
			}
			if !li.IsMatch(sid, iid) {
				t.Fatalf("IsMatch(%s, %s) = false", sid, iid)
			}
		}
	}
	if n != len(out) {
		t.Fatalf("SelectorsMatching reports %d pairs, Matches %d", n, len(out))
	}
	return out
}

// checkInvariants verifies the index's internal structure.
func checkInvariants(t testing.TB, li *LabelIndex) {
	t.Helper()
	if err := invariantError(li); err != nil {
		t.Fatal(err)
	}
}

// checkSlots: every item is at its slot, and the free slots are empty and
// listed once.
func checkSlots(li *LabelIndex) error {
	live := 0
	for i, it := range li.slots {
		if it == nil {
			continue
		}
		live++
		if it.slot != int32(i) || li.items[it.id] != it {
			return fmt.Errorf("slot %d holds item %s (slot %d), not the index's", i, it.id, it.slot)
		}
	}
	free := map[int32]bool{}
	for _, x := range li.free {
		if free[x] || li.slots[x] != nil {
			return fmt.Errorf("free slot %d listed twice or in use", x)
		}
		free[x] = true
	}
	if live != len(li.items) || live+len(free) != len(li.slots) {
		return fmt.Errorf("%d slots: %d items, %d free; the index has %d items", len(li.slots), live, len(free), len(li.items))
	}
	return nil
}

func invariantError(li *LabelIndex) error {
	li.matchFresh()      // a lazy index's waiting selectors are matched before it is read
	if li.items == nil { // keyless: the checks read the items its slots hold
		byID := map[string]*item{}
		for _, it := range li.slots {
			if it != nil && byID[it.id] != nil {
				return fmt.Errorf("two items %s", it.id)
			} else if it != nil {
				byID[it.id] = it
			}
		}
		li.items = byID
		defer func() { li.items = nil }()
	}
	if li.busy || len(li.starts) > 0 || len(li.stops) > 0 {
		return fmt.Errorf("left busy or with pending events")
	}
	if err := checkPostings(li); err != nil {
		return err
	}
	if err := checkSelectorLists(li); err != nil {
		return err
	}
	if err := checkMatchesSymmetric(li); err != nil {
		return err
	}
	if err := checkRefs(li); err != nil {
		return err
	}
	if err := checkSlots(li); err != nil {
		return err
	}
	return checkParents(li)
}

// checkPostings: each item is in exactly the postings of its effective
// labels; counts hold; no empty list is kept.
func checkPostings(li *LabelIndex) error {
	memberships := 0
	for k, ki := range li.keys {
		if len(ki.values) == 0 && len(ki.has) == 0 {
			return fmt.Errorf("empty key index %q kept", k)
		}
		n := 0
		for v, p := range ki.values {
			if len(p.items) == 0 && len(p.sels) == 0 {
				return fmt.Errorf("empty posting %s=%s kept", k, v)
			}
			for _, it := range p.items {
				if li.items[it.id] != it {
					return fmt.Errorf("posting %s=%s holds stale item %s", k, v, it.id)
				}
				if got, ok := it.resolve(k); !ok || got != v {
					return fmt.Errorf("posting %s=%s holds item %s whose value is %q", k, v, it.id, got)
				}
			}
			n += len(p.items)
		}
		if n != ki.count {
			return fmt.Errorf("key %s: count %d, postings hold %d", k, ki.count, n)
		}
		memberships += n
	}
	want := 0
	for _, it := range li.items {
		if err := checkItemLabels(li, it); err != nil {
			return err
		}
		want += len(it.labels)
	}
	if memberships != want {
		return fmt.Errorf("postings hold %d memberships, items have %d labels", memberships, want)
	}
	return nil
}

// checkSelectorLists: each selector sits exactly in the lists of its
// anchor, at the positions its slots record.
func checkSelectorLists(li *LabelIndex) error {
	refs := 0
	check := func(where string, list []selRef) error {
		for i, r := range list {
			if li.sels[r.s.id] != r.s {
				return fmt.Errorf("%s holds stale selector %s", where, r.s.id)
			}
			if r.s.slots[r.slot] != i {
				return fmt.Errorf("%s[%d] = %s, but its slot %d says %d", where, i, r.s.id, r.slot, r.s.slots[r.slot])
			}
		}
		refs += len(list)
		return nil
	}
	if err := check("scan", li.scan); err != nil {
		return err
	}
	for k, ki := range li.keys {
		if err := check("has("+k+")", ki.has); err != nil {
			return err
		}
		for v, p := range ki.values {
			if err := check(k+"="+v, p.sels); err != nil {
				return err
			}
		}
	}
	want := 0
	for _, s := range li.sels {
		if err := checkAnchored(li, s); err != nil {
			return err
		}
		want += len(s.slots)
	}
	if refs != want {
		return fmt.Errorf("selector lists hold %d entries, selectors record %d", refs, want)
	}
	return nil
}

func checkAnchored(li *LabelIndex, s *selRec) error {
	if s.cur < 0 {
		if len(s.slots) != 1 || li.scan[s.slots[0]].s != s {
			return fmt.Errorf("selector %s not in the scan set", s.id)
		}
		return nil
	}
	a := s.cands[s.cur]
	ki := li.keys[a.key]
	if a.kind == anchorHas {
		if len(s.slots) != 1 || ki == nil || ki.has[s.slots[0]].s != s {
			return fmt.Errorf("selector %s not under has(%s)", s.id, a.key)
		}
		return nil
	}
	if len(s.slots) != len(a.values) {
		return fmt.Errorf("selector %s: %d slots for %d values", s.id, len(s.slots), len(a.values))
	}
	for i, v := range a.values {
		if ki == nil || ki.values[v] == nil || ki.values[v].sels[s.slots[i]].s != s {
			return fmt.Errorf("selector %s not under %s=%s", s.id, a.key, v)
		}
	}
	return nil
}

// checkDense: a dense selector is on the dense list at its place, holds
// no list, counts its bitmap's live items; none is left due to turn.
func checkDense(li *LabelIndex) error {
	if len(li.dueSels) > 0 {
		return fmt.Errorf("%d selectors left due to turn", len(li.dueSels))
	}
	for i, s := range li.denseSels {
		if s.denseAt != i || s.dense == nil || li.sels[s.id] != s {
			return fmt.Errorf("dense list[%d] = %s (at %d)", i, s.id, s.denseAt)
		}
	}
	for _, s := range li.sels {
		if s.dense == nil {
			if s.denseAt != -1 {
				return fmt.Errorf("sparse selector %s on the dense list at %d", s.id, s.denseAt)
			}
			continue
		}
		if s.items != nil || s.denseAt < 0 {
			return fmt.Errorf("dense selector %s holds a list or is off the dense list", s.id)
		}
		n := 0
		var err error
		s.dense.each(func(x int32) {
			n++
			if int(x) >= len(li.slots) || li.slots[x] == nil {
				err = fmt.Errorf("dense selector %s holds free slot %d", s.id, x)
			}
		})
		if err != nil {
			return err
		}
		if n != s.n {
			return fmt.Errorf("dense selector %s counts %d, holds %d", s.id, s.n, n)
		}
	}
	return nil
}

func checkMatchesSymmetric(li *LabelIndex) error {
	if err := checkDense(li); err != nil {
		return err
	}
	n := 0
	for _, s := range li.sels {
		for pos, x := range s.items {
			it := li.slots[x]
			if it == nil {
				return fmt.Errorf("%s matches a free slot %d", s.id, x)
			}
			i := it.matchIndex(s)
			if i < 0 || int(it.matches[i].pos) != pos || li.items[it.id] != it || li.byIdx[s.idx] != s {
				return fmt.Errorf("%s matches %s one way only", s.id, it.id)
			}
			// Twice in s.items would put two entries for s in
			// it.matches, one of which matchIndex does not find.
		}
		n += len(s.items)
	}
	for _, it := range li.items {
		for _, m := range it.matches {
			s := li.sel(m)
			if s == nil {
				return fmt.Errorf("item %s matches a deleted selector (index %d)", it.id, m.sel)
			}
			if s.dense != nil {
				return fmt.Errorf("item %s holds a match entry for dense selector %s", it.id, s.id)
			}
			if int(m.pos) >= len(s.items) || s.items[m.pos] != it.slot || li.sels[s.id] != s {
				return fmt.Errorf("%s matches %s one way only", s.id, it.id)
			}
		}
		n -= len(it.matches)
	}
	if n != 0 {
		return fmt.Errorf("match maps differ in size by %d", n)
	}
	live := 0
	for i, s := range li.byIdx {
		if s != nil && (int(s.idx) != i || li.sels[s.id] != s) {
			return fmt.Errorf("selector index %d holds %s (index %d)", i, s.id, s.idx)
		}
		if s != nil {
			live++
		}
	}
	if live != len(li.sels) || live+len(li.freeIdx) != len(li.byIdx) {
		return fmt.Errorf("selector indexes: %d live, %d free, %d slots, %d selectors", live, len(li.freeIdx), len(li.byIdx), len(li.sels))
	}
	return nil
}

func checkParents(li *LabelIndex) error {
	lineages := map[*lineage]bool{}
	for id, p := range li.parents {
		if p.id != id {
			return fmt.Errorf("parent %s kept as %s", p.id, id)
		}
		if !p.defined && len(p.lineages) == 0 {
			return fmt.Errorf("unused undefined parent %s kept", id)
		}
		if !p.defined && p.labels != nil {
			return fmt.Errorf("undefined parent %s has labels", id)
		}
		for _, l := range p.lineages {
			if !slices.Contains(l.parents, p) {
				return fmt.Errorf("parent %s lists a lineage without it", id)
			}
			lineages[l] = true
		}
	}
	seen := map[string]bool{}
	for l := range lineages {
		if len(l.members) == 0 {
			return fmt.Errorf("empty lineage kept")
		}
		var ids []string
		for i, p := range l.parents {
			if li.parents[p.id] != p || containsParent(l.parents[:i], p.id) || !slices.Contains(p.lineages, l) {
				return fmt.Errorf("lineage %v: bad parent %s", ids, p.id)
			}
			ids = append(ids, p.id)
		}
		if key := strings.Join(ids, "\x00"); seen[key] {
			return fmt.Errorf("two lineages of %v", ids)
		} else {
			seen[key] = true
		}
		for i, it := range l.members {
			if it.lin != l || int(it.linPos) != i || li.items[it.id] != it {
				return fmt.Errorf("lineage %v: member %s at %d names lineage %p at %d", ids, it.id, i, it.lin, it.linPos)
			}
		}
	}
	for _, it := range li.items {
		if it.lin != nil && !lineages[it.lin] {
			return fmt.Errorf("item %s: lineage unknown to its parents", it.id)
		}
	}
	return nil
}

func containsParent(ps []*parent, id string) bool {
	for _, p := range ps {
		if p.id == id {
			return true
		}
	}
	return false
}

func checkRefs(li *LabelIndex) error {
	want := map[string]int{}
	for _, s := range li.sels {
		for _, k := range s.sel.LabelKeys() {
			want[k]++
		}
	}
	if !maps.Equal(want, li.refs) {
		return fmt.Errorf("key references %v, want %v", li.refs, want)
	}
	return nil
}

// checkItemLabels: it records every effective label whose key a selector
// refers to (others may stay recorded from when one did, with their
// current values), and where it sits in each posting.
func checkItemLabels(li *LabelIndex, it *item) error {
	var missing []string
	it.eachLabel(func(k, v string) {
		if got, ok := it.Get(k); li.refs[k] > 0 && (!ok || got != v) {
			missing = append(missing, k+"="+v)
		}
	})
	if len(missing) > 0 {
		return fmt.Errorf("item %s: referenced labels %v not recorded", it.id, missing)
	}
	for i, l := range it.labels {
		k := l.p.ki.key
		v, ok := it.resolve(k)
		ki := li.keys[k]
		if !ok || v != l.p.val || ki == nil || ki != l.p.ki || ki.key != k || ki.values[v] != l.p {
			return fmt.Errorf("item %s: recorded label %s=%s is stale", it.id, k, l.p.val)
		}
		if l.pos >= len(l.p.items) || l.p.items[l.pos] != it {
			return fmt.Errorf("item %s: not in the posting of %s=%s", it.id, k, l.p.val)
		}
		if slices.IndexFunc(it.labels, func(m labelRef) bool { return m.p.ki.key == k }) != i {
			return fmt.Errorf("item %s: key %s recorded twice", it.id, k)
		}
	}
	return nil
}
