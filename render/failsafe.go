package render

import (
	"net/netip"
	"sort"

	"github.com/palisade-net/palisade/policy"
)

// Failsafe chains (§5): entries without a net go in a protocol . port set;
// entries with a net are one rule each, in that net's family only. The raw
// chains also accept the other list in reverse (replies, §5.3).

const (
	chainFailsafeIn     = "failsafe-ingress"
	chainFailsafeOut    = "failsafe-egress"
	chainFailsafeRawIn  = "failsafe-raw-ingress"
	chainFailsafeRawOut = "failsafe-raw-egress"
	setFailsafeIn       = "failsafe-inbound"
	setFailsafeOut      = "failsafe-outbound"
)

// failsafeChains builds the four failsafe chains and two sets when the
// node has failsafe entries.
func (b *builder) failsafeChains() {
	in, out := b.n.Felix.FailsafeIn, b.n.Felix.FailsafeOut
	if len(in) > 0 {
		b.failsafeSet(setFailsafeIn, "FailsafeInboundHostPorts without a net", in)
	}
	if len(out) > 0 {
		b.failsafeSet(setFailsafeOut, "FailsafeOutboundHostPorts without a net", out)
	}
	fs := func(d, what string) CounterKey {
		return CounterKey{Kind: CountFailsafe, Direction: d, Policy: what, Rule: -1, Action: "Allow"}
	}
	fwdIn := b.counted(fs("ingress", "inbound failsafe"),
		failsafeRules(in, setFailsafeIn, FieldDport, FieldSaddr, "inbound failsafe"))
	fwdOut := b.counted(fs("egress", "outbound failsafe"),
		failsafeRules(out, setFailsafeOut, FieldDport, FieldDaddr, "outbound failsafe"))
	revIn := b.counted(fs("ingress", "outbound failsafe reply"),
		failsafeRules(out, setFailsafeOut, FieldSport, FieldSaddr, "outbound failsafe in reverse (reply)"))
	revOut := b.counted(fs("egress", "inbound failsafe reply"),
		failsafeRules(in, setFailsafeIn, FieldSport, FieldDaddr, "inbound failsafe in reverse (reply)"))
	add := func(name, comment string, rules ...[]Rule) {
		var all []Rule
		for _, rs := range rules {
			all = append(all, rs...)
		}
		if len(all) > 0 {
			b.addChain(&Chain{Name: name, Comment: comment, Rules: all})
		}
	}
	add(chainFailsafeIn, "failsafe ingress (normal and preDNAT host endpoint chains)", fwdIn)
	add(chainFailsafeOut, "failsafe egress (normal host endpoint chains)", fwdOut)
	add(chainFailsafeRawIn, "failsafe untracked ingress, with outbound entries reversed", fwdIn, revIn)
	add(chainFailsafeRawOut, "failsafe untracked egress, with inbound entries reversed", fwdOut, revOut)
}

func (b *builder) failsafeSet(name, comment string, list []policy.Failsafe) {
	s := &Set{Name: name, Type: SetProtoPort, Comment: comment}
	seen := map[Tuple]bool{}
	for _, f := range list {
		t := Tuple{Proto: f.Proto, Port: f.Port}
		if !f.Net.IsValid() && !seen[t] {
			seen[t] = true
			s.Tuples = append(s.Tuples, t)
		}
	}
	sort.Slice(s.Tuples, func(i, j int) bool { return tupleLess(s.Tuples[i], s.Tuples[j]) })
	if len(s.Tuples) > 0 {
		b.sets[name] = s
	}
}

// failsafeRules matches port field (dport, or sport in reverse) and, for
// entries with a net, the peer address field.
func failsafeRules(list []policy.Failsafe, set string, port, peer Field, comment string) []Rule {
	var out []Rule
	any := false
	for _, f := range list {
		if !f.Net.IsValid() {
			any = true
			continue
		}
		fam := FamilyIPv4
		if f.Net.Addr().Is6() {
			fam = FamilyIPv6
		}
		out = append(out, rule(Accept, comment+" "+f.String(),
			MatchAddr{Field: peer, Family: fam, Prefixes: []netip.Prefix{f.Net}},
			MatchL4Proto{Protos: []uint8{f.Proto}},
			MatchPort{Field: port, Ranges: []PortRange{{f.Port, f.Port}}}))
	}
	if any {
		out = append([]Rule{rule(Accept, comment, MatchProtoPort{Field: port, Set: set})}, out...)
	}
	return out
}

// failsafeChain names the failsafe chain a host endpoint chain jumps to,
// or "" when the node has none for it.
func (b *builder) failsafeChain(k policy.StageKind, d policy.Direction) string {
	name := chainFailsafeIn
	switch {
	case k == policy.StageUntracked && d == policy.Ingress:
		name = chainFailsafeRawIn
	case k == policy.StageUntracked:
		name = chainFailsafeRawOut
	case d == policy.Egress:
		name = chainFailsafeOut
	}
	if _, ok := b.chains[name]; !ok {
		return ""
	}
	return name
}

func tupleLess(a, b Tuple) bool {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c < 0
	}
	if a.Proto != b.Proto {
		return a.Proto < b.Proto
	}
	return a.Port < b.Port
}
