package render

import (
	"net/netip"

	"github.com/palisade-net/palisade/policy"
)

// LogPrefix is the prefix of packets logged by Log rules.
const LogPrefix = "palisade-packet: "

// Protocols with ports (§8.1).
var portProtos = []uint8{6, 17, 132}

// renderRule turns one policy or profile rule into nft rules: one per IP
// family it is rendered in (Rule.InFamily), and within a family one per
// disjunct where nft cannot express an "or" in one rule (numeric and named
// ports, a negated ICMP type and code). The disjuncts are disjoint, so a
// Log rule logs a packet once. Every rule rendered counts into key's
// counter.
func (b *builder) renderRule(r *policy.Rule, d policy.Direction, profile bool, comment string, key CounterKey) []Rule {
	var stmts []Statement
	var v Verdict
	switch r.Action {
	case policy.ActionAllow:
		stmts, v = []Statement{setMark(MarkAccept)}, Return
	case policy.ActionDeny:
		v = Drop
	case policy.ActionPass:
		if profile {
			return nil // Pass has no effect in a profile
		}
		stmts, v = []Statement{setMark(MarkPass)}, Return
	case policy.ActionLog:
		stmts = []Statement{StmtLog{Prefix: LogPrefix}}
	default:
		return nil
	}
	return b.counted(key, b.matchRules(r, stmts, v, comment))
}

// matchRules renders r's matches, each disjunct with stmts and v.
func (b *builder) matchRules(r *policy.Rule, stmts []Statement, v Verdict, comment string) []Rule {
	var out []Rule
	for _, fam := range ruleFamilies(r) {
		for _, ms := range b.ruleMatches(r, fam) {
			out = append(out, Rule{Matches: ms, Statements: stmts, Verdict: v, Comment: comment})
		}
	}
	return out
}

// ruleFamilies lists the families to render r in: FamilyAny alone when r
// is rendered in both and nothing in it depends on the family.
func ruleFamilies(r *policy.Rule) []Family {
	v4, v6 := r.InFamily(true), r.InFamily(false)
	if v4 && v6 && !familyDependent(r) {
		return []Family{FamilyAny}
	}
	var out []Family
	if v4 {
		out = append(out, FamilyIPv4)
	}
	if v6 {
		out = append(out, FamilyIPv6)
	}
	return out
}

func familyDependent(r *policy.Rule) bool {
	for _, s := range []*policy.Side{&r.Src, &r.Dst} {
		if len(s.Nets)+len(s.NotNets)+len(s.NamedPorts)+len(s.NotNamedPorts) > 0 || s.Selector != nil || s.NotSelector != nil {
			return true
		}
	}
	return (r.ICMP != nil || r.NotICMP != nil) && r.Protocol != 1 && r.Protocol != 58
}

// ruleMatches returns the disjuncts of r in one family.
func (b *builder) ruleMatches(r *policy.Rule, fam Family) [][]Match {
	var base []Match
	if fam != FamilyAny {
		base = append(base, MatchNfproto{Family: fam})
	}
	if r.Protocol != 0 {
		base = append(base, MatchL4Proto{Protos: []uint8{r.Protocol}})
	}
	if r.NotProtocol != 0 {
		base = append(base, MatchL4Proto{Protos: []uint8{r.NotProtocol}, Negate: true})
	}
	disj := [][]Match{base}
	if r.ICMP != nil {
		disj = cross(disj, [][]Match{{icmpMatch(r, fam, r.ICMP, false)}})
	}
	if r.NotICMP != nil {
		disj = cross(disj, b.notICMPDisjuncts(r, fam))
	}
	disj = cross(disj, b.sideMatches(&r.Src, FieldSaddr, FieldSport, fam, r.Protocol))
	disj = cross(disj, b.sideMatches(&r.Dst, FieldDaddr, FieldDport, fam, r.Protocol))
	return disj
}

// cross returns every concatenation of one element of a with one of b.
func cross(a, b [][]Match) [][]Match {
	out := make([][]Match, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			ms := make([]Match, 0, len(x)+len(y))
			ms = append(append(ms, x...), y...)
			out = append(out, ms)
		}
	}
	return out
}

// icmpFamily is icmp for protocol 1, icmpv6 for 58, else the rule's family.
func icmpFamily(r *policy.Rule, fam Family) Family {
	switch {
	case r.Protocol == 1:
		return FamilyIPv4
	case r.Protocol == 58:
		return FamilyIPv6
	case fam == FamilyIPv6:
		return FamilyIPv6
	}
	return FamilyIPv4
}

func icmpMatch(r *policy.Rule, fam Family, im *policy.ICMPMatch, negate bool) MatchICMP {
	return MatchICMP{Family: icmpFamily(r, fam), Types: []uint8{im.Type}, Code: im.Code, Negate: negate}
}

// notICMPDisjuncts: not (ICMP and type T [and code C]) is "not ICMP", or
// "type != T", or "type T and code != C" (§8.2).
func (b *builder) notICMPDisjuncts(r *policy.Rule, fam Family) [][]Match {
	im := r.NotICMP
	ifam := icmpFamily(r, fam)
	var out [][]Match
	if r.Protocol != 1 && r.Protocol != 58 {
		out = append(out, []Match{b.protoMatch([]uint8{1, 58}, true)})
	}
	out = append(out, []Match{MatchICMP{Family: ifam, Types: []uint8{im.Type}, Negate: true}})
	if im.Code != nil {
		out = append(out, []Match{MatchICMP{Family: ifam, Types: []uint8{im.Type}, Code: im.Code, Negate: true}})
	}
	return out
}

// sideMatches renders one side (source or destination) of a rule (§8.3 to
// §8.5) as disjuncts.
func (b *builder) sideMatches(s *policy.Side, addrF, portF Field, fam Family, proto uint8) [][]Match {
	var ms []Match
	if len(s.Nets) > 0 {
		ps := mergePrefixes(s.Nets, fam)
		ms = append(ms, MatchAddr{Field: addrF, Family: fam, Prefixes: ps, Set: b.netSet(ps, fam)})
	}
	if len(s.NotNets) > 0 {
		ps := mergePrefixes(s.NotNets, fam)
		ms = append(ms, MatchAddr{Field: addrF, Family: fam, Prefixes: ps, Set: b.netSet(ps, fam), Negate: true})
	}
	switch {
	case s.Selector != nil:
		ms = append(ms, MatchAddr{Field: addrF, Family: fam, Set: b.selectorSet(s, fam)})
	case s.NotSelector != nil:
		ms = append(ms, MatchAddr{Field: addrF, Family: fam, Set: b.selectorSet(s, fam), Negate: true})
	}
	hasPos := len(s.Ports)+len(s.NamedPorts) > 0
	hasNeg := len(s.NotPorts)+len(s.NotNamedPorts) > 0
	if (hasPos || hasNeg) && !containsProto(portProtos, proto) {
		ms = append(ms, b.protoMatch(portProtos, false))
	}
	if len(s.NotPorts) > 0 {
		ms = append(ms, b.portMatch(portF, s.NotPorts, true))
	}
	if len(s.NotNamedPorts) > 0 {
		ms = append(ms, MatchAddrProtoPort{Field: addrF, Family: fam, Set: b.namedPortSet(s, s.NotNamedPorts, fam), Negate: true})
	}
	if !hasPos {
		return [][]Match{ms}
	}
	var alts [][]Match
	if len(s.Ports) > 0 {
		alts = append(alts, []Match{b.portMatch(portF, s.Ports, false)})
	}
	if len(s.NamedPorts) > 0 {
		var alt []Match
		if len(s.Ports) > 0 {
			alt = append(alt, b.portMatch(portF, s.Ports, true))
		}
		alt = append(alt, MatchAddrProtoPort{Field: addrF, Family: fam, Set: b.namedPortSet(s, s.NamedPorts, fam)})
		alts = append(alts, alt)
	}
	return cross([][]Match{ms}, alts)
}

func containsProto(ps []uint8, p uint8) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// portMatch matches field in (or not in) the ports, through their list
// set when there is more than one range.
func (b *builder) portMatch(field Field, ports []policy.PortRange, negate bool) MatchPort {
	rs := portRanges(ports)
	return MatchPort{Field: field, Ranges: rs, Set: b.portSet(rs), Negate: negate}
}

func portRanges(in []policy.PortRange) []PortRange {
	out := make([]PortRange, len(in))
	for i, r := range in {
		out[i] = PortRange{Lo: r.Lo, Hi: r.Hi}
	}
	return mergeRanges(out)
}

// familyOf reports the family of a prefix.
func familyOf(p netip.Prefix) Family {
	if p.Addr().Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}
