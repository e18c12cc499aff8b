package render

import (
	"github.com/palisade-net/palisade/policy"
)

// Small rule constructors shared by the chain builders.

func markIs(bits uint32) Match  { return MatchMark{Mask: bits, Value: bits} }
func markNot(bits uint32) Match { return MatchMark{Mask: bits, Value: bits, Negate: true} }
func anyMark(bits uint32) Match { return MatchMark{Mask: bits, Value: 0, Negate: true} }

func clearMarks(bits uint32) Statement { return StmtMark{Clear: bits} }
func setMark(bits uint32) Statement    { return StmtMark{Set: bits} }

func ifname(f Field, name string) Match { return MatchIfname{Field: f, Name: name} }

func rule(v Verdict, comment string, ms ...Match) Rule {
	return Rule{Matches: ms, Verdict: v, Comment: comment}
}

// acceptIfMarked is "meta mark & accept == accept accept".
func acceptIfMarked(comment string) Rule { return rule(Accept, comment, markIs(MarkAccept)) }

func baseChain(name string, hook Hook, prio int, comment string, rules []Rule) *Chain {
	return &Chain{Name: name, Base: &BaseChain{Type: "filter", Hook: hook, Priority: prio, Policy: "accept"},
		Comment: comment, Rules: rules}
}

// baseChains adds the seven base chains of §2 and the workload-to-host
// chain.
func (b *builder) baseChains() {
	b.addChain(b.rawPrerouting())
	b.addChain(b.manglePrerouting())
	b.addChain(b.filterInput())
	b.addChain(b.workloadToHost())
	b.addChain(b.filterForward())
	b.addChain(b.rawOutput())
	b.addChain(b.filterOutput())
	b.addChain(b.manglePostrouting())
}

// rawPrerouting is stage R1: untracked ingress policy of named host
// endpoints, before conntrack.
func (b *builder) rawPrerouting() *Chain {
	rules := []Rule{{Statements: []Statement{clearMarks(MarkBits)}, Comment: "clear palisade's mark bits"}}
	for _, p := range b.workloadPatterns() {
		rules = append(rules, rule(Return, "workload interface: untracked policy does not apply", ifname(FieldIifname, p)))
	}
	rules = append(rules,
		rule(Jump(dispRawIn), "untracked ingress policy"),
		Rule{Matches: []Match{markIs(MarkAccept)}, Statements: []Statement{StmtNotrack{}}, Verdict: Accept,
			Comment: "untracked allow: no conntrack, accept mark carries on"})
	return baseChain(chainRawPre, HookPrerouting, PriorityRaw, "stage R1: untracked ingress", rules)
}

// manglePrerouting is stage M1: the conntrack fast path and preDNAT policy.
func (b *builder) manglePrerouting() *Chain {
	rules := []Rule{
		rule(Accept, "established or related: preDNAT is skipped", MatchCtState{States: []string{CtEstablished, CtRelated}}),
		acceptIfMarked("accepted by untracked policy"),
		rule(Jump(dispPreDNAT), "preDNAT policy"),
		acceptIfMarked("preDNAT allow: the accept mark skips normal and applyOnForward ingress"),
	}
	return baseChain(chainManglePre, HookPrerouting, PriorityMangle, "stage M1: conntrack fast path and preDNAT", rules)
}

// filterInput is stage F-IN.
func (b *builder) filterInput() *Chain {
	var rules []Rule
	for _, p := range b.workloadPatterns() {
		rules = append(rules, rule(Goto(chainWlToHost), "from a workload to its own host", ifname(FieldIifname, p)))
	}
	rules = append(rules,
		acceptIfMarked("accepted by untracked or preDNAT policy: normal ingress is skipped"),
		Rule{Statements: []Statement{clearMarks(MarkBits)}},
		rule(Jump(dispNormalIn), "normal host endpoint ingress"),
		acceptIfMarked("allowed by host endpoint policy"),
	)
	return baseChain(chainInput, HookInput, PriorityFilter, "stage F-IN", rules)
}

// workloadToHost is §10: ICMPv6 neighbour discovery, the pod's egress
// policy, then DefaultEndpointToHostAction.
func (b *builder) workloadToHost() *Chain {
	nd := MatchICMP{Family: FamilyIPv6, Types: []uint8{130, 131, 132, 133, 135, 136}}
	var final Verdict
	switch b.n.Felix.EndpointToHost {
	case policy.EndpointToHostAccept:
		final = Accept
	case policy.EndpointToHostReturn:
		final = Return
	default:
		final = Drop
	}
	rules := []Rule{
		rule(Accept, "ICMPv6 MLD, RS, NS and NA from workloads", MatchNfproto{Family: FamilyIPv6}, MatchL4Proto{Protos: []uint8{58}}, nd),
		rule(Jump(dispWepFrom), "the pod's egress policy"),
		rule(final, "DefaultEndpointToHostAction "+b.n.Felix.EndpointToHost.String(), markIs(MarkAccept)),
	}
	return &Chain{Name: chainWlToHost, Comment: "workload to its own host (§10)", Rules: rules}
}

// filterForward is stage F-FWD, steps 1-5 and 7.
func (b *builder) filterForward() *Chain {
	rules := []Rule{
		{Statements: []Statement{clearMarks(MarkPass)}, Comment: "clear every mark bit but accept"},
		rule(Jump(dispFwdIn), "HEP(iif) applyOnForward ingress unless a preDNAT or untracked allow", markNot(MarkAccept)),
	}
	for _, p := range b.workloadPatterns() {
		rules = append(rules, rule(Jump(dispWepFrom), "source pod egress", ifname(FieldIifname, p)))
	}
	for _, p := range b.workloadPatterns() {
		rules = append(rules, rule(Jump(dispWepTo), "destination pod ingress", ifname(FieldOifname, p)))
	}
	rules = append(rules,
		rule(Jump(dispFwdOut), "HEP(oif) applyOnForward egress"),
		Rule{Statements: []Statement{setMark(MarkAccept)}, Verdict: Accept,
			Comment: "forwarded: the accept mark tells mangle-postrouting to skip host endpoint egress"},
	)
	return baseChain(chainForward, HookForward, PriorityFilter, "stage F-FWD", rules)
}

// rawOutput is stage R2: untracked egress policy.
func (b *builder) rawOutput() *Chain {
	rules := []Rule{
		{Statements: []Statement{clearMarks(MarkBits)}, Comment: "clear palisade's mark bits"},
		rule(Jump(dispRawOut), "untracked egress policy"),
		{Matches: []Match{markIs(MarkAccept)}, Statements: []Statement{StmtNotrack{}}, Verdict: Accept,
			Comment: "untracked allow"},
	}
	return baseChain(chainRawOut, HookOutput, PriorityRaw, "stage R2: untracked egress", rules)
}

// filterOutput is stage F-OUT.
func (b *builder) filterOutput() *Chain {
	rules := []Rule{acceptIfMarked("accepted by untracked policy")}
	for _, p := range b.workloadPatterns() {
		rules = append(rules, rule(Return, "host to a local workload is never policed", ifname(FieldOifname, p)))
	}
	rules = append(rules,
		Rule{Statements: []Statement{clearMarks(MarkBits)}},
		// Not "ct status & dnat == 0": that does not match a packet without
		// a conntrack entry (invalid or untracked), which must meet the
		// host endpoint's egress chain too (§3.3 F-OUT step 4, §9.2).
		rule(Return, "DNAT'd connection: host endpoint egress runs in mangle-postrouting", MatchCtDNAT{}),
		rule(Jump(dispNormalOut), "normal host endpoint egress"),
		acceptIfMarked("allowed by host endpoint policy"),
	)
	return baseChain(chainOutput, HookOutput, PriorityFilter, "stage F-OUT", rules)
}

// manglePostrouting is stage M2: host egress policy for DNAT'd
// connections, where the real oif is known.
func (b *builder) manglePostrouting() *Chain {
	rules := []Rule{acceptIfMarked("forwarded or already accepted")}
	for _, p := range b.workloadPatterns() {
		rules = append(rules, rule(Return, "to a workload: skip host endpoint egress", ifname(FieldOifname, p)))
	}
	rules = append(rules,
		rule(Jump(dispNormalOut), "normal host endpoint egress of a DNAT'd connection", MatchCtDNAT{}),
		acceptIfMarked("allowed by host endpoint policy"),
	)
	return baseChain(chainManglePost, HookPostrouting, PriorityMangle, "stage M2: host egress of DNAT'd connections", rules)
}
