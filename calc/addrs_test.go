package calc

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAddrs(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	cases := []struct {
		name   string
		in     []netip.Prefix
		inline bool
	}{
		{"none", nil, false},
		{"one IPv4 address", pfx("198.18.0.7/32"), true},
		{"one IPv6 address", pfx("fd00::7/128"), false},
		{"IPv4 in IPv6", pfx("::ffff:198.18.0.7/128"), false},
		{"dual stack", pfx("198.18.0.7/32", "fd00::7/128"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ips []netip.Addr
			for _, p := range tc.in {
				ips = append(ips, p.Addr())
			}
			a := addrsOf(ips)
			if a.one != tc.inline {
				t.Errorf("inline %v, want %v", a.one, tc.inline)
			}
			if diff := cmp.Diff(tc.in, a.appendTo(nil), cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
				t.Errorf("appendTo (-want +got):\n%s", diff)
			}
			var all []netip.Prefix
			for p := range a.all {
				all = append(all, p)
			}
			if a.len() != len(tc.in) || len(all) != len(tc.in) {
				t.Errorf("len %d, all %d; want %d", a.len(), len(all), len(tc.in))
			}
			if !a.equal(addrs{list: tc.in}) || !(addrs{list: tc.in}).equal(a) {
				t.Errorf("not equal to its list form")
			}
			for _, other := range cases {
				same := cmp.Equal(other.in, tc.in, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }))
				if got := a.equal(addrs{list: other.in}); got != same {
					t.Errorf("equal to %s: %v, want %v", other.name, got, same)
				}
			}
		})
	}
	one := func(s string) addrs { return addrsOf([]netip.Addr{netip.MustParseAddr(s)}) }
	if a, b := one("198.18.0.7"), one("198.18.0.8"); a.equal(b) {
		t.Errorf("%v equal to %v", a.appendTo(nil), b.appendTo(nil))
	}
}
