package calc

import "github.com/palisade-net/palisade/selector"

// anchorKind is the form of a selector's anchor conjunct.
type anchorKind uint8

const (
	anchorEq  anchorKind = iota // k == v: indexed under (k, v)
	anchorIn                    // k in {v...}: indexed under each (k, v)
	anchorHas                   // has(k): indexed under k
)

// anchor is a conjunct that every item matched by its selector satisfies.
type anchor struct {
	kind   anchorKind
	key    string
	values []string // anchorEq: one value; anchorIn: sorted, unique, non-empty
}

// anchorsOf returns the candidate anchors of a selector: the conjuncts of
// its top-level && (flattening nested && lists) of the forms k == v,
// k in {...} with at least one member, and has(k), in tree order.
func anchorsOf(root *selector.Node) []anchor {
	var out []anchor
	var visit func(n *selector.Node)
	visit = func(n *selector.Node) {
		switch n.Op() {
		case selector.OpAnd:
			for i := range n.NumOperands() {
				visit(n.Operand(i))
			}
		case selector.OpEq:
			out = append(out, anchor{kind: anchorEq, key: n.Key(), values: []string{n.Value()}})
		case selector.OpIn:
			if vs := n.Values(); len(vs) > 0 {
				out = append(out, anchor{kind: anchorIn, key: n.Key(), values: vs})
			}
		case selector.OpHas:
			out = append(out, anchor{kind: anchorHas, key: n.Key()})
		}
	}
	visit(root)
	return out
}

// anchorCost ranks candidate anchors: fewer items first, then fewer
// selectors sharing the lists, then ==, in, has, then fewer values.
type anchorCost struct {
	items, sels int
	kind        anchorKind
	values      int
}

func (c anchorCost) less(d anchorCost) bool {
	if c.items != d.items {
		return c.items < d.items
	}
	if c.sels != d.sels {
		return c.sels < d.sels
	}
	if c.kind != d.kind {
		return c.kind < d.kind
	}
	return c.values < d.values
}

// cost measures anchor a as it stands in the index now.
func (li *LabelIndex) cost(a *anchor) anchorCost {
	c := anchorCost{kind: a.kind, values: len(a.values)}
	ki := li.keys[a.key]
	if ki == nil {
		return c
	}
	if a.kind == anchorHas {
		c.items, c.sels = ki.count, len(ki.has)
		return c
	}
	for _, v := range a.values {
		if p := ki.values[v]; p != nil {
			c.items += len(p.items)
			c.sels += len(p.sels)
		}
	}
	return c
}

// pickAnchor returns the index in s.cands of the cheapest anchor, or -1 if
// s has none. The current anchor is kept unless another is strictly
// cheaper, so selectors do not flap between equal anchors.
func (li *LabelIndex) pickAnchor(s *selRec) int {
	best := s.cur
	var bestCost anchorCost
	if best >= 0 {
		bestCost = li.cost(&s.cands[best])
		bestCost.sels-- // do not count s itself against its current anchor
	}
	for i := range s.cands {
		if i == s.cur {
			continue
		}
		if c := li.cost(&s.cands[i]); best < 0 || c.less(bestCost) {
			best, bestCost = i, c
		}
	}
	return best
}

// defaultReanchorMin is the smallest list size at which growth makes the
// selectors anchored there choose again; below it every choice is cheap
// enough.
const defaultReanchorMin = 32

// grew records n as the high-water mark and reports whether n is a new
// power of two of at least floor. Re-anchoring therefore happens a
// logarithmic number of times per list, however items come and go.
func grew(hw *int, n, floor int) bool {
	if n <= *hw || n < floor || n&(n-1) != 0 {
		return false
	}
	*hw = n
	return true
}

// reanchor lets every selector in refs choose its anchor again. Moving a
// selector changes where it is looked up, never what it matches.
func (li *LabelIndex) reanchor(refs []selRef) {
	moving := append(li.refBuf[:0], refs...) // detach edits refs in place
	for _, r := range moving {
		s := r.s
		if j := li.pickAnchor(s); j != s.cur {
			li.detach(s)
			s.cur = j
			li.attach(s)
			li.moves++
		}
	}
	clear(moving)
	li.refBuf = moving[:0]
}

// attach adds s to the selector lists of its current anchor, or to the scan
// set, recording its position in each list in s.slots.
func (li *LabelIndex) attach(s *selRec) {
	s.slots = s.slots[:0]
	if s.cur < 0 {
		s.slots = append(s.slots, len(li.scan))
		li.scan = append(li.scan, selRef{s: s})
		return
	}
	a := &s.cands[s.cur]
	ki := li.keyIndex(a.key)
	if a.kind == anchorHas {
		s.slots = append(s.slots, len(ki.has))
		ki.has = append(ki.has, selRef{s: s})
		return
	}
	for i, v := range a.values {
		p := ki.posting(v)
		s.slots = append(s.slots, len(p.sels))
		p.sels = append(p.sels, selRef{s: s, slot: i})
	}
}

// detach removes s from the lists attach put it in, dropping lists left
// empty.
func (li *LabelIndex) detach(s *selRec) {
	if s.cur < 0 {
		li.scan = removeRef(li.scan, s.slots[0])
		return
	}
	a := &s.cands[s.cur]
	ki := li.keys[a.key]
	if a.kind == anchorHas {
		ki.has = removeRef(ki.has, s.slots[0])
	} else {
		for i, v := range a.values {
			p := ki.values[v]
			p.sels = removeRef(p.sels, s.slots[i])
			ki.dropIfEmpty(p)
		}
	}
	li.dropKeyIfEmpty(a.key, ki)
}

// removeRef removes list[i] by moving the last element into its place and
// fixing that element's recorded position.
func removeRef(list []selRef, i int) []selRef {
	last := len(list) - 1
	if i != last {
		moved := list[last]
		list[i] = moved
		moved.s.slots[moved.slot] = i
	}
	list[last] = selRef{}
	return list[:last]
}
