package iplist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strings"
)

// List is an immutable list of prefixes: its IPv4 entries first, then its
// IPv6 entries (IPv4-mapped IPv6 addresses among them), each family in
// the order it was given. A sorted list (netip's order, which puts every
// IPv4 address first) keeps its order exactly. The zero List is empty.
// Lists are values that share their storage; nothing modifies it.
type List struct {
	v4   []uint32   // IPv4 addresses, big-endian as numbers
	v6   [][16]byte // IPv6 addresses
	bits []uint8    // each entry's prefix length, v4 entries then v6; nil when every entry is one address
}

// Of returns the list of ps (invalid prefixes are left out). ps is not
// kept.
func Of(ps []netip.Prefix) List {
	n4, n6, single := 0, 0, true
	for _, p := range ps {
		switch {
		case !p.IsValid():
			continue
		case p.Addr().Is4():
			n4++
		default:
			n6++
		}
		single = single && p.IsSingleIP()
	}
	var l List
	if n4 > 0 {
		l.v4 = make([]uint32, 0, n4)
	}
	if n6 > 0 {
		l.v6 = make([][16]byte, 0, n6)
	}
	if !single {
		l.bits = make([]uint8, n4+n6)
	}
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		a := p.Addr()
		if a.Is4() {
			if l.bits != nil {
				l.bits[len(l.v4)] = uint8(p.Bits())
			}
			b := a.As4()
			l.v4 = append(l.v4, binary.BigEndian.Uint32(b[:]))
			continue
		}
		if l.bits != nil {
			l.bits[n4+len(l.v6)] = uint8(p.Bits())
		}
		l.v6 = append(l.v6, a.As16())
	}
	return l
}

// Len is the number of entries.
func (l List) Len() int { return len(l.v4) + len(l.v6) }

// At is the i'th entry, 0 <= i < Len().
func (l List) At(i int) netip.Prefix {
	var a netip.Addr
	if i < len(l.v4) {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], l.v4[i])
		a = netip.AddrFrom4(b)
	} else {
		a = netip.AddrFrom16(l.v6[i-len(l.v4)])
	}
	if l.bits == nil {
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.PrefixFrom(a, int(l.bits[i]))
}

// All yields the entries in order.
func (l List) All() iter.Seq[netip.Prefix] {
	return func(yield func(netip.Prefix) bool) {
		for i := range l.Len() {
			if !yield(l.At(i)) {
				return
			}
		}
	}
}

// Prefixes returns the entries as a new slice.
func (l List) Prefixes() []netip.Prefix {
	if l.Len() == 0 {
		return nil
	}
	out := make([]netip.Prefix, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

// Equal reports whether l and m hold the same entries in the same order.
// (go-cmp uses it to compare values holding lists.)
func (l List) Equal(m List) bool {
	if !slices.Equal(l.v4, m.v4) || !slices.Equal(l.v6, m.v6) {
		return false
	}
	if l.bits == nil || m.bits == nil {
		return l.bits == nil && m.bits == nil
	}
	return slices.Equal(l.bits, m.bits)
}

// Family is the sub-list of the entries of one family (IPv4 when v4),
// sharing l's storage.
func (l List) Family(v4 bool) List {
	var out List
	var bits []uint8
	if v4 {
		out.v4 = l.v4
		if l.bits != nil {
			bits = l.bits[:len(l.v4):len(l.v4)]
		}
	} else {
		out.v6 = l.v6
		if l.bits != nil {
			bits = l.bits[len(l.v4):]
		}
	}
	out.normalise(bits)
	return out
}

// normalise sets the list's lengths to bits, or to nil when every entry
// is one address (so equal lists hold equal fields), and empty slices to
// nil.
func (l *List) normalise(bits []uint8) {
	if len(l.v4) == 0 {
		l.v4 = nil
	}
	if len(l.v6) == 0 {
		l.v6 = nil
	}
	l.bits = nil
	for i, b := range bits {
		if (i < len(l.v4) && b != 32) || (i >= len(l.v4) && b != 128) {
			l.bits = bits
			return
		}
	}
}

// AllSingle reports whether every entry is one address.
func (l List) AllSingle() bool { return l.bits == nil }

// Merged reports whether the list is in the form a set of addresses is
// written in: non-empty, every entry masked, sorted by address then
// length, and none inside the one before it.
func (l List) Merged() bool {
	if l.Len() == 0 {
		return false
	}
	if l.bits == nil { // single addresses: strictly increasing
		for i := 1; i < len(l.v4); i++ {
			if l.v4[i-1] >= l.v4[i] {
				return false
			}
		}
		for i := 1; i < len(l.v6); i++ {
			if slices.Compare(l.v6[i-1][:], l.v6[i][:]) >= 0 {
				return false
			}
		}
		return true
	}
	last := l.At(0)
	if last != last.Masked() {
		return false
	}
	for i := 1; i < l.Len(); i++ {
		p := l.At(i)
		if p != p.Masked() {
			return false
		}
		switch c := last.Addr().Compare(p.Addr()); {
		case c > 0, c == 0 && last.Bits() >= p.Bits():
			return false
		}
		if last.Addr().Is4() == p.Addr().Is4() && last.Contains(p.Addr()) {
			return false
		}
		last = p
	}
	return true
}

// Contains reports whether an entry contains a.
func (l List) Contains(a netip.Addr) bool {
	for p := range l.All() {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String is the entries as "[p1 p2 ...]", as fmt prints a slice.
func (l List) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range l.Len() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l.At(i).String())
	}
	b.WriteByte(']')
	return b.String()
}

// The binary form (gob uses it to save an applied ruleset): a format
// byte, the counts of IPv4 and IPv6 entries as uvarints, the addresses,
// then, when some entry is not one address, every entry's length.
const formatV1 = 1

// MarshalBinary encodes the list.
func (l List) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, 1+2*binary.MaxVarintLen64+4*len(l.v4)+16*len(l.v6)+len(l.bits))
	out = append(out, formatV1)
	out = binary.AppendUvarint(out, uint64(len(l.v4)))
	out = binary.AppendUvarint(out, uint64(len(l.v6)))
	for _, a := range l.v4 {
		out = binary.BigEndian.AppendUint32(out, a)
	}
	for _, a := range l.v6 {
		out = append(out, a[:]...)
	}
	return append(out, l.bits...), nil
}

// ErrFormat is returned for data MarshalBinary did not write.
var ErrFormat = errors.New("iplist: not an encoded address list")

// UnmarshalBinary decodes what MarshalBinary wrote into l.
func (l *List) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != formatV1 {
		return fmt.Errorf("%w: unknown format", ErrFormat)
	}
	rest := data[1:]
	n4, k := binary.Uvarint(rest)
	if k <= 0 {
		return fmt.Errorf("%w: IPv4 count", ErrFormat)
	}
	rest = rest[k:]
	n6, k := binary.Uvarint(rest)
	if k <= 0 {
		return fmt.Errorf("%w: IPv6 count", ErrFormat)
	}
	rest = rest[k:]
	if n4 > uint64(len(rest))/4 || n6 > uint64(len(rest))/16 || 4*n4+16*n6 > uint64(len(rest)) {
		return fmt.Errorf("%w: %d IPv4 and %d IPv6 addresses in %d bytes", ErrFormat, n4, n6, len(rest))
	}
	var out List
	if n4 > 0 {
		out.v4 = make([]uint32, n4)
		for i := range out.v4 {
			out.v4[i] = binary.BigEndian.Uint32(rest[4*i:])
		}
	}
	rest = rest[4*n4:]
	if n6 > 0 {
		out.v6 = make([][16]byte, n6)
		for i := range out.v6 {
			copy(out.v6[i][:], rest[16*i:])
		}
	}
	rest = rest[16*n6:]
	var bits []uint8
	switch n := n4 + n6; uint64(len(rest)) {
	case 0:
	case n:
		for i, b := range rest {
			if (uint64(i) < n4 && b > 32) || b > 128 {
				return fmt.Errorf("%w: prefix length %d", ErrFormat, b)
			}
		}
		bits = slices.Clone(rest)
	default:
		return fmt.Errorf("%w: %d lengths for %d entries", ErrFormat, len(rest), n)
	}
	out.normalise(bits)
	*l = out
	return nil
}
