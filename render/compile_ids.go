package render

import (
	"fmt"
	"hash/fnv"
	"maps"
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
	members []int  // atom indices, ascending
	key     string // the family and the atoms' keys
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
	// byAtom lists the identities holding each atom (withAtom).
	byAtom [][]*identity
	// owners are the identity of each of elems' elements.
	owners map[Family][]*identity
	// hashed numbers the identities by their keys (number) rather than
	// in order of appearance.
	hashed bool
	// hosts splits the address maps (the remote identity table): the
	// addresses an atom holds one by one (endpoints' addresses) go to
	// hash maps, hostElems and hostOwners, and the interval maps are the
	// partition by the other ranges alone (hostSplit below).
	hosts      bool
	hostElems  map[Family][]MapElement
	hostOwners map[Family][]*identity
}

// The remote identity of an address is looked up in two maps: an interval
// map (ids-v4, ids-v6) partitioned by the atoms' ranges of more than one
// address (network sets, rule nets, the rest of the space), then a hash map
// (ids-host-v4, ids-host-v6) of the single addresses atoms hold (endpoints'
// addresses, /32 and /128 nets), whose element, when there is one, puts
// the address's whole identity in the mark over the first one. An address
// no single-address range holds has the identity of its stretch; one that
// a single-address range holds, the identity of its stretch plus those
// atoms. Why two: endpoints come and go all the time, and a map is
// replaced whole when it changes (version.go): the host map, one element
// per address, is the one they rewrite; the interval map changes only with
// network sets and nets.

// Identity numbers are a function of the set of identities alone, and
// stable as that set changes: an identity's preferred number is the hash
// of its key (its family and atoms) over its family's numbers; identities
// take their numbers in the order of (preferred number, key), each the
// first free one from its preferred number on, wrapping within its
// family's numbers. A change that
// adds or removes an identity moves no other unless they collide, so it
// touches only the elements it is about, and a ruleset compiled from
// scratch numbers identities as the one compiled before a change did.

// Each family has its part of the numbers (IPv4 1..lastIPv4ID, three
// quarters, IPv6 the rest), so that a compiled chain can cover every
// identity of a family its rules do not tell apart with a few ranges
// between those they do.
const lastIPv4ID = uint32(MaxIdentities) / 4 * 3

// familyIDs is the first and last number of fam's identities.
func familyIDs(fam Family) (uint32, uint32) {
	if fam == FamilyIPv6 {
		return lastIPv4ID + 1, uint32(MaxIdentities)
	}
	return 1, lastIPv4ID
}

// preferredID is the number an identity of fam with key takes when it is
// free.
func preferredID(fam Family, key string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	lo, hi := familyIDs(fam)
	return lo + h.Sum32()%(hi-lo+1)
}

// number gives every identity its number; false when a family has more
// identities than its part of the numbers holds.
func (t *idTable) number() bool {
	type pending struct {
		id   *identity
		pref uint32
	}
	ps := make([]pending, len(t.list))
	count := map[Family]uint32{}
	for i, id := range t.list {
		ps[i] = pending{id, preferredID(id.family, id.key)}
		count[id.family]++
	}
	for fam, n := range count {
		if lo, hi := familyIDs(fam); n > hi-lo+1 {
			return false
		}
	}
	slices.SortFunc(ps, func(a, b pending) int {
		if a.pref != b.pref {
			return int(a.pref) - int(b.pref)
		}
		return strings.Compare(a.id.key, b.id.key)
	})
	taken := make(map[uint32]bool, len(ps))
	for _, p := range ps {
		lo, hi := familyIDs(p.id.family)
		n := p.pref
		for taken[n] {
			if n++; n > hi {
				n = lo
			}
		}
		taken[n], p.id.id = true, n
	}
	return true
}

func newIDTable() *idTable {
	return &idTable{byKey: map[string]int{}, byBits: map[string]*identity{}, elems: map[Family][]MapElement{},
		owners: map[Family][]*identity{}, target: func(id *identity) Verdict { return Jump(idChain(id)) },
		hostElems: map[Family][]MapElement{}, hostOwners: map[Family][]*identity{}}
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
	}
	if !t.hashed {
		if len(t.list) > MaxIdentities {
			return false
		}
	} else if !t.number() {
		return false
	}
	for fam, es := range t.elems {
		for i := range es {
			es[i].Verdict = t.target(t.owners[fam][i])
		}
	}
	for fam, es := range t.hostElems {
		for i := range es {
			es[i].Verdict = t.target(t.hostOwners[fam][i])
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
			if r.Lo.Is4() != (fam == FamilyIPv4) || (t.hosts && r.Lo == r.Hi) {
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
	if t.hosts {
		t.hostSplit(fam)
	}
}

// hostSplit gives each address a single-address range holds its element
// of the hash map: the identity of its stretch of the interval map plus
// the atoms that hold it alone.
func (t *idTable) hostSplit(fam Family) {
	singles := map[netip.Addr][]int{}
	for i, a := range t.atoms {
		for _, r := range a.ranges {
			if r.Lo == r.Hi && r.Lo.Is4() == (fam == FamilyIPv4) {
				singles[r.Lo] = append(singles[r.Lo], i)
			}
		}
	}
	addrs := slices.SortedFunc(maps.Keys(singles), netip.Addr.Compare)
	es, owners := t.elems[fam], t.owners[fam]
	bits := make([]byte, (len(t.atoms)+7)/8)
	for _, a := range addrs {
		// The stretch holding a: the last that starts at or before it.
		k, _ := slices.BinarySearchFunc(es, a, func(e MapElement, a netip.Addr) int {
			if e.Addrs.Lo.Compare(a) <= 0 {
				return -1
			}
			return 1
		})
		clear(bits)
		for _, m := range owners[k-1].members {
			bits[m/8] |= 1 << (m % 8)
		}
		for _, m := range singles[a] {
			bits[m/8] |= 1 << (m % 8)
		}
		t.hostElems[fam] = append(t.hostElems[fam], MapElement{Addrs: AddrRange{Lo: a, Hi: a}})
		t.hostOwners[fam] = append(t.hostOwners[fam], t.identityFor(fam, bits))
	}
}

// emit gives lo-hi the identity of bits, joining it to the previous
// stretch when that has the same identity.
func (t *idTable) emit(fam Family, bits []byte, lo, hi netip.Addr) {
	id := t.identityFor(fam, bits)
	es, os := t.elems[fam], t.owners[fam]
	if n := len(es); n > 0 && os[n-1] == id && es[n-1].Addrs.Hi.Next() == lo {
		es[n-1].Addrs.Hi = hi
		return
	}
	t.elems[fam], t.owners[fam] = append(es, MapElement{Addrs: AddrRange{Lo: lo, Hi: hi}}), append(os, id)
}

// identityFor is the identity of the atoms in bits, added on first use.
func (t *idTable) identityFor(fam Family, bits []byte) *identity {
	key := string(rune('0'+fam)) + string(bits)
	if id, ok := t.byBits[key]; ok {
		return id
	}
	id := &identity{id: uint32(len(t.list) + 1), family: fam}
	names := []string{string(rune('0' + fam))}
	for i := range t.atoms {
		if bits[i/8]&(1<<(i%8)) != 0 {
			id.members = append(id.members, i)
			names = append(names, t.atoms[i].key)
		}
	}
	id.key = strings.Join(names, "\x00")
	t.byBits[key] = id
	t.list = append(t.list, id)
	return id
}

// withAtom returns the identities that hold atom a.
func (t *idTable) withAtom(a int) []*identity {
	if t.byAtom == nil {
		t.byAtom = make([][]*identity, len(t.atoms))
		for _, id := range t.list {
			for _, m := range id.members {
				t.byAtom[m] = append(t.byAtom[m], id)
			}
		}
	}
	return t.byAtom[a]
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
	mapIDsV4     = "ids-v4"
	mapIDsV6     = "ids-v6"
	mapIDsHostV4 = "ids-host-v4"
	mapIDsHostV6 = "ids-host-v6"
)

// maps are the address maps.
func (t *idTable) maps() []*Map {
	out := []*Map{
		{Name: mapIDsV4, Kind: MapIPv4, Comment: "IPv4 address -> identity", Elements: t.elems[FamilyIPv4]},
		{Name: mapIDsV6, Kind: MapIPv6, Comment: "IPv6 address -> identity", Elements: t.elems[FamilyIPv6]},
	}
	if t.hosts {
		out = append(out,
			&Map{Name: mapIDsHostV4, Kind: MapIPv4Host, Comment: "IPv4 address held alone -> identity (over ids-v4's)",
				Elements: t.hostElems[FamilyIPv4]},
			&Map{Name: mapIDsHostV6, Kind: MapIPv6Host, Comment: "IPv6 address held alone -> identity (over ids-v6's)",
				Elements: t.hostElems[FamilyIPv6]})
	}
	return out
}
