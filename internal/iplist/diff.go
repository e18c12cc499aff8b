package iplist

import (
	"cmp"
	"net/netip"
	"slices"
)

// Diff returns the entries of old that new lacks, and of new that old
// lacks. Sorted lists (the form rendered sets take) are compared in one
// walk; others through maps.
func Diff(old, new List) (gone, came []netip.Prefix) {
	if old.bits == nil && new.bits == nil && strictlySorted(old) && strictlySorted(new) {
		g4, c4 := mergeDiff(old.v4, new.v4, cmp.Compare[uint32])
		g6, c6 := mergeDiff(old.v6, new.v6, func(a, b [16]byte) int { return slices.Compare(a[:], b[:]) })
		gone = appendAddrs(appendAddrs4(nil, g4), g6)
		came = appendAddrs(appendAddrs4(nil, c4), c6)
		return gone, came
	}
	return mapDiff(old.Prefixes(), new.Prefixes())
}

// strictlySorted reports whether a list of single addresses is sorted
// without repeats.
func strictlySorted(l List) bool {
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

// mergeDiff walks two strictly sorted slices.
func mergeDiff[T any](old, new []T, compare func(a, b T) int) (gone, came []T) {
	i, j := 0, 0
	for i < len(old) && j < len(new) {
		switch c := compare(old[i], new[j]); {
		case c < 0:
			gone = append(gone, old[i])
			i++
		case c > 0:
			came = append(came, new[j])
			j++
		default:
			i++
			j++
		}
	}
	return append(gone, old[i:]...), append(came, new[j:]...)
}

func appendAddrs4(out []netip.Prefix, as []uint32) []netip.Prefix {
	for _, a := range as {
		b := [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(b), 32))
	}
	return out
}

func appendAddrs(out []netip.Prefix, as [][16]byte) []netip.Prefix {
	for _, a := range as {
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(a), 128))
	}
	return out
}

// mapDiff is Diff for lists in any order (an entry repeated is reported
// once).
func mapDiff(old, new []netip.Prefix) (gone, came []netip.Prefix) {
	inOld := make(map[netip.Prefix]bool, len(old))
	for _, x := range old {
		inOld[x] = true
	}
	inNew := make(map[netip.Prefix]bool, len(new))
	for _, x := range new {
		inNew[x] = true
		if !inOld[x] {
			came = append(came, x)
			inOld[x] = true // once only
		}
	}
	for _, x := range old {
		if !inNew[x] {
			gone = append(gone, x)
			inNew[x] = true
		}
	}
	return gone, came
}
