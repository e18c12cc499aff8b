package render

import (
	"net/netip"
	"slices"
)

// Regions of the compiled form's packet space: a protocol, and a 16-bit
// value that is the destination port for port protocols (portProtos) and
// type<<8 | code for ICMP and ICMPv6. Other protocols have no second
// value: their ranges stay full.

// ivs is a sorted list of disjoint, non-adjacent inclusive ranges.
type ivs []PortRange

var fullIvs = ivs{{0, 0xffff}}

func (a ivs) and(b ivs) ivs {
	var out ivs
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].Lo, b[j].Lo), min(a[i].Hi, b[j].Hi)
		if lo <= hi {
			out = append(out, PortRange{lo, hi})
		}
		if a[i].Hi < b[j].Hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// not is the complement within 0-65535.
func (a ivs) not() ivs {
	var out ivs
	next := 0
	for _, r := range a {
		if int(r.Lo) > next {
			out = append(out, PortRange{uint16(next), r.Lo - 1})
		}
		next = int(r.Hi) + 1
	}
	if next <= 0xffff {
		out = append(out, PortRange{uint16(next), 0xffff})
	}
	return out
}

func (a ivs) minus(b ivs) ivs { return a.and(b.not()) }

func (a ivs) or(b ivs) ivs { return a.not().and(b.not()).not() }

// normIvs sorts and joins ranges.
func normIvs(rs []PortRange) ivs {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b PortRange) int { return int(a.Lo) - int(b.Lo) })
	var out ivs
	for _, r := range rs {
		if n := len(out); n > 0 && int(r.Lo) <= int(out[n-1].Hi)+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// Protocols with a second value.
var (
	keyPortProtos = []uint8{6, 17, 132, 136} // tcp, udp, sctp, udplite: th dport
	icmpProtos    = []uint8{1, 58}           // icmp, icmpv6: type . code
)

// protoOther stands for every protocol no rule of a section names.
const protoOther = 256

// region maps a protocol (or protoOther) to its values; absent means none.
type region map[int]ivs

func (r region) empty() bool { return len(r) == 0 }

func (r region) clone() region {
	out := make(region, len(r))
	for p, v := range r {
		out[p] = v
	}
	return out
}

// split returns the parts of r inside and outside sel.
func (r region) split(sel region) (in, out region) {
	in, out = region{}, region{}
	for p, v := range r {
		s, ok := sel[p]
		if !ok {
			out[p] = v
			continue
		}
		if a := v.and(s); len(a) > 0 {
			in[p] = a
		}
		if b := v.minus(s); len(b) > 0 {
			out[p] = b
		}
	}
	return in, out
}

// union adds o to r.
func (r region) union(o region) {
	for p, v := range o {
		if w, ok := r[p]; ok {
			r[p] = w.or(v)
		} else {
			r[p] = v
		}
	}
}

// LastAddr is the last address of a prefix.
func LastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func lastAddr(p netip.Prefix) netip.Addr { return LastAddr(p.Masked()) }
