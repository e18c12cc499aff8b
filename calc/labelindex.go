package calc

import (
	"slices"

	"github.com/palisade-net/palisade/selector"
)

// LabelIndex maintains which selectors match which items (endpoints,
// network sets) and reports each change of that relation exactly once, to
// the onMatchStarted and onMatchStopped callbacks given to NewLabelIndex
// (see the package documentation for the indexing scheme). The zero value
// is not usable. A LabelIndex is not safe for concurrent use.
type LabelIndex struct {
	onStart, onStop func(sel, item string)

	items   map[string]*item // by id; nil in a keyless index (see keyless)
	slots   []*item          // every item at its slot number; nil where free (see addSlot)
	free    []int32          // free slot numbers
	sels    map[string]*selRec
	byIdx   []*selRec // selectors by idx; nil slots are free
	freeIdx []int32
	parents map[string]*parent
	keys    map[string]*keyIndex
	scan    []selRef       // selectors without an anchor
	refs    map[string]int // label key -> selectors referring to it
	// Only keys some selector refers to are indexed (an item's keys and
	// labels, the postings): a label no selector reads (a pod's unique
	// name label, say) costs nothing per item. A key that gains its first
	// selector is indexed for every item then (indexKey).

	epoch  uint32 // marks what one rematch found, see item.mark, selRec.mark; nextEpoch
	starts []event
	stops  []event
	busy   bool // inside a mutating call, including its callbacks

	reanchorMin int    // see grew; lowered by tests
	epochLimit  uint32 // where epochs start again; 0: maxEpoch (tests lower it)

	lazy  bool      // new selectors are matched when the index is next read (fresh.go)
	fresh []*selRec // new selectors waiting for that

	denseOK   bool      // selectors may turn dense (dense.go)
	denseMin  int       // fewest matches of a dense selector; 0: defaultDenseMin (tests lower it)
	denseSels []*selRec // the dense selectors
	dueSels   []*selRec // selectors due to turn dense or sparse at the end of the call
	turns     int       // selectors turned dense or sparse, for tests
	heldBuf   []*selRec // scratch for rematchItem
	moves     int       // selectors moved to another anchor, for tests

	packer labelPacker
	keyBuf []string // scratch for relabel
	oldBuf []labelValue
	refBuf []selRef // scratch for reanchor
}

// item is an endpoint or network set.
type item struct {
	id      string
	own     labelSet
	lin     *lineage   // its parents (nil for none)
	labels  []labelRef // indexed effective labels, in no order
	matches []match    // sparse selectors matching the item, in no order (dense ones: dense.go)
	mark    uint32     // = epoch: matched in the current rematch
	was     uint32     // = epoch: matched before the current rematch
	slot    int32      // in LabelIndex.slots, which selectors' lists name
	linPos  int32      // in lin.members
	// ep is the engine's endpoint of an item of its owners index (nil in
	// other indexes): members are read through it, not by id (W2 looked
	// 1.36 million ids up to render its sets). The item is 112 bytes.
	ep *endpoint
}

// labelRef is one indexed effective label of an item: the posting of its
// value (which knows the value and the key's index, and so the key) and
// where the item sits in that posting. Postings are few (one per label
// value in use) and shared, so reading a key through them stays in cache.
type labelRef struct {
	p   *posting
	pos int // of the item in p.items
}

// parent is a shared label set that items inherit (a profile).
type parent struct {
	id       string
	labels   map[string]string // a private copy; nil while undefined
	defined  bool
	lineages []*lineage // the lineages holding it, whose members are its children
}

// selRec is a registered selector.
type selRec struct {
	id      string
	idx     int32 // in LabelIndex.byIdx, which match entries name
	sel     *selector.Selector
	keys    []string // label keys the selector refers to
	cands   []anchor // candidate anchors, from the syntax tree
	cur     int      // index of the anchor in use in cands; -1: scan set
	slots   []int    // position in each list attach put the selector in
	items   []int32  // slots of the matched items, in no order (see match); nil when dense
	mark    uint32   // as in item
	was     uint32
	dense   bitset // the matched items' slots, for a dense selector (dense.go); nil for others
	n       int    // matched items of a dense selector
	denseAt int    // in LabelIndex.denseSels; -1 when not dense
	due     bool   // in LabelIndex.dueSels
	fresh   bool   // in LabelIndex.fresh: its anchor's items not walked yet (fresh.go)
}

// match is an entry of item.matches: a selector matching the item (its
// index in LabelIndex.byIdx) and the item's position in the selector's
// items, 8 bytes (an item of a large cluster matches dozens of selectors).
// A selector's items hold no positions back: an item matches few
// selectors, so finding a selector among them is a short scan.
type match struct {
	sel int32
	pos int32
}

// selRef is an entry of a selector list: the selector and which of its
// slots records the entry's position.
type selRef struct {
	s    *selRec
	slot int
}

// keyIndex indexes one label key.
type keyIndex struct {
	key    string
	values map[string]*posting
	count  int      // items holding the key, whatever the value
	hw     int      // high-water mark of count, see grew
	has    []selRef // selectors anchored on has(key)
}

// posting indexes one (key, value) pair.
type posting struct {
	ki    *keyIndex
	val   string
	items []*item  // items whose effective labels hold the pair, in no order
	sels  []selRef // selectors anchored on the pair
	hw    int      // high-water mark of len(items), see grew
}

type event struct{ sel, item string }

type labelValue struct {
	key, val string
	ok       bool
}

// NewLabelIndex returns an empty index that reports each (selector, item)
// pair that starts matching to onMatchStarted and each that stops matching
// to onMatchStopped (either may be nil). Callbacks run at the end of each
// mutating call, once the index is consistent: they may read it but must
// not modify it (that panics).
func NewLabelIndex(onMatchStarted, onMatchStopped func(selID, itemID string)) *LabelIndex {
	return &LabelIndex{
		onStart: onMatchStarted,
		onStop:  onMatchStopped,
		items:   make(map[string]*item),
		sels:    make(map[string]*selRec),
		parents: make(map[string]*parent),
		keys:    make(map[string]*keyIndex),
		refs:    make(map[string]int),

		reanchorMin: defaultReanchorMin,
	}
}

// UpdateSelector adds selector id or replaces its expression. A nil sel
// deletes it. Replacing a selector with one of the same canonical text does
// nothing.
func (li *LabelIndex) UpdateSelector(id string, sel *selector.Selector) {
	if sel == nil {
		li.DeleteSelector(id)
		return
	}
	li.enter()
	defer li.exit()
	s := li.sels[id]
	isNew := s == nil
	if s != nil {
		if s.sel == sel || s.sel.String() == sel.String() {
			s.sel = sel
			return
		}
		li.detach(s)
		li.unref(s)
	} else {
		s = &selRec{id: id, idx: li.allocIdx(), denseAt: -1}
		li.sels[id] = s
		li.byIdx[s.idx] = s
	}
	s.sel = sel
	s.keys = sel.LabelKeys()
	for _, k := range s.keys {
		if li.refs[k]++; li.refs[k] == 1 {
			li.indexKey(k)
		}
	}
	s.cands = anchorsOf(sel.Root())
	s.cur = -1
	s.cur = li.pickAnchor(s)
	li.attach(s)
	if isNew && li.lazy {
		s.fresh = true // matched when the index is next read (fresh.go)
		li.fresh = append(li.fresh, s)
		return
	}
	s.fresh = false // a changed selector: its matches so far are diffed now
	li.rematchSelector(s)
}

// DeleteSelector removes selector id, reporting the end of all its matches.
func (li *LabelIndex) DeleteSelector(id string) {
	s := li.sels[id]
	if s == nil {
		return
	}
	li.enter()
	defer li.exit()
	s.fresh = false
	li.eachMember(s, func(it *item) { li.unlink(s, it) })
	if s.dense != nil {
		li.dropDense(s)
		s.dense = nil
	}
	li.detach(s)
	li.unref(s)
	delete(li.sels, id)
	li.byIdx[s.idx] = nil
	li.freeIdx = append(li.freeIdx, s.idx)
}

// unref forgets the label keys s refers to.
func (li *LabelIndex) unref(s *selRec) {
	for _, k := range s.keys {
		if li.refs[k]--; li.refs[k] == 0 {
			delete(li.refs, k)
		}
	}
}

// UpdateItem adds item id or replaces its labels and parents. labels is
// copied. parents are parent ids in precedence order (repeats are ignored);
// they need not exist yet.
func (li *LabelIndex) UpdateItem(id string, labels map[string]string, parents ...string) {
	var own labelSet
	if it := li.items[id]; it != nil && it.own.equalMap(labels) {
		own = it.own
	} else {
		own = li.packer.pack(labels)
	}
	li.updateItem(id, own, parents)
}

func (li *LabelIndex) updateItem(id string, labels labelSet, parents []string) {
	li.mustKey()
	it := li.items[id]
	li.setItem(&it, id, labels, parents)
}

// mustKey panics in a keyless index, where an id names no item.
func (li *LabelIndex) mustKey() {
	if li.items == nil {
		panic("calc: an item looked up by id in a keyless LabelIndex")
	}
}

// keyless makes an empty index keep no map of its items by id: whoever
// adds an item holds it and passes it back (setItem, dropItem), and the
// id-keyed methods (UpdateItem, DeleteItem, SelectorsMatching, IsMatch)
// must not be used. The engine's owners index is keyless: its endpoints
// hold their items (a map entry saved for each pod of the cluster).
func (li *LabelIndex) keyless() { li.items = nil }

// setItem adds item id, stored in *at, when *at is nil, or replaces the
// labels and parents of the item *at.
func (li *LabelIndex) setItem(at **item, id string, labels labelSet, parents []string) {
	li.enter()
	defer li.exit()
	it := *at
	if it == nil {
		it = &item{id: id, own: labels}
		*at = it
		if li.items != nil {
			li.items[id] = it
		}
		li.addSlot(it)
		li.setParents(it, parents)
		n := 0
		it.eachLabel(func(k, _ string) {
			if li.refs[k] > 0 {
				n++
			}
		})
		it.labels = make([]labelRef, 0, n)
		it.eachLabel(func(k, v string) { li.addLabel(it, k, v) })
		li.rematchItem(it)
		return
	}
	if li.relabel(it, labels, parents) {
		li.rematchItem(it)
	}
}

// DeleteItem removes item id, reporting the end of all its matches.
func (li *LabelIndex) DeleteItem(id string) {
	li.mustKey()
	it := li.items[id]
	li.dropItem(&it)
}

// dropItem removes the item *at (none when nil), reporting the end of all
// its matches, and sets *at to nil.
func (li *LabelIndex) dropItem(at **item) {
	it := *at
	if it == nil {
		return
	}
	*at = nil
	li.enter()
	defer li.exit()
	for _, m := range it.matches {
		s := li.byIdx[m.sel]
		li.removeItemAt(s, int(m.pos))
		li.stops = append(li.stops, event{sel: s.id, item: it.id})
		li.dueForm(s)
	}
	it.matches = nil
	for _, s := range li.denseSels {
		if s.dense.has(it.slot) {
			li.unlink(s, it)
		}
	}
	for len(it.labels) > 0 {
		li.unindexLabel(it, len(it.labels)-1)
	}
	li.setParents(it, nil)
	if li.items != nil {
		delete(li.items, it.id)
	}
	li.freeSlot(it)
}

// UpdateParent defines parent id or replaces its labels (copied), updating
// the effective labels of all its children.
func (li *LabelIndex) UpdateParent(id string, labels map[string]string) {
	li.enter()
	defer li.exit()
	p := li.parents[id]
	if p == nil {
		p = &parent{id: id}
		li.parents[id] = p
	}
	p.defined = true
	li.setParentLabels(p, cloneLabels(labels))
}

// UpdateParentShared is UpdateParent with labels the caller never changes
// afterwards: the index keeps them without a copy.
func (li *LabelIndex) UpdateParentShared(id string, labels map[string]string) {
	li.enter()
	defer li.exit()
	p := li.parents[id]
	if p == nil {
		p = &parent{id: id}
		li.parents[id] = p
	}
	p.defined = true
	li.setParentLabels(p, labels)
}

// parentDefined reports whether parent id has been defined.
func (li *LabelIndex) parentDefined(id string) bool {
	p := li.parents[id]
	return p != nil && p.defined
}

// hasParent reports whether the index knows parent id: defined, or named
// by an item.
func (li *LabelIndex) hasParent(id string) bool { return li.parents[id] != nil }

// eachChild calls fn for every item that names parent id.
func (li *LabelIndex) eachChild(id string, fn func(*item)) {
	if p := li.parents[id]; p != nil {
		for it := range p.children {
			fn(it)
		}
	}
}

// DeleteParent removes parent id. Children that still name it see it as a
// parent without labels until it is defined again.
func (li *LabelIndex) DeleteParent(id string) {
	p := li.parents[id]
	if p == nil {
		return
	}
	li.enter()
	defer li.exit()
	li.setParentLabels(p, nil)
	p.defined = false
	li.dropParentIfUnused(p)
}

// allocIdx returns a free selector index.
func (li *LabelIndex) allocIdx() int32 {
	if n := len(li.freeIdx); n > 0 {
		i := li.freeIdx[n-1]
		li.freeIdx = li.freeIdx[:n-1]
		return i
	}
	li.byIdx = append(li.byIdx, nil)
	return int32(len(li.byIdx) - 1)
}

// sel returns the selector a match entry names.
func (li *LabelIndex) sel(m match) *selRec { return li.byIdx[m.sel] }

// Matches returns the ids of the items selector selID matches, sorted (a
// fresh slice; O(n log n) in the number of matches).
func (li *LabelIndex) Matches(selID string) []string {
	s := li.sels[selID]
	if s == nil || s.count() == 0 {
		return nil
	}
	out := make([]string, 0, s.count())
	li.eachMember(s, func(it *item) { out = append(out, it.id) })
	slices.Sort(out)
	return out
}

// SelectorsMatching returns the ids of the selectors that match item
// itemID, sorted.
func (li *LabelIndex) SelectorsMatching(itemID string) []string {
	it := li.items[itemID]
	if it == nil {
		return nil
	}
	var out []string
	li.eachSelectorOf(it, func(s *selRec) { out = append(out, s.id) })
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return out
}

// IsMatch reports whether selector selID matches item itemID.
func (li *LabelIndex) IsMatch(selID, itemID string) bool {
	s, it := li.sels[selID], li.items[itemID]
	if s == nil || it == nil {
		return false
	}
	return li.has(s, it)
}

// enter guards against modification from a callback.
func (li *LabelIndex) enter() {
	if li.busy {
		panic("calc: LabelIndex modified from one of its callbacks")
	}
	li.busy = true
}

// exit reports the transitions of the call: starts first, then stops.
func (li *LabelIndex) exit() {
	li.settleForms()
	defer func() {
		li.starts = resetEvents(li.starts)
		li.stops = resetEvents(li.stops)
		li.busy = false
	}()
	if li.onStart != nil {
		for _, e := range li.starts {
			li.onStart(e.sel, e.item)
		}
	}
	if li.onStop != nil {
		for _, e := range li.stops {
			li.onStop(e.sel, e.item)
		}
	}
}

// maxKeptEvents bounds the event buffers kept between calls.
const maxKeptEvents = 4096

func resetEvents(evs []event) []event {
	if cap(evs) > maxKeptEvents {
		return nil
	}
	clear(evs)
	return evs[:0]
}

// cloneLabels copies a caller's label map; empty maps become nil.
func cloneLabels(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m)) // cheaper than maps.Clone for small maps
	for k, v := range m {
		c[k] = v
	}
	return c
}
