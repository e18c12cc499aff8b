package calc

import "iter"

// Get implements selector.Labels over the item's effective labels as
// indexed (it.labels): a scan of a few contiguous keys is cheaper than a
// map lookup and touches less memory. Only keys a
// registered selector refers to are indexed; evaluate any other selector
// with resolved (below).
func (it *item) Get(k string) (string, bool) {
	for i := range it.labels {
		if p := it.labels[i].p; p.ki.key == k {
			return p.val, true
		}
	}
	return "", false
}

// resolved is an item's effective labels for a selector the index does
// not know: every key, looked up in its own labels and parents.
type resolved struct{ it *item }

func (r resolved) Get(k string) (string, bool) { return r.it.resolve(k) }

// resolve computes the effective value of key k from the item's own labels
// and its parents', whatever the index says.
func (it *item) resolve(k string) (string, bool) { return it.lookup(k, nil, nil) }

// lookup is resolve as it would be if parent sub had labels subLabels.
func (it *item) lookup(k string, sub *parent, subLabels map[string]string) (string, bool) {
	if v, ok := it.own.Get(k); ok {
		return v, true
	}
	for _, p := range it.parentList() {
		m := p.labels
		if p == sub {
			m = subLabels
		}
		if v, ok := m[k]; ok {
			return v, true
		}
	}
	return "", false
}

// eachLabel calls fn for every effective label of it, once per key.
func (it *item) eachLabel(fn func(k, v string)) {
	it.own.each(fn)
	for i, p := range it.parentList() {
		for k, v := range p.labels {
			if !it.shadowed(k, i) {
				fn(k, v)
			}
		}
	}
}

// shadowed reports whether key k of parent i is hidden by the item's own
// labels or an earlier parent.
func (it *item) shadowed(k string, i int) bool {
	if it.own.has(k) {
		return true
	}
	for _, q := range it.parentList()[:i] {
		if _, ok := q.labels[k]; ok {
			return true
		}
	}
	return false
}

func (it *item) sameParents(ids []string) bool { return sameParentIDs(it.parentList(), ids) }

// relabel gives it new own labels and parents, moves it between postings
// for every key whose effective value changed and reports whether any of
// those keys is referenced by a selector (if none is, no match can change).
func (li *LabelIndex) relabel(it *item, labels labelSet, parentIDs []string) bool {
	keys := changedLabelKeys(li.keyBuf[:0], it.own, labels)
	ownChanged := len(keys) > 0
	sameParents := it.sameParents(parentIDs)
	if !sameParents {
		keys = li.parentKeys(keys, it, labels, parentIDs)
	}
	old := li.oldBuf[:0]
	for _, k := range keys {
		v, ok := it.resolve(k)
		old = append(old, labelValue{key: k, val: v, ok: ok})
	}
	if ownChanged {
		it.own = labels
	}
	if !sameParents {
		li.setParents(it, parentIDs)
	}
	changed := false
	for _, o := range old {
		v, ok := it.resolve(o.key)
		if ok == o.ok && v == o.val {
			continue
		}
		if o.ok {
			li.removeLabel(it, o.key)
		}
		if ok {
			li.addLabel(it, o.key, v)
		}
		changed = changed || li.refs[o.key] > 0
	}
	clear(keys)
	clear(old)
	li.keyBuf, li.oldBuf = keys[:0], old[:0]
	return changed
}

// changedKeys appends to dst the keys whose values differ between a and b.
func changedKeys(dst []string, a, b map[string]string) []string {
	inB := 0 // keys of a that b has
	for k, v := range a {
		w, ok := b[k]
		if ok {
			inB++
		}
		if !ok || w != v {
			dst = append(dst, k)
		}
	}
	if inB == len(b) {
		return dst // b has no key that a lacks
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			dst = append(dst, k)
		}
	}
	return dst
}

// parentKeys appends to keys the keys of it's old and new parents that
// its old and new own labels do not both hide: the keys whose effective
// value a change of parents may change.
func (li *LabelIndex) parentKeys(keys []string, it *item, labels labelSet, parentIDs []string) []string {
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		seen[k] = true
	}
	add := func(m map[string]string) {
		for k := range m {
			if !seen[k] && !it.own.has(k) && !labels.has(k) {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	for _, p := range it.parentList() {
		add(p.labels)
	}
	for _, id := range parentIDs {
		if p := li.parents[id]; p != nil {
			add(p.labels)
		}
	}
	return keys
}

// setParents links it to the parents named by ids (first occurrence wins)
// through their lineage and unlinks it from the others, dropping parents
// left undefined and unused.
func (li *LabelIndex) setParents(it *item, ids []string) {
	if it.lin != nil && sameParentIDs(it.lin.parents, ids) {
		return
	}
	next := li.lineageOf(ids) // before leaving: the parents it shares stay
	li.leave(it)
	if next != nil {
		next.join(it)
	}
}

func (li *LabelIndex) dropParentIfUnused(p *parent) {
	if !p.defined && len(p.lineages) == 0 {
		delete(li.parents, p.id)
	}
}

// setParentLabels replaces p's labels and updates each child whose
// effective labels change as a result.
func (li *LabelIndex) setParentLabels(p *parent, labels map[string]string) {
	old := p.labels
	keys := changedKeys(li.keyBuf[:0], old, labels)
	p.labels = labels
	for ch := range p.children {
		changed := false
		for _, k := range keys {
			ov, ook := ch.lookup(k, p, old)
			nv, nok := ch.resolve(k)
			if ook == nok && ov == nv {
				continue
			}
			if ook {
				li.removeLabel(ch, k)
			}
			if nok {
				li.addLabel(ch, k, nv)
			}
			changed = changed || li.refs[k] > 0
		}
		if changed {
			li.rematchItem(ch)
		}
	}
	clear(keys)
	li.keyBuf = keys[:0]
}

// keyIndex returns the index of key k, creating it.
func (li *LabelIndex) keyIndex(k string) *keyIndex {
	ki := li.keys[k]
	if ki == nil {
		ki = &keyIndex{key: k, values: make(map[string]*posting)}
		li.keys[k] = ki
	}
	return ki
}

// posting returns the posting of value v, creating it.
func (ki *keyIndex) posting(v string) *posting {
	p := ki.values[v]
	if p == nil {
		p = &posting{ki: ki, val: v}
		ki.values[v] = p
	}
	return p
}

// removeItem removes p.items[i] moving the last item into its place and
// fixing that item's recorded position.
func (p *posting) removeItem(i int) {
	last := len(p.items) - 1
	if i != last {
		moved := p.items[last]
		p.items[i] = moved
		for j := range moved.labels {
			if moved.labels[j].p == p {
				moved.labels[j].pos = i
				break
			}
		}
	}
	p.items[last] = nil
	p.items = p.items[:last]
}

func (ki *keyIndex) dropIfEmpty(p *posting) {
	if len(p.items) == 0 && len(p.sels) == 0 {
		delete(ki.values, p.val)
	}
}

func (li *LabelIndex) dropKeyIfEmpty(k string, ki *keyIndex) {
	if len(ki.values) == 0 && len(ki.has) == 0 {
		delete(li.keys, k)
	}
}

// addLabel records that it holds k = v, letting the selectors anchored on
// a list that has just grown past a power of two choose again.
func (li *LabelIndex) addLabel(it *item, k, v string) {
	if li.refs[k] == 0 {
		return // no selector reads k: not indexed (see LabelIndex.refs)
	}
	ki := li.keyIndex(k)
	p := ki.posting(v)
	if len(it.labels) == cap(it.labels) {
		// Grow by one: keys become indexed one at a time as selectors
		// name them (indexKey), and doubling would leave most items with
		// room for labels that never come.
		it.labels = append(make([]labelRef, 0, len(it.labels)+1), it.labels...)
	}
	it.labels = append(it.labels, labelRef{p: p, pos: len(p.items)})
	p.items = append(p.items, it)
	ki.count++
	if grew(&p.hw, len(p.items), li.reanchorMin) && len(p.sels) > 0 {
		li.reanchor(p.sels)
	}
	if grew(&ki.hw, ki.count, li.reanchorMin) && len(ki.has) > 0 {
		li.reanchor(ki.has)
	}
}

// indexKey indexes key k, which a selector now refers to, for every item
// that holds it and does not have it indexed yet.
func (li *LabelIndex) indexKey(k string) {
	// Items may still hold k indexed from when a selector last read it;
	// when none does (the key's index counts no item), skip looking.
	stale := li.keys[k] != nil && li.keys[k].count > 0
	for _, it := range li.live() {
		if stale {
			if _, ok := it.Get(k); ok {
				continue
			}
		}
		if v, ok := it.resolve(k); ok {
			li.addLabel(it, k, v)
		}
	}
}

// removeLabel records that it no longer holds key k.
func (li *LabelIndex) removeLabel(it *item, k string) {
	for i := range it.labels {
		if it.labels[i].p.ki.key == k {
			li.unindexLabel(it, i)
			return
		}
	}
}

// unindexLabel removes it.labels[i] from the index.
func (li *LabelIndex) unindexLabel(it *item, i int) {
	l := it.labels[i]
	last := len(it.labels) - 1
	it.labels[i] = it.labels[last]
	it.labels[last] = labelRef{}
	it.labels = it.labels[:last]
	l.p.removeItem(l.pos)
	ki := l.p.ki
	ki.count--
	ki.dropIfEmpty(l.p)
	li.dropKeyIfEmpty(ki.key, ki)
}

// rematchItem re-evaluates it against every selector it could match (those
// anchored on its labels and the scan set) and reports the differences from
// its recorded matches.
func (li *LabelIndex) rematchItem(it *item) {
	ep := li.nextEpoch()
	for _, m := range it.matches {
		li.byIdx[m.sel].was = ep
	}
	held := li.heldBuf[:0] // the dense selectors matching it (one walk of them)
	for _, s := range li.denseSels {
		if s.dense.has(it.slot) {
			s.was = ep
			held = append(held, s)
		}
	}
	for _, l := range it.labels {
		li.checkItem(it, l.p.sels, ep)
		li.checkItem(it, l.p.ki.has, ep)
	}
	li.checkItem(it, li.scan, ep)
	for i := len(it.matches) - 1; i >= 0; i-- { // unlinkAt moves the last entry to i
		if li.byIdx[it.matches[i].sel].mark != ep {
			li.unlinkAt(it, i)
		}
	}
	for _, s := range held {
		if s.mark != ep {
			li.unlink(s, it)
		}
	}
	clear(held)
	li.heldBuf = held[:0]
}

func (li *LabelIndex) checkItem(it *item, refs []selRef, ep uint32) {
	for _, r := range refs {
		s := r.s
		if !s.sel.Matches(it) {
			continue
		}
		s.mark = ep
		if s.was != ep {
			s.was = ep
			li.link(s, it)
		}
	}
}

// rematchSelector re-evaluates s against every item holding its anchor (all
// items for the scan set) and reports the differences from its recorded
// matches.
func (li *LabelIndex) rematchSelector(s *selRec) {
	ep := li.nextEpoch()
	li.eachMember(s, func(it *item) { it.was = ep })
	check := func(it *item) {
		if !s.sel.Matches(it) {
			return
		}
		it.mark = ep
		if it.was != ep {
			it.was = ep
			li.link(s, it)
		}
	}
	if s.items == nil && s.dense == nil && s.cur >= 0 {
		// Size the list for every candidate matching, within reason.
		s.items = make([]int32, 0, min(li.cost(&s.cands[s.cur]).items, 1024))
	}
	li.eachCandidate(s, check)
	li.eachMember(s, func(it *item) {
		if it.mark != ep {
			li.unlink(s, it)
		}
	})
	s.items = fitted(s.items)
}

// eachCandidate calls fn for every item holding s's current anchor (every
// item for the scan set), once each.
func (li *LabelIndex) eachCandidate(s *selRec, fn func(*item)) {
	switch {
	case s.cur < 0:
		for _, it := range li.live() {
			fn(it)
		}
	case s.cands[s.cur].kind == anchorHas:
		for _, p := range li.keys[s.cands[s.cur].key].values {
			for _, it := range p.items {
				fn(it)
			}
		}
	default:
		a := &s.cands[s.cur]
		ki := li.keys[a.key]
		for _, v := range a.values {
			for _, it := range ki.values[v].items {
				fn(it)
			}
		}
	}
}

// fitted returns items in a slice of their size when the room beyond
// them is more than an eighth: a selector's list is sized for its
// candidates, or grown by appending, and most selectors then keep their
// size (W2's 10,000 selectors kept about 4 MB of room).
func fitted(items []int32) []int32 {
	if n := len(items); cap(items)-n > n/8+4 {
		if n == 0 {
			return nil
		}
		return append(make([]int32, 0, n), items...)
	}
	return items
}

// link records that s matches it.
func (li *LabelIndex) link(s *selRec, it *item) {
	if s.dense != nil {
		s.dense.set(it.slot)
		s.n++
	} else {
		it.matches = append(it.matches, match{sel: s.idx, pos: int32(len(s.items))})
		s.items = append(s.items, it.slot)
	}
	li.starts = append(li.starts, event{sel: s.id, item: it.id})
	li.dueForm(s)
}

// unlink records that s no longer matches it.
func (li *LabelIndex) unlink(s *selRec, it *item) {
	if s.dense != nil {
		s.dense.clear(it.slot)
		s.n--
		li.stops = append(li.stops, event{sel: s.id, item: it.id})
		li.dueForm(s)
		return
	}
	li.unlinkAt(it, it.matchIndex(s))
}

// unlinkAt records that it.matches[i] no longer matches it, moving the
// last entry of it.matches into the freed position.
func (li *LabelIndex) unlinkAt(it *item, i int) {
	s := li.byIdx[it.matches[i].sel]
	li.removeItemAt(s, int(it.matches[i].pos))
	li.dueForm(s)
	last := len(it.matches) - 1
	it.matches[i] = it.matches[last]
	it.matches[last] = match{}
	it.matches = it.matches[:last]
	li.stops = append(li.stops, event{sel: s.id, item: it.id})
}

// removeItemAt removes s.items[pos], moving the last item into its place
// and fixing that item's recorded position.
func (li *LabelIndex) removeItemAt(s *selRec, pos int) {
	last := len(s.items) - 1
	if pos != last {
		moved := li.slots[s.items[last]]
		s.items[pos] = moved.slot
		moved.matches[moved.matchIndex(s)].pos = int32(pos)
	}
	s.items = s.items[:last]
}

// matchIndex is the index of s in it.matches, or -1.
func (it *item) matchIndex(s *selRec) int {
	for i := range it.matches {
		if it.matches[i].sel == s.idx {
			return i
		}
	}
	return -1
}

// Every item has a slot: its number in li.slots, which selectors' lists
// of matched items hold (4 bytes a membership, where a pointer took 8: an
// agent at 250,000 pods holds 13 million memberships). A deleted item's
// slot is given to the next new item. Walks over every item go through
// the slots, not the items map: items made one after another sit near
// each other in memory, and so do their labels, where the map's order
// jumps about the heap (indexing a key for W2's 250,000 items took half
// the time in slot order).

// addSlot gives it a slot.
func (li *LabelIndex) addSlot(it *item) {
	if n := len(li.free); n > 0 {
		it.slot = li.free[n-1]
		li.free = li.free[:n-1]
		li.slots[it.slot] = it
		return
	}
	it.slot = int32(len(li.slots))
	li.slots = append(li.slots, it)
}

// freeSlot takes a deleted item's slot back.
func (li *LabelIndex) freeSlot(it *item) {
	li.slots[it.slot] = nil
	li.free = append(li.free, it.slot)
	it.slot = -1
}

// live yields the items in slot order.
func (li *LabelIndex) live() iter.Seq2[int, *item] {
	return func(yield func(int, *item) bool) {
		for i, it := range li.slots {
			if it != nil && !yield(i, it) {
				return
			}
		}
	}
}

// maxEpoch is where epochs start again (item marks are 32 bits, the item
// 112 bytes).
const maxEpoch = 1<<32 - 2

func (li *LabelIndex) epochMax() uint32 {
	if li.epochLimit != 0 {
		return li.epochLimit
	}
	return maxEpoch
}

// nextEpoch starts a rematch: a new epoch, every mark and was older. When
// the epochs run out, every mark is cleared and they start again.
func (li *LabelIndex) nextEpoch() uint32 {
	if li.epoch >= li.epochMax() {
		for _, it := range li.slots {
			if it != nil {
				it.mark, it.was = 0, 0
			}
		}
		for _, s := range li.byIdx {
			if s != nil {
				s.mark, s.was = 0, 0
			}
		}
		li.epoch = 0
	}
	li.epoch++
	return li.epoch
}
