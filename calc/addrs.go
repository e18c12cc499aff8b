package calc

import "net/netip"

// addrs is an endpoint's addresses in the owners index: a list of
// prefixes, or one IPv4 address held inline. A remote pod's facts hold
// its addresses so (most pods of a cluster have one IPv4 address: 5 bytes
// in the facts, where a slice took 24 and its prefix 32 more).
type addrs struct {
	list []netip.Prefix
	v4   [4]byte
	one  bool // v4 is the only address (list is nil)
}

// addrsOf is a pod's addresses as addrs: inline when it is one IPv4
// address, else a list of one host prefix each.
func addrsOf(ips []netip.Addr) addrs {
	if len(ips) == 1 && ips[0].Is4() {
		return addrs{v4: ips[0].As4(), one: true}
	}
	var list []netip.Prefix
	if len(ips) > 0 {
		list = make([]netip.Prefix, len(ips))
		for i, a := range ips {
			list[i] = netip.PrefixFrom(a, a.BitLen())
		}
	}
	return addrs{list: list}
}

func (a addrs) len() int {
	if a.one {
		return 1
	}
	return len(a.list)
}

// at is the i-th address.
func (a addrs) at(i int) netip.Prefix {
	if a.one {
		return netip.PrefixFrom(netip.AddrFrom4(a.v4), 32)
	}
	return a.list[i]
}

// appendTo appends the addresses to dst.
func (a addrs) appendTo(dst []netip.Prefix) []netip.Prefix {
	if a.one {
		return append(dst, a.at(0))
	}
	return append(dst, a.list...)
}

// all yields the addresses in order.
func (a addrs) all(yield func(netip.Prefix) bool) {
	for i := range a.len() {
		if !yield(a.at(i)) {
			return
		}
	}
}

// equal reports whether a and b hold the same addresses in the same
// order, whatever their forms.
func (a addrs) equal(b addrs) bool {
	if a.one && b.one {
		return a.v4 == b.v4
	}
	if a.len() != b.len() {
		return false
	}
	for i := range a.len() {
		if a.at(i) != b.at(i) {
			return false
		}
	}
	return true
}
