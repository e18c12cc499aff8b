package calc

import "slices"

// lineage is a list of parents, in precedence order, that items share:
// an item names its parents through one (every pod of a namespace running
// as one service account shares kns.<namespace>, ksa.<namespace>.<account>),
// and a parent finds its children through the lineages that hold it. An
// item costs its lineage one entry of 8 bytes, however many parents it
// has; it held a slice of its parents and an entry in each parent's set.
type lineage struct {
	parents []*parent // unique, in precedence order
	members []*item   // in no order; item.linPos is each one's place
}

// parentList is it's parents in precedence order (nil for none).
func (it *item) parentList() []*parent {
	if it.lin == nil {
		return nil
	}
	return it.lin.parents
}

// children yields every item that names p, once each. The lineages and
// their members must not change while it runs.
func (p *parent) children(yield func(*item) bool) {
	for _, l := range p.lineages {
		for _, it := range l.members {
			if !yield(it) {
				return
			}
		}
	}
}

// sameParentIDs reports whether ps are the parents ids name: the ids in
// order, repeats ignored (the first occurrence wins).
func sameParentIDs(ps []*parent, ids []string) bool {
	i := 0
	for j, id := range ids {
		if slices.Contains(ids[:j], id) {
			continue
		}
		if i >= len(ps) || ps[i].id != id {
			return false
		}
		i++
	}
	return i == len(ps)
}

// lineageOf returns the lineage of the parents ids name (nil for none),
// creating it, and the parents it holds, when no item has it yet.
func (li *LabelIndex) lineageOf(ids []string) *lineage {
	if len(ids) == 0 {
		return nil
	}
	if first := li.parents[ids[0]]; first != nil {
		for _, l := range first.lineages {
			if sameParentIDs(l.parents, ids) {
				return l
			}
		}
	}
	l := &lineage{}
	for j, id := range ids {
		if slices.Contains(ids[:j], id) {
			continue
		}
		p := li.parents[id]
		if p == nil {
			p = &parent{id: id}
			li.parents[id] = p
		}
		l.parents = append(l.parents, p)
		p.lineages = append(p.lineages, l)
	}
	return l
}

// join adds it to l's members.
func (l *lineage) join(it *item) {
	it.lin, it.linPos = l, int32(len(l.members))
	l.members = append(l.members, it)
}

// leave removes it from its lineage, moving the last member into its
// place; a lineage left without members is dropped, with the parents it
// leaves undefined and unused.
func (li *LabelIndex) leave(it *item) {
	l := it.lin
	if l == nil {
		return
	}
	last := len(l.members) - 1
	if i := int(it.linPos); i != last {
		moved := l.members[last]
		l.members[i], moved.linPos = moved, int32(i)
	}
	l.members[last] = nil
	l.members = l.members[:last]
	it.lin, it.linPos = nil, 0
	if len(l.members) > 0 {
		if cap(l.members) > 64 && len(l.members) < cap(l.members)/4 {
			l.members = append([]*item(nil), l.members...)
		}
		return
	}
	for _, p := range l.parents {
		for i, x := range p.lineages {
			if x == l {
				p.lineages = append(p.lineages[:i], p.lineages[i+1:]...)
				break
			}
		}
		li.dropParentIfUnused(p)
	}
}
