package nft

import (
	"net/netip"
	"slices"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/render"
)

// A set whose elements changed (the common case: a remote pod comes, goes
// or changes labels, and only the address sets its selectors fill change)
// gets the elements that went deleted and the ones that came added, not
// the whole set written again: a few messages instead of thousands. An
// interval that starts at the zero address or runs to the last one is
// written differently by nft (a table nft loaded holds an interval end at
// the zero address), so a change touching one flushes the set and adds
// all its elements again, in the same transaction.

// changeSetElements turns the set from o's elements into s's.
func (b *nlBatch) changeSetElements(o, s *render.Set) {
	del, add, ok := elementDelta(o, s)
	if !ok {
		b.flushSet(s.Name)
		b.addSetElements(s)
		return
	}
	b.elements(unix.NFT_MSG_DELSETELEM, s.Name, 0, del)
	b.elements(unix.NFT_MSG_NEWSETELEM, s.Name, 0, add)
}

// elementDelta encodes the elements to delete and to add; false when the
// change cannot be written as a delta.
func elementDelta(o, s *render.Set) (del, add []netlink.Attribute, ok bool) {
	if len(o.Ports)+len(s.Ports)+len(o.Protos)+len(s.Protos) > 0 {
		// A list set is named by its content and never changes in
		// place; written whole should it ever.
		return nil, nil, false
	}
	goneP, newP := iplist.Diff(o.Addrs, s.Addrs)
	goneT, newT := diffSlices(o.Tuples, s.Tuples)
	if s.Interval {
		for _, p := range append(goneP[:len(goneP):len(goneP)], newP...) {
			if _, more := next(prefixRange(p).hi); !more || p.Masked().Addr().IsUnspecified() {
				return nil, nil, false
			}
		}
	}
	var err error
	if del, err = setElements(s, slices.Values(goneP), goneT); err != nil {
		return nil, nil, false
	}
	if add, err = setElements(s, slices.Values(newP), newT); err != nil {
		return nil, nil, false
	}
	return del, add, true
}

// diffSlices returns the items of old not in new, and of new not in old.
func diffSlices[T comparable](old, new []T) (gone, came []T) {
	inOld := make(map[T]bool, len(old))
	for _, x := range old {
		inOld[x] = true
	}
	inNew := make(map[T]bool, len(new))
	for _, x := range new {
		inNew[x] = true
		if !inOld[x] {
			came = append(came, x)
		}
	}
	for _, x := range old {
		if !inNew[x] {
			gone = append(gone, x)
		}
	}
	return gone, came
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr { return render.LastAddr(p) }
