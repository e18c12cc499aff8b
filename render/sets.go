package render

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/selector"
)

// Sets for selectors (§8.5) and named ports (§8.4). A set's name is a hash
// of what defines it (the selectors, the port names), so every rule with
// the same selector shares one set per family, and the name stays the same
// while the members change.

func selString(s *selector.Selector) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// selectorSet returns the address set of a side's selectors in a family:
// the positive selector with the notSelector folded in, or, for a lone
// notSelector, what the notSelector matches (the rule negates the lookup).
func (b *builder) selectorSet(s *policy.Side, fam Family) string {
	key := "sel|" + selString(s.Selector) + "|" + selString(s.NotSelector)
	name := "sel-" + shortHash(key) + famSuffix(fam)
	if _, ok := b.sets[name]; ok {
		return name
	}
	members, ok := b.members[key]
	if !ok {
		members = b.src.SelectorMembers(s.Selector, s.NotSelector)
		b.members[key] = members
	}
	comment := "selector " + selString(s.Selector)
	if s.NotSelector != nil {
		if s.Selector == nil {
			comment = "notSelector " + selString(s.NotSelector)
		} else {
			comment += " notSelector " + selString(s.NotSelector)
		}
	}
	// A set of single addresses (a selector that matches endpoints, not
	// network sets) is a hash set, looked up in constant time.
	addrs := mergeList(members, fam)
	b.sets[name] = &Set{Name: name, Type: addrSetType(fam), Interval: !addrs.AllSingle(), Comment: comment, Addrs: addrs}
	return name
}

// addrSetType is the type of an address set of the family.
func addrSetType(fam Family) SetType {
	if fam == FamilyIPv6 {
		return SetIPv6
	}
	return SetIPv4
}

// namedPortSet returns the address . protocol . port set a side's named
// ports resolve to in a family: the endpoints that match the side's
// positive selector (any endpoint without one) and have a port of one of
// the names.
func (b *builder) namedPortSet(s *policy.Side, names []string, fam Family) string {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	key := "np|" + selString(s.Selector) + "|" + strings.Join(sorted, ",")
	name := "np-" + shortHash(key) + famSuffix(fam)
	if _, ok := b.sets[name]; ok {
		return name
	}
	typ := SetIPv4ProtoPort
	if fam == FamilyIPv6 {
		typ = SetIPv6ProtoPort
	}
	set := &Set{Name: name, Type: typ, Comment: "named ports " + strings.Join(sorted, ",") + " selector " + selString(s.Selector)}
	seen := map[Tuple]bool{}
	for _, m := range b.src.NamedPortMembers(s.Selector, names) {
		if m.Addr.Is4() != (fam == FamilyIPv4) {
			continue
		}
		t := Tuple{Addr: m.Addr, Proto: m.Proto, Port: m.Port}
		if !seen[t] {
			seen[t] = true
			set.Tuples = append(set.Tuples, t)
		}
	}
	sort.Slice(set.Tuples, func(i, j int) bool { return tupleLess(set.Tuples[i], set.Tuples[j]) })
	b.sets[name] = set
	return name
}

// mergePrefixes keeps the prefixes of one family, masked and sorted, and
// drops every prefix inside another (two CIDR prefixes either nest or are
// disjoint), so an interval set gets no overlapping elements. Adjacent
// prefixes stay apart: an element per member keeps updates small. in is
// never modified; when the family's prefixes are already so (one run,
// masked, sorted, no prefix inside another, as a selector's members
// usually are) that run of in is returned rather than a copy: the rendered
// sets then share the source's slices, which neither side modifies.
func mergePrefixes(in []netip.Prefix, fam Family) []netip.Prefix {
	if run := familyRun(in, fam); canonicalPrefixes(run, fam) {
		return run
	}
	ps := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if fam == FamilyAny || familyOf(p) == fam {
			ps = append(ps, p.Masked())
		}
	}
	if len(ps) == 0 {
		return nil
	}
	sort.Slice(ps, func(i, j int) bool {
		if c := ps[i].Addr().Compare(ps[j].Addr()); c != 0 {
			return c < 0
		}
		return ps[i].Bits() < ps[j].Bits()
	})
	out := ps[:1]
	for _, p := range ps[1:] {
		last := out[len(out)-1]
		if last.Addr().Is4() == p.Addr().Is4() && last.Contains(p.Addr()) {
			continue // inside last (a wider or equal prefix sorts first)
		}
		out = append(out, p)
	}
	return out
}

// mergeList is mergePrefixes for a selector's members: the family's
// entries when they are already merged (as a selector's members usually
// are), sharing the members' storage, else a merged copy.
func mergeList(in iplist.List, fam Family) iplist.List {
	run := in
	if fam != FamilyAny {
		run = in.Family(fam == FamilyIPv4)
	}
	if run.Merged() {
		return run
	}
	return iplist.Of(mergePrefixes(run.Prefixes(), fam))
}

// familyRun returns the prefixes of in of family fam when they are one
// contiguous run (as sorting puts them), else nil.
func familyRun(in []netip.Prefix, fam Family) []netip.Prefix {
	if fam == FamilyAny {
		return in[:len(in):len(in)]
	}
	lo := 0
	for lo < len(in) && familyOf(in[lo]) != fam {
		lo++
	}
	hi := lo
	for hi < len(in) && familyOf(in[hi]) == fam {
		hi++
	}
	for _, p := range in[hi:] {
		if familyOf(p) == fam {
			return nil
		}
	}
	return in[lo:hi:hi]
}

// canonicalPrefixes reports whether mergePrefixes would return in as it
// is: non-empty, every prefix of the family and masked, sorted by address
// then length, none inside the one before.
func canonicalPrefixes(in []netip.Prefix, fam Family) bool {
	if len(in) == 0 {
		return false
	}
	for i, p := range in {
		if fam != FamilyAny && familyOf(p) != fam || p != p.Masked() {
			return false
		}
		if i == 0 {
			continue
		}
		last := in[i-1]
		switch c := last.Addr().Compare(p.Addr()); {
		case c > 0, c == 0 && last.Bits() >= p.Bits():
			return false
		}
		if last.Addr().Is4() == p.Addr().Is4() && last.Contains(p.Addr()) {
			return false
		}
	}
	return true
}

// mergeRanges sorts port ranges and merges overlapping or adjacent ones.
func mergeRanges(in []PortRange) []PortRange {
	rs := append([]PortRange(nil), in...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Lo < rs[j].Lo })
	var out []PortRange
	for _, r := range rs {
		if n := len(out); n > 0 && uint32(r.Lo) <= uint32(out[n-1].Hi)+1 {
			if r.Hi > out[n-1].Hi {
				out[n-1].Hi = r.Hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
