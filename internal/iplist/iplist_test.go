package iplist

import (
	"bytes"
	"encoding/gob"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// familyOrder is what a List keeps of ps: the valid IPv4 entries, then
// the valid others, each in order.
func familyOrder(ps []netip.Prefix) []netip.Prefix {
	var v4, v6 []netip.Prefix
	for _, p := range ps {
		switch {
		case !p.IsValid():
		case p.Addr().Is4():
			v4 = append(v4, p)
		default:
			v6 = append(v6, p)
		}
	}
	return append(v4, v6...)
}

func TestOf(t *testing.T) {
	tests := []struct {
		name   string
		in     []netip.Prefix
		single bool
		merged bool
	}{
		{"empty", nil, true, false},
		{"one address", pfx("198.18.0.1/32"), true, true},
		{"addresses sorted", pfx("198.18.0.1/32", "198.18.0.2/32", "fd00::1/128"), true, true},
		{"addresses repeated", pfx("198.18.0.1/32", "198.18.0.1/32"), true, false},
		{"v6 given first", pfx("fd00::1/128", "198.18.0.1/32"), true, true},
		{"networks", pfx("198.18.0.0/16", "198.19.0.1/32", "fd00::/64"), false, true},
		{"nested", pfx("198.18.0.0/16", "198.18.0.1/32"), false, false},
		{"unmasked", pfx("198.18.0.1/16"), false, false},
		{"unsorted", pfx("198.19.0.0/16", "198.18.0.0/16"), false, false},
		{"mapped", pfx("::ffff:198.18.0.1/128", "198.18.0.1/32"), true, true},
		{"invalid left out", []netip.Prefix{{}, netip.MustParsePrefix("198.18.0.1/32")}, true, true},
		{"whole space", pfx("0.0.0.0/0", "::/0"), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Of(tc.in)
			want := familyOrder(tc.in)
			if diff := cmp.Diff(want, l.Prefixes(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Fatalf("Prefixes (-want +got):\n%s", diff)
			}
			if l.Len() != len(want) {
				t.Fatalf("Len %d, want %d", l.Len(), len(want))
			}
			if got := slices.Collect(l.All()); !slices.Equal(got, want) {
				t.Fatalf("All %v, want %v", got, want)
			}
			if l.AllSingle() != tc.single {
				t.Fatalf("AllSingle %v, want %v", l.AllSingle(), tc.single)
			}
			if l.Merged() != tc.merged {
				t.Fatalf("Merged %v, want %v", l.Merged(), tc.merged)
			}
			if !l.Equal(Of(want)) || !Of(want).Equal(l) {
				t.Fatalf("%v not equal to the list of %v", l, want)
			}
		})
	}
}

func TestFamily(t *testing.T) {
	l := Of(pfx("198.18.0.1/32", "198.18.1.0/24", "fd00::1/128", "fd00::2/128"))
	v4, v6 := l.Family(true), l.Family(false)
	if got := v4.Prefixes(); !slices.Equal(got, pfx("198.18.0.1/32", "198.18.1.0/24")) {
		t.Fatalf("IPv4 %v", got)
	}
	if got := v6.Prefixes(); !slices.Equal(got, pfx("fd00::1/128", "fd00::2/128")) {
		t.Fatalf("IPv6 %v", got)
	}
	// The IPv6 entries are single addresses: their sub-list says so and
	// equals a list made of them.
	if !v6.AllSingle() || v4.AllSingle() || !v6.Equal(Of(v6.Prefixes())) || !v4.Equal(Of(v4.Prefixes())) {
		t.Fatalf("sub-lists %#v %#v", v4, v6)
	}
	if Of(nil).Family(true).Len() != 0 || !Of(nil).Family(false).Equal(List{}) {
		t.Fatal("empty family not empty")
	}
}

func TestEqual(t *testing.T) {
	a := Of(pfx("198.18.0.1/32", "198.18.0.2/32"))
	for _, b := range []List{
		Of(pfx("198.18.0.1/32")),
		Of(pfx("198.18.0.2/32", "198.18.0.1/32")),
		Of(pfx("198.18.0.1/32", "198.18.0.2/31")),
		Of(pfx("198.18.0.1/32", "198.18.0.2/32", "fd00::1/128")),
	} {
		if a.Equal(b) || b.Equal(a) {
			t.Fatalf("%v equals %v", a, b)
		}
	}
}

func TestContains(t *testing.T) {
	l := Of(pfx("198.18.0.0/24", "198.19.0.7/32", "fd00::/64"))
	for a, want := range map[string]bool{"198.18.0.9": true, "198.19.0.7": true, "198.19.0.8": false,
		"fd00::5": true, "fd01::": false, "::ffff:198.18.0.9": false} {
		if got := l.Contains(netip.MustParseAddr(a)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", a, got, want)
		}
	}
}

// randomPrefixes makes lists with both families, repeats and networks.
func randomPrefixes(r *rand.Rand) []netip.Prefix {
	var ps []netip.Prefix
	for range r.IntN(12) {
		if r.IntN(3) == 0 {
			a := netip.AddrFrom16([16]byte{0xfd, 15: byte(r.IntN(8))})
			ps = append(ps, netip.PrefixFrom(a, 120+r.IntN(9)))
			continue
		}
		a := netip.AddrFrom4([4]byte{198, 18, 0, byte(r.IntN(16))})
		bits := 32
		if r.IntN(4) == 0 {
			bits = 24 + r.IntN(9)
		}
		ps = append(ps, netip.PrefixFrom(a, bits))
	}
	return ps
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for range 2000 {
		ps := randomPrefixes(r)
		l := Of(ps)
		if got, want := l.Prefixes(), familyOrder(ps); !slices.Equal(got, want) {
			t.Fatalf("Of(%v).Prefixes() = %v", ps, got)
		}
		data, err := l.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back List
		if err := back.UnmarshalBinary(data); err != nil {
			t.Fatalf("%v: %v", l, err)
		}
		if !back.Equal(l) {
			t.Fatalf("decoded %v, encoded %v", back, l)
		}
		// Merged agrees with its definition read off the prefixes.
		if got, want := l.Merged(), mergedByDefinition(l.Prefixes()); got != want {
			t.Fatalf("%v: Merged %v, want %v", l, got, want)
		}
	}
}

func mergedByDefinition(ps []netip.Prefix) bool {
	if len(ps) == 0 {
		return false
	}
	for i, p := range ps {
		if p != p.Masked() {
			return false
		}
		if i > 0 {
			q := ps[i-1]
			if c := q.Addr().Compare(p.Addr()); c > 0 || c == 0 && q.Bits() >= p.Bits() {
				return false
			}
			if q.Overlaps(p) {
				return false
			}
		}
	}
	return true
}

// A value holding a List goes through gob (the agent's saved state).
func TestGob(t *testing.T) {
	type holder struct {
		Name  string
		Addrs List
	}
	in := holder{"s", Of(pfx("198.18.0.0/24", "198.18.1.1/32", "fd00::1/128"))}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(in); err != nil {
		t.Fatal(err)
	}
	var out holder
	if err := gob.NewDecoder(&b).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || !out.Addrs.Equal(in.Addrs) {
		t.Fatalf("got %v, want %v", out, in)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good, _ := Of(pfx("198.18.0.0/24", "fd00::1/128")).MarshalBinary()
	for name, data := range map[string][]byte{
		"empty":          nil,
		"format":         {9, 0, 0},
		"no counts":      {formatV1},
		"short":          good[:len(good)-3],
		"long count":     {formatV1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0},
		"length too big": append(slices.Clone(good[:len(good)-2]), 33, 128),
	} {
		var l List
		if err := l.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: %x accepted as %v", name, data, l)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, ps := range [][]netip.Prefix{nil, pfx("198.18.0.1/32"), pfx("198.18.0.0/24", "fd00::/64")} {
		data, _ := Of(ps).MarshalBinary()
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l List
		if err := l.UnmarshalBinary(data); err != nil {
			return
		}
		again, _ := l.MarshalBinary()
		var back List
		if err := back.UnmarshalBinary(again); err != nil || !back.Equal(l) {
			t.Fatalf("%x decoded to %v, which does not round-trip: %v", data, l, err)
		}
		_ = l.Merged()
		_ = l.String()
	})
}

func BenchmarkOf(b *testing.B) {
	ps := make([]netip.Prefix, 100_000)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)
	}
	b.ReportAllocs()
	for b.Loop() {
		Of(ps)
	}
}

// Diff agrees with a map-based difference, sorted or not.
func TestDiff(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	for range 3000 {
		a, b := randomPrefixes(r), randomPrefixes(r)
		if r.IntN(2) == 0 { // sorted single addresses: the walk
			a, b = sortedSingles(a), sortedSingles(b)
		}
		gone, came := Diff(Of(a), Of(b))
		wantGone, wantCame := setMinus(familyOrder(a), familyOrder(b)), setMinus(familyOrder(b), familyOrder(a))
		if !sameSet(gone, wantGone) || !sameSet(came, wantCame) {
			t.Fatalf("Diff(%v, %v) = %v, %v; want %v, %v", a, b, gone, came, wantGone, wantCame)
		}
	}
}

func sortedSingles(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return slices.Compact(out)
}

func setMinus(a, b []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range a {
		if !slices.Contains(b, p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func sameSet(a, b []netip.Prefix) bool {
	for _, p := range a {
		if !slices.Contains(b, p) {
			return false
		}
	}
	for _, p := range b {
		if !slices.Contains(a, p) {
			return false
		}
	}
	return len(a) == len(slices.Compact(slices.Clone(a)))
}
