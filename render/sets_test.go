package render

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"go4.org/netipx"

	"github.com/palisade-net/palisade/internal/iplist"
)

// mergePrefixes must equal the netipx merge, fast path or not.
func TestMergePrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 2000; i++ {
		var in []netip.Prefix
		for j := 0; j < r.IntN(6); j++ {
			if r.IntN(3) == 0 {
				a := netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(r.IntN(8))})
				in = append(in, netip.PrefixFrom(a, 124+r.IntN(5)).Masked())
				continue
			}
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(16))})
			in = append(in, netip.PrefixFrom(a, 28+r.IntN(5)).Masked())
		}
		sortPrefixes(in)
		for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
			var sb netipx.IPSetBuilder
			for _, p := range in {
				if familyOf(p) == fam {
					sb.AddPrefix(p)
				}
			}
			set, _ := sb.IPSet()
			want := set.Prefixes()
			before := slices.Clone(in)
			got := mergePrefixes(in, fam)
			if !slices.Equal(in, before) {
				t.Fatalf("mergePrefixes modified its input: %v, was %v", in, before)
			}
			if len(want) == 0 && len(got) == 0 {
				continue
			}
			// Its output is canonical, so merging it again returns it
			// itself (no copy), as mergePrefixes does for canonical input.
			if !canonicalPrefixes(got, fam) {
				t.Fatalf("%v family %d: output %v is not canonical", in, fam, got)
			}
			if again := mergePrefixes(got, fam); &again[0] != &got[0] || len(again) != len(got) {
				t.Fatalf("%v family %d: canonical %v copied", in, fam, got)
			}
			run := familyRun(in, fam) // in is sorted: the family is one run
			shared := len(got) == len(run) && &got[0] == &run[0]
			if canonicalPrefixes(run, fam) != shared {
				t.Fatalf("%v family %d: canonical input %v, shared %v", in, fam, canonicalPrefixes(run, fam), shared)
			}
			if !reflect.DeepEqual(coverOf(got), coverOf(want)) {
				t.Fatalf("%v family %d: got %v, want %v", in, fam, got, want)
			}
		}
	}
}

// mergeList (a selector's members) equals mergePrefixes of the same
// prefixes, and keeps a merged family as it is.
func TestMergeList(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 2000; i++ {
		var in []netip.Prefix
		for j := 0; j < r.IntN(8); j++ {
			if r.IntN(3) == 0 {
				in = append(in, netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 15: byte(r.IntN(8))}), 125+r.IntN(4)))
				continue
			}
			in = append(in, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(r.IntN(16))}), 29+r.IntN(4)))
		}
		if r.IntN(2) == 0 {
			sortPrefixes(in)
		}
		for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
			got := mergeList(iplist.Of(in), fam).Prefixes()
			if want := mergePrefixes(in, fam); !slices.Equal(got, want) {
				t.Fatalf("%v family %d: mergeList %v, mergePrefixes %v", in, fam, got, want)
			}
		}
	}
}

func sortPrefixes(ps []netip.Prefix) {
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			a, b := ps[i], ps[j]
			if c := a.Addr().Compare(b.Addr()); c > 0 || c == 0 && a.Bits() > b.Bits() {
				ps[i], ps[j] = b, a
			}
		}
	}
}

// coverOf is the canonical form of the addresses a list covers.
func coverOf(ps []netip.Prefix) []netip.Prefix {
	var sb netipx.IPSetBuilder
	for _, p := range ps {
		sb.AddPrefix(p)
	}
	s, _ := sb.IPSet()
	return s.Prefixes()
}
