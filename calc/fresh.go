package calc

// Matching new selectors late (the engine's owners index). A selector new
// to a lazy index is put on its anchor's lists at once, so an item that
// changes meanwhile is matched against it as usual (rematchItem), but the
// walk of its anchor's items waits until the index is next read
// (matchFresh). The selectors waiting then are matched grouped by anchor:
// an item is loaded once for all the selectors anchored where it is.
// A cold start whose pods come before their policies (W2: 600 selectors
// `ns == X && env in {...}` on 100 namespaces) walked each namespace's
// pods once per selector.

// freshKey names the candidates of s's current anchor: selectors with the
// same key share their walk.
func freshKey(s *selRec) string {
	if s.cur < 0 {
		return "" // the scan set: every item
	}
	a := &s.cands[s.cur]
	k := string(rune('0'+a.kind)) + a.key
	for _, v := range a.values {
		k += "\x00" + v
	}
	return k
}

// matchFresh matches the selectors waiting to be (see above) against
// their anchors' items; readers of a lazy index call it first.
func (li *LabelIndex) matchFresh() {
	if len(li.fresh) == 0 {
		return
	}
	groups := map[string][]*selRec{}
	var order []string
	for _, s := range li.fresh {
		if !s.fresh {
			continue // deleted, or matched in full since
		}
		s.fresh = false
		k := freshKey(s)
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	clear(li.fresh)
	li.fresh = li.fresh[:0]
	for _, k := range order {
		li.matchGroup(groups[k])
	}
}

// matchGroup walks the candidates of selectors sharing an anchor once,
// linking what each matches. Each group is a call of its own: its forms
// settle and its matches are reported before the next group's walk, as
// when each selector was matched on arrival (an agent's first read
// matches hundreds of selectors, millions of pairs).
func (li *LabelIndex) matchGroup(sels []*selRec) {
	li.enter()
	defer li.exit()
	for _, s := range sels {
		if s.items == nil && s.dense == nil && s.cur >= 0 {
			s.items = make([]int32, 0, min(li.cost(&s.cands[s.cur]).items, 1024))
		}
	}
	li.eachCandidate(sels[0], func(it *item) {
		for _, s := range sels {
			if s.sel.Matches(it) && !li.has(s, it) {
				li.link(s, it)
				if s.due && s.dense == nil {
					// Dense already: the items would otherwise hold an
					// entry for each selector of the group until the end
					// of the walk (hundreds share one anchor in an
					// agent's cluster).
					li.toDense(s)
					li.turns++
				}
			}
		}
	})
	for _, s := range sels {
		if s.dense == nil {
			s.items = fitted(s.items)
		}
	}
}
