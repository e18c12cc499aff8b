package render

import (
	"fmt"
	"strings"

	"github.com/palisade-net/palisade/policy"
)

// Endpoint chains implement EVAL(ep, dir, kind) of §3.1. Their contract
// with the chain that jumps to them (through a dispatch chain):
//   - DENY: the packet is dropped here;
//   - ALLOW: return with the accept mark set;
//   - NONE: return with the accept mark clear (preDNAT and untracked only);
//   - conntrack established/related and failsafe matches accept at once,
//     which ends the base chain without the accept mark (§3.1 steps 2-3).

// hostChain returns (building on first use) the chain of a host endpoint
// for a stage kind and direction.
func (b *builder) hostChain(h *policy.HostEndpoint, k policy.StageKind, d policy.Direction) string {
	name := withSuffix(hepBase(h), kindSuffix(k, d))
	if _, ok := b.chains[name]; ok {
		return name
	}
	c := &Chain{Name: name, Comment: fmt.Sprintf("HostEndpoint %s %s %s", h.Name, k, d)}
	b.chains[name] = c
	c.Rules = append(c.Rules, b.conntrackRules(k)...)
	if k != policy.StageForward {
		if fs := b.failsafeChain(k, d); fs != "" {
			c.Rules = append(c.Rules, rule(Jump(fs), "failsafe"))
		}
	}
	c.Rules = append(c.Rules, Rule{Statements: []Statement{clearMarks(MarkBits)}})
	c.Remote, c.Section = remoteField(d), len(c.Rules)
	fc, done := b.failClosedRules(h.Unresolved, k, d)
	c.Rules = append(c.Rules, fc...)
	if done {
		return name
	}
	tiers := b.src.HostEndpointPolicies(h, k, d)
	if sh := b.stagedHEP(h); sh != nil && k == policy.StageNormal {
		c.Rules = append(c.Rules, stagedJump(b.stagedChain(hepBase(h), tiers, b.stg.HostEndpointPolicies(sh, k, d), d))...)
	}
	c.Rules = append(c.Rules, b.tierRules(tiers, k, d)...)
	c.Rules = append(c.Rules, b.afterTiers(h.Profiles, k, d)...)
	return name
}

// failClosedRules are the evaluator's failClosed: for an unresolved
// endpoint a drop (normal, forward) or a return without verdict (preDNAT,
// untracked), and done; else, in normal and forward chains, the drop of
// quarantined peers.
func (b *builder) failClosedRules(unresolved string, k policy.StageKind, d policy.Direction) ([]Rule, bool) {
	normal := k == policy.StageNormal || k == policy.StageForward
	if unresolved != "" {
		if !normal {
			return []Rule{rule(Return, "unresolved endpoint: no verdict")}, true
		}
		return b.counted(CounterKey{Kind: CountFailClosed, Direction: d.String(), Policy: "unresolved endpoint", Rule: -1, Action: "Deny"},
			[]Rule{rule(Drop, "unresolved endpoint, failing closed: "+unresolved)}), true
	}
	if !normal {
		return nil, false
	}
	if r := policy.QuarantineRule(b.src.Quarantined(), d); r != nil {
		key := CounterKey{Kind: CountFailClosed, Direction: d.String(), Policy: "peer of an unresolved endpoint", Rule: -1, Action: "Deny"}
		return b.renderRule(r, d, false, "peer of an unresolved endpoint, failing closed", key), false
	}
	return nil, false
}

// workloadChain returns the normal-policy chain of a workload for a
// direction (workloads use normal policy only, §7.1).
func (b *builder) workloadChain(w *policy.Workload, d policy.Direction) string {
	name := withSuffix(wepBase(w), kindSuffix(policy.StageNormal, d))
	if _, ok := b.chains[name]; ok {
		return name
	}
	c := &Chain{Name: name, Comment: fmt.Sprintf("WorkloadEndpoint %s (%s) %s", w.Key(), b.n.WorkloadInterface(w), d)}
	b.chains[name] = c
	c.Rules = append(c.Rules, b.conntrackRules(policy.StageNormal)...)
	c.Rules = append(c.Rules, Rule{Statements: []Statement{clearMarks(MarkBits)}})
	if d == policy.Egress {
		c.Rules = append(c.Rules,
			rule(Drop, "IPIP from a workload", MatchL4Proto{Protos: []uint8{4}}),
			rule(Drop, "VXLAN from a workload", MatchL4Proto{Protos: []uint8{17}}, MatchPort{Field: FieldDport, Ranges: []PortRange{{4789, 4789}}}))
	}
	c.Remote, c.Section = remoteField(d), len(c.Rules)
	fc, done := b.failClosedRules(w.Unresolved, policy.StageNormal, d)
	c.Rules = append(c.Rules, fc...)
	if done {
		return name
	}
	tiers := b.src.WorkloadPolicies(w, d)
	if sw := b.stagedWorkload(w); sw != nil {
		c.Rules = append(c.Rules, stagedJump(b.stagedChain(wepBase(w), tiers, b.stg.WorkloadPolicies(sw, d), d))...)
	}
	c.Rules = append(c.Rules, b.tierRules(tiers, policy.StageNormal, d)...)
	c.Rules = append(c.Rules, b.afterTiers(w.Profiles, policy.StageNormal, d)...)
	return name
}

// remoteField is the packet field of the far end for a direction.
func remoteField(d policy.Direction) Field {
	if d == policy.Ingress {
		return FieldSaddr
	}
	return FieldDaddr
}

// conntrackRules are §3.1 step 2 (not for untracked).
func (b *builder) conntrackRules(k policy.StageKind) []Rule {
	if k == policy.StageUntracked {
		return nil
	}
	out := []Rule{rule(Accept, "", MatchCtState{States: []string{CtEstablished, CtRelated}})}
	if !b.n.Felix.InvalidCheckOff {
		out = append(out, rule(Drop, "", MatchCtState{States: []string{CtInvalid}}))
	}
	return out
}

// tierRules jumps to each applicable tier's chain; an allow inside
// returns from the endpoint chain with the accept mark (§3.1 step 6).
func (b *builder) tierRules(tiers []policy.TierPolicies, k policy.StageKind, d policy.Direction) []Rule {
	var out []Rule
	for _, tp := range tiers {
		out = append(out,
			rule(Jump(b.tierChain(tp, k, d)), "tier "+tp.Tier.Name),
			rule(Return, "", markIs(MarkAccept)))
	}
	return out
}

// tierChain is shared by every endpoint with the same policy list in a
// tier, direction and end-of-tier behaviour.
func (b *builder) tierChain(tp policy.TierPolicies, k policy.StageKind, d policy.Direction) string {
	endDrop := (k == policy.StageNormal || k == policy.StageForward) && tp.Tier.DefaultAction == policy.ActionDeny
	var chains []string
	for _, p := range tp.Policies {
		chains = append(chains, b.policyChain(p, d))
	}
	key := fmt.Sprintf("%s|%s|%v|%s", tp.Tier.Name, d, endDrop, strings.Join(chains, ","))
	name := withSuffix(safeName("tier-", tp.Tier.Name), "-"+shortHash(key))
	if _, ok := b.chains[name]; ok {
		return name
	}
	c := &Chain{Name: name, Comment: fmt.Sprintf("tier %s %s: %d policies", tp.Tier.Name, d, len(chains))}
	c.Rules = append(c.Rules, Rule{Statements: []Statement{clearMarks(MarkPass)}})
	for _, pc := range chains {
		c.Rules = append(c.Rules,
			rule(Jump(pc), ""),
			rule(Return, "allowed or passed", anyMark(MarkBits)))
	}
	if endDrop {
		key := CounterKey{Kind: CountEndOfTier, Direction: d.String(), Tier: tp.Tier.Name, Rule: -1, Action: "Deny"}
		c.Rules = append(c.Rules, b.counted(key, []Rule{rule(Drop, "end of tier "+tp.Tier.Name+": default action Deny")})...)
	}
	b.chains[name] = c
	return name
}

// afterTiers is §3.1 step 7.
func (b *builder) afterTiers(profiles []*policy.Profile, k policy.StageKind, d policy.Direction) []Rule {
	switch k {
	case policy.StageForward:
		key := CounterKey{Kind: CountForward, Direction: d.String(), Rule: -1, Action: "Allow"}
		return b.counted(key, []Rule{{Statements: []Statement{setMark(MarkAccept)}, Verdict: Return,
			Comment: "forwarded traffic is allowed unless applyOnForward policy decided"}})
	case policy.StagePreDNAT, policy.StageUntracked:
		return []Rule{rule(Return, "no verdict: the packet continues")}
	}
	var out []Rule
	for _, p := range profiles {
		if p == nil {
			continue
		}
		if pc := b.profileChain(p, d); pc != "" {
			out = append(out, rule(Jump(pc), "profile "+p.Name), rule(Return, "", markIs(MarkAccept)))
		}
	}
	key := CounterKey{Kind: CountNoPolicy, Direction: d.String(), Rule: -1, Action: "Deny"}
	return append(out, b.counted(key, []Rule{rule(Drop, "no policy or profile allowed")})...)
}

// policyChain is the chain of one policy's rules for a direction, shared by
// every endpoint the policy applies to.
func (b *builder) policyChain(p *policy.Policy, d policy.Direction) string {
	name := withSuffix(policyBase(p), "-"+dirName(d))
	if _, ok := b.chains[name]; ok {
		return name
	}
	c := &Chain{Name: name, Comment: fmt.Sprintf("%s %s tier %s %s", p.Kind, p.Key(), p.Tier, d)}
	rules := p.Ingress
	if d == policy.Egress {
		rules = p.Egress
	}
	for i := range rules {
		c.Rules = append(c.Rules, b.renderRule(&rules[i], d, false, fmt.Sprintf("%s %s rule %d", p.Key(), dirName(d), rules[i].Index), ruleKey(p, d, &rules[i]))...)
	}
	b.chains[name] = c
	return name
}

// profileChain is a profile's rules for a direction; "" when it has none
// that decide. Pass rules have no effect in profiles.
func (b *builder) profileChain(p *policy.Profile, d policy.Direction) string {
	rules := p.Ingress
	if d == policy.Egress {
		rules = p.Egress
	}
	deciding := false
	for _, r := range rules {
		if r.Action == policy.ActionAllow || r.Action == policy.ActionDeny {
			deciding = true
		}
	}
	if !deciding {
		return ""
	}
	name := withSuffix(profileBase(p), "-"+dirName(d))
	if _, ok := b.chains[name]; ok {
		return name
	}
	c := &Chain{Name: name, Comment: fmt.Sprintf("Profile %s %s", p.Name, d)}
	for i := range rules {
		key := CounterKey{Kind: CountProfile, Direction: d.String(), Policy: "Profile " + p.Name, Rule: i, Action: rules[i].Action.String()}
		c.Rules = append(c.Rules, b.renderRule(&rules[i], d, true, fmt.Sprintf("profile %s %s rule %d", p.Name, dirName(d), i), key)...)
	}
	b.chains[name] = c
	return name
}
