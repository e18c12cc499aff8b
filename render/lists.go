package render

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/palisade-net/palisade/internal/iplist"
)

// List sets. A rule's list of more than one port range, network or
// protocol is written as a named set shared by every rule with the same
// list (named by the list), not as an anonymous set of its own. The
// kernel keeps a table's sets in one list that it walks to name each new
// set and to find each set a rule looks up, and an anonymous set costs a
// walk for its name, another for the failed lookup of its placeholder
// name, and a place in the list that every later walk passes: at W1 (2,000 rules with the same port list) the first write of
// the table took 2.2 s with anonymous sets and 1.0 s with one shared set.
// The rule keeps its ranges, prefixes or protocols (what it means:
// Compile and the equality of rules read those; the trace reads the set,
// as the kernel does); the set is only how the kernel is given them.

// maxListName is the longest port list spelled out in a set's name;
// longer lists are named by a hash.
const maxListName = 40

// portSet returns the name of the list set of ranges (sorted and merged),
// declaring it on first use; "" for a single range (a comparison, no set).
func (b *builder) portSet(ranges []PortRange) string {
	if len(ranges) < 2 {
		return ""
	}
	items := make([]string, len(ranges))
	interval := false
	for i, r := range ranges {
		items[i] = portRangeString(r)
		interval = interval || r.Hi != r.Lo
	}
	spelled := strings.Join(items, "_")
	name := "ports-" + spelled
	if len(spelled) > maxListName {
		name = "ports-" + shortHash(spelled)
	}
	if _, ok := b.sets[name]; !ok {
		b.sets[name] = &Set{Name: name, Type: SetService, Interval: interval,
			Comment: "ports " + strings.Join(items, ","), Ports: ranges}
	}
	return name
}

// netSet returns the name of the list set of prefixes (merged, all of
// family fam), declaring it on first use; "" for fewer than two.
func (b *builder) netSet(prefixes []netip.Prefix, fam Family) string {
	if len(prefixes) < 2 {
		return ""
	}
	items := make([]string, len(prefixes))
	for i, p := range prefixes {
		items[i] = prefixString(p)
	}
	name := "nets-" + shortHash(strings.Join(items, ",")) + famSuffix(fam)
	if _, ok := b.sets[name]; !ok {
		addrs := iplist.Of(prefixes)
		b.sets[name] = &Set{Name: name, Type: addrSetType(fam), Interval: !addrs.AllSingle(),
			Comment: "nets " + strings.Join(items, ","), Addrs: addrs}
	}
	return name
}

// protoListSet is the list set of protocols (more than one), and its name.
func protoListSet(protos []uint8) *Set {
	items := make([]string, len(protos))
	names := make([]string, len(protos))
	for i, p := range protos {
		items[i] = strconv.Itoa(int(p))
		names[i] = protoName(p)
	}
	return &Set{Name: "protos-" + strings.Join(items, "_"), Type: SetProto,
		Comment: "protocols " + strings.Join(names, ","), Protos: protos}
}

// protoMatch matches meta l4proto in (or not in) protos, through their
// list set (declared on first use) when there is more than one.
func (b *builder) protoMatch(protos []uint8, negate bool) MatchL4Proto {
	m := MatchL4Proto{Protos: protos, Negate: negate}
	if len(protos) > 1 {
		s := protoListSet(protos)
		if _, ok := b.sets[s.Name]; !ok {
			b.sets[s.Name] = s
		}
		m.Set = s.Name
	}
	return m
}
