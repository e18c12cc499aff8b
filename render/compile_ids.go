package render

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Identities of remote addresses. An atom is an address predicate some
// compiled rule uses: membership of a selector set, of a rule's nets, or
// of the addresses with one named port. An identity is the family and the
// atoms an address satisfies; every address has exactly one. The address
// maps ids-v4 and ids-v6 cover each family's whole space, so a compiled
// chain's lookup always leaves an identity in the mark.

// atom is one address predicate.
type atom struct {
	key    string // what identifies it across compiles
	name   string // for comments: the set, the nets, the named port
	ranges []AddrRange
}

// identity is one combination of atoms and a family.
type identity struct {
	id      uint32 // 1.., the mark holds id<<MarkIDShift
	family  Family
	members []int // atom indices, ascending
}

// mark is the identity's mark bits.
func (i *identity) mark() uint32 { return i.id << MarkIDShift }

// idTable is the atoms, the identities and the address maps' elements.
type idTable struct {
	atoms  []atom
	byKey  map[string]int
	list   []*identity
	byBits map[string]*identity
	elems  map[Family][]MapElement
	// target is the address maps' verdict for an identity: jump to its
	// identity chain, or for a local table goto a section's variant.
	target func(*identity) Verdict
	// alloc numbers the identities (nil: in order of appearance).
	alloc *idAlloc
	full  bool // more identities than the mark holds
}

// idAlloc keeps identity numbers stable from one compile to the next:
// an identity (its family and atoms) keeps its number while it exists, so
// a change that adds or moves addresses leaves the other identities'
// elements alone. Numbers no longer used are given out again.
type idAlloc struct {
	byKey map[string]uint32
	used  map[uint32]bool // in the current compile
	taken map[uint32]string
}

func newIDAlloc() *idAlloc {
	return &idAlloc{byKey: map[string]uint32{}, used: map[uint32]bool{}, taken: map[uint32]string{}}
}

// begin starts a compile.
func (a *idAlloc) begin() { a.used = map[uint32]bool{} }

// get returns key's number: its old one, or the lowest free one.
func (a *idAlloc) get(key string) uint32 {
	if id, ok := a.byKey[key]; ok {
		a.used[id] = true
		return id
	}
	var id uint32 = 1
	for ; ; id++ {
		if _, ok := a.taken[id]; !ok {
			break
		}
	}
	a.byKey[key], a.taken[id], a.used[id] = id, key, true
	return id
}

// end releases the numbers the compile did not use.
func (a *idAlloc) end() {
	for id, key := range a.taken {
		if !a.used[id] {
			delete(a.taken, id)
			delete(a.byKey, key)
		}
	}
}

func newIDTable() *idTable {
	return &idTable{byKey: map[string]int{}, byBits: map[string]*identity{}, elems: map[Family][]MapElement{},
		target: func(id *identity) Verdict { return Jump(idChain(id)) }}
}

// atomFor returns the index of the atom with key, adding it (with the
// ranges ranges() gives) on first use.
func (t *idTable) atomFor(key, name string, ranges func() []AddrRange) int {
	if i, ok := t.byKey[key]; ok {
		return i
	}
	t.atoms = append(t.atoms, atom{key: key, name: name, ranges: ranges()})
	t.byKey[key] = len(t.atoms) - 1
	return len(t.atoms) - 1
}

func prefixRanges(ps []netip.Prefix) []AddrRange {
	out := make([]AddrRange, 0, len(ps))
	for _, p := range ps {
		p = p.Masked()
		out = append(out, AddrRange{Lo: p.Addr(), Hi: LastAddr(p)})
	}
	return out
}

type addrEvent struct {
	at    netip.Addr
	atom  int
	delta int32
}

// build partitions both families' address spaces; false when there are
// more identities than the mark can hold.
func (t *idTable) build() bool {
	for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
		t.sweep(fam)
		if t.full {
			return false
		}
	}
	sort.Slice(t.list, func(i, j int) bool { return t.list[i].id < t.list[j].id })
	return true
}

func familyBounds(fam Family) (netip.Addr, netip.Addr) {
	if fam == FamilyIPv4 {
		return netip.IPv4Unspecified(), netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	var b [16]byte
	for i := range b {
		b[i] = 0xff
	}
	return netip.IPv6Unspecified(), netip.AddrFrom16(b)
}

// sweep walks one family's address space from boundary to boundary,
// giving each stretch the identity of the atoms active over it.
func (t *idTable) sweep(fam Family) {
	var evs []addrEvent
	for i, a := range t.atoms {
		for _, r := range a.ranges {
			if r.Lo.Is4() != (fam == FamilyIPv4) {
				continue
			}
			evs = append(evs, addrEvent{at: r.Lo, atom: i, delta: 1})
			if n := r.Hi.Next(); n.IsValid() {
				evs = append(evs, addrEvent{at: n, atom: i, delta: -1})
			}
		}
	}
	slices.SortFunc(evs, func(a, b addrEvent) int { return a.at.Compare(b.at) })
	counts := make([]int32, len(t.atoms))
	bits := make([]byte, (len(t.atoms)+7)/8)
	cur, last := familyBounds(fam)
	for i := 0; i < len(evs); {
		at := evs[i].at
		if at != cur {
			t.emit(fam, bits, cur, at.Prev())
			cur = at
		}
		for ; i < len(evs) && evs[i].at == at; i++ {
			e := evs[i]
			before := counts[e.atom] > 0
			counts[e.atom] += e.delta
			if after := counts[e.atom] > 0; after != before {
				bits[e.atom/8] ^= 1 << (e.atom % 8)
			}
		}
	}
	t.emit(fam, bits, cur, last)
}

// emit gives lo-hi the identity of bits, joining it to the previous
// stretch when that has the same identity.
func (t *idTable) emit(fam Family, bits []byte, lo, hi netip.Addr) {
	key := string(rune('0'+fam)) + string(bits)
	id, ok := t.byBits[key]
	if !ok {
		id = &identity{id: uint32(len(t.list) + 1), family: fam}
		names := []string{string(rune('0' + fam))}
		for i := range t.atoms {
			if bits[i/8]&(1<<(i%8)) != 0 {
				id.members = append(id.members, i)
				names = append(names, t.atoms[i].key)
			}
		}
		if t.alloc != nil {
			id.id = t.alloc.get(strings.Join(names, "\x00"))
		}
		t.full = t.full || id.id > uint32(MaxIdentities)
		t.byBits[key] = id
		t.list = append(t.list, id)
	}
	es, v := t.elems[fam], t.target(id)
	if n := len(es); n > 0 && es[n-1].Verdict == v && es[n-1].Addrs.Hi.Next() == lo {
		es[n-1].Addrs.Hi = hi
		return
	}
	t.elems[fam] = append(es, MapElement{Addrs: AddrRange{Lo: lo, Hi: hi}, Verdict: v})
}

func idChain(id *identity) string { return fmt.Sprintf("id-%d", id.id) }

// chain is the identity's chain: it puts the identity in the mark.
func (t *idTable) chain(id *identity) *Chain {
	var names []string
	for _, m := range id.members {
		names = append(names, t.atoms[m].name)
	}
	fam := "IPv4"
	if id.family == FamilyIPv6 {
		fam = "IPv6"
	}
	what := "in nothing a compiled rule names"
	if len(names) > 0 {
		what = "in " + strings.Join(names, ", ")
	}
	return &Chain{Name: idChain(id), Comment: fmt.Sprintf("identity %d: %s addresses %s", id.id, fam, what),
		Rules: []Rule{{Statements: []Statement{StmtMark{Clear: MarkIDMask, Set: id.mark()}}}}}
}

// Names of the address maps.
const (
	mapIDsV4 = "ids-v4"
	mapIDsV6 = "ids-v6"
)

// maps are the address maps.
func (t *idTable) maps() []*Map {
	return []*Map{
		{Name: mapIDsV4, Kind: MapIPv4, Comment: "IPv4 address -> identity", Elements: t.elems[FamilyIPv4]},
		{Name: mapIDsV6, Kind: MapIPv6, Comment: "IPv6 address -> identity", Elements: t.elems[FamilyIPv6]},
	}
}
