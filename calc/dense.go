package calc

import "math/bits"

// Dense selectors. A selector that matches a large share of the items (a
// namespace selector matching a third of a cluster, say) holds its
// matches as a bitmap over the item slots instead of a list, and the
// items it matches hold no match entry for it: an agent at 250,000 pods
// held 13 million memberships of 215 such selectors at 12 bytes each
// (the selector's 4-byte slot, the item's 8-byte entry); as bitmaps they
// take 31 KB a selector. An item's dense selectors are found by testing
// its bit in each (li.denseSels: a few hundred tests, no memory per
// item). Only an index that allows it (the engine's owners index) makes
// selectors dense: the local index reads an item's policies from its
// match entries. A selector turns dense when it matches more than a 32nd
// of the slots (and at least denseMin items), sparse again below a 128th
// (or half of denseMin); turns happen at the end of the call that made
// them due, between which the selector is in one form throughout.

// bitset is a set of slot numbers.
type bitset []uint64

func (b bitset) has(x int32) bool {
	w := int(x >> 6)
	return w < len(b) && b[w]&(1<<(uint(x)&63)) != 0
}

func (b *bitset) set(x int32) {
	w := int(x >> 6)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	(*b)[w] |= 1 << (uint(x) & 63)
}

func (b bitset) clear(x int32) {
	if w := int(x >> 6); w < len(b) {
		b[w] &^= 1 << (uint(x) & 63)
	}
}

// each calls fn for every slot in b, in order; fn may clear slots.
func (b bitset) each(fn func(x int32)) {
	for w := range b {
		for word := b[w]; word != 0; word &= word - 1 {
			fn(int32(w<<6 + bits.TrailingZeros64(word)))
		}
	}
}

// defaultDenseMin is the fewest matches a dense selector has.
const defaultDenseMin = 4096

func (li *LabelIndex) denseMinimum() int {
	if li.denseMin > 0 {
		return li.denseMin
	}
	return defaultDenseMin
}

// count is the number of items s matches.
func (s *selRec) count() int {
	if s.dense != nil {
		return s.n
	}
	return len(s.items)
}

// has reports whether s matches it.
func (li *LabelIndex) has(s *selRec, it *item) bool {
	if s.dense != nil {
		return s.dense.has(it.slot)
	}
	return it.matchIndex(s) >= 0
}

// eachMember calls fn for every item s matches; fn may unlink the item.
func (li *LabelIndex) eachMember(s *selRec, fn func(it *item)) {
	if s.dense != nil {
		s.dense.each(func(x int32) { fn(li.slots[x]) })
		return
	}
	for i := len(s.items) - 1; i >= 0; i-- {
		if i < len(s.items) {
			fn(li.slots[s.items[i]])
		}
	}
}

// eachSelectorOf calls fn for every selector that matches it.
func (li *LabelIndex) eachSelectorOf(it *item, fn func(s *selRec)) {
	for _, m := range it.matches {
		fn(li.byIdx[m.sel])
	}
	for _, s := range li.denseSels {
		if s.dense.has(it.slot) {
			fn(s)
		}
	}
}

// dueForm notes that s may be due to turn dense or sparse.
func (li *LabelIndex) dueForm(s *selRec) {
	if !li.denseOK || s.due {
		return
	}
	n, min := s.count(), li.denseMinimum()
	if (s.dense == nil && n >= min && n*32 > len(li.slots)) ||
		(s.dense != nil && (n < min/2 || n*128 < len(li.slots))) {
		s.due = true
		li.dueSels = append(li.dueSels, s)
	}
}

// settleForms turns the selectors due to turn (those still registered).
func (li *LabelIndex) settleForms() {
	for _, s := range li.dueSels {
		s.due = false
		if li.byIdx[s.idx] != s {
			continue // deleted since
		}
		n, min := s.count(), li.denseMinimum()
		switch {
		case s.dense == nil && n >= min && n*32 > len(li.slots):
			li.toDense(s)
			li.turns++
		case s.dense != nil && (n < min/2 || n*128 < len(li.slots)):
			li.toSparse(s)
			li.turns++
		}
	}
	clear(li.dueSels)
	li.dueSels = li.dueSels[:0]
}

// toDense moves s's matches from its list and the items' match entries
// to a bitmap.
func (li *LabelIndex) toDense(s *selRec) {
	s.dense = make(bitset, (len(li.slots)+63)/64)
	for _, x := range s.items {
		it := li.slots[x]
		i := it.matchIndex(s)
		last := len(it.matches) - 1
		it.matches[i] = it.matches[last]
		it.matches[last] = match{}
		it.matches = it.matches[:last]
		if cap(it.matches) >= 16 && len(it.matches) < cap(it.matches)/4 {
			// Selectors matched together (fresh.go) may have given the
			// item many entries before turning dense: do not keep the room.
			it.matches = append([]match(nil), it.matches...)
		}
		s.dense.set(x)
	}
	s.n, s.items = len(s.items), nil
	s.denseAt = len(li.denseSels)
	li.denseSels = append(li.denseSels, s)
}

// toSparse moves s's matches from its bitmap to a list and match entries.
func (li *LabelIndex) toSparse(s *selRec) {
	items := make([]int32, 0, s.n)
	s.dense.each(func(x int32) {
		it := li.slots[x]
		it.matches = append(it.matches, match{sel: s.idx, pos: int32(len(items))})
		items = append(items, x)
	})
	s.dense, s.n, s.items = nil, 0, items
	li.dropDense(s)
}

// dropDense takes s off the list of dense selectors.
func (li *LabelIndex) dropDense(s *selRec) {
	last := len(li.denseSels) - 1
	moved := li.denseSels[last]
	li.denseSels[s.denseAt] = moved
	moved.denseAt = s.denseAt
	li.denseSels[last] = nil
	li.denseSels = li.denseSels[:last]
	s.denseAt = -1
}
