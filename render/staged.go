package render

import (
	"fmt"
	"strings"

	"github.com/palisade-net/palisade/policy"
)

// Staged policies in the kernel: NodeStaged renders, beside the enforced
// ruleset, a shadow evaluation of the policy set as it would be with every
// staged policy enforced (policy.StagedView). Where an endpoint's tiers in
// that view differ from the enforced ones, its normal-policy chain jumps,
// before its real tiers, to a shadow chain stg-<endpoint>-<dir> that runs
// the staged tiers with mark bits of their own and never accepts or drops:
// each Deny it would reach (a rule of a policy, or a tier's end) counts into
// a counter of kind staged-rule or staged-end-of-tier (and, with flow logs
// on, is logged as such), then the shadow marks are cleared and the real
// evaluation runs as before. A packet is counted by the shadow once per
// endpoint and direction, on the first packet of a connection, like the
// enforced counters. Profiles are not staged, so a shadow evaluation in
// which no tier decides counts nothing. Forward, preDNAT and untracked
// policy are not shadowed.

// Shadow mark bits, inside MarkMask and apart from MarkAccept and MarkPass.
const (
	MarkStagedAccept uint32 = 0x00040000
	MarkStagedPass   uint32 = 0x00080000
	MarkStagedDeny   uint32 = 0x00100000
	MarkStagedBits          = MarkStagedAccept | MarkStagedPass | MarkStagedDeny
)

// Staged counter kinds.
const (
	CountStagedRule      = "staged-rule"
	CountStagedEndOfTier = "staged-end-of-tier"
)

// NodeStaged is Node plus the shadow evaluation of staged, the same
// cluster with staged policies enforced (a model of policy.StagedView).
func NodeStaged(src, staged Source, node string) (*Ruleset, error) {
	return renderNode(src, staged, node)
}

// stagedChain returns the shadow chain of an endpoint's normal policy for
// a direction, or "" when the staged tiers are the enforced ones.
func (b *builder) stagedChain(base string, enforced, staged []policy.TierPolicies, d policy.Direction) string {
	if b.stg == nil {
		return ""
	}
	// Compare the staged tiers with the enforced ones by their shadow
	// chains' names (content hashes), built for the enforced tiers in a
	// scratch builder so nothing of them lands in the table.
	dry := &builder{src: b.src, n: b.n, chains: map[string]*Chain{}, sets: map[string]*Set{}, maps: map[string]*Map{},
		members: b.members}
	if strings.Join(dry.shadowTiers(enforced, d), ",") == strings.Join(b.dryStaged(staged, d), ",") {
		return ""
	}
	saved := b.src
	b.src = b.stg // memberships of the staged rules' selectors
	stgTiers := b.shadowTiers(staged, d)
	b.src = saved
	name := withSuffix("stg-"+base, "-"+dirName(d))
	if _, ok := b.chains[name]; ok {
		return name
	}
	c := &Chain{Name: name, Comment: "staged policies: what they would decide (" + dirName(d) + "), counted, never enforced"}
	c.Rules = append(c.Rules, Rule{Statements: []Statement{clearMarks(MarkStagedBits)}})
	for _, tc := range stgTiers {
		c.Rules = append(c.Rules,
			rule(Jump(tc), ""),
			rule(Return, "staged verdict reached", anyMark(MarkStagedAccept|MarkStagedDeny)))
	}
	b.chains[name] = c
	return name
}

// dryStaged names the shadow tier chains of the staged tiers without
// building them.
func (b *builder) dryStaged(tiers []policy.TierPolicies, d policy.Direction) []string {
	dry := &builder{src: b.stg, n: b.n, chains: map[string]*Chain{}, sets: map[string]*Set{}, maps: map[string]*Map{},
		members: b.members}
	return dry.shadowTiers(tiers, d)
}

// shadowTiers builds the shadow tier chains of tiers.
func (b *builder) shadowTiers(tiers []policy.TierPolicies, d policy.Direction) []string {
	out := make([]string, 0, len(tiers))
	for _, tp := range tiers {
		out = append(out, b.shadowTier(tp, d))
	}
	return out
}

// shadowTier is the shadow of tierChain: staged marks, and the default
// Deny counted instead of dropping.
func (b *builder) shadowTier(tp policy.TierPolicies, d policy.Direction) string {
	var chains []string
	for _, p := range tp.Policies {
		chains = append(chains, b.shadowPolicy(p, d))
	}
	endDeny := tp.Tier.DefaultAction == policy.ActionDeny
	key := fmt.Sprintf("%s|%s|%v|%s", tp.Tier.Name, d, endDeny, strings.Join(chains, ","))
	name := withSuffix(safeName("stg-tier-", tp.Tier.Name), "-"+shortHash(key))
	if _, ok := b.chains[name]; ok {
		return name
	}
	c := &Chain{Name: name, Comment: fmt.Sprintf("staged tier %s %s: %d policies", tp.Tier.Name, d, len(chains))}
	c.Rules = append(c.Rules, Rule{Statements: []Statement{clearMarks(MarkStagedPass)}})
	for _, pc := range chains {
		c.Rules = append(c.Rules, rule(Jump(pc), ""), rule(Return, "", anyMark(MarkStagedBits)))
	}
	if endDeny {
		k := CounterKey{Kind: CountStagedEndOfTier, Direction: d.String(), Tier: tp.Tier.Name, Rule: -1, Action: "Deny"}
		c.Rules = append(c.Rules, b.counted(k, []Rule{{Statements: []Statement{setMark(MarkStagedDeny)}, Verdict: Return,
			Comment: "staged: end of tier " + tp.Tier.Name + ", default action Deny"}})...)
	}
	b.chains[name] = c
	return name
}

// shadowPolicy is a policy's rules with staged marks: Allow, Deny and Pass
// set their mark and return; a Deny is counted (and logged).
func (b *builder) shadowPolicy(p *policy.Policy, d policy.Direction) string {
	rules := p.Ingress
	if d == policy.Egress {
		rules = p.Egress
	}
	var body []Rule
	for i := range rules {
		r := &rules[i]
		comment := fmt.Sprintf("staged %s %s rule %d", p.Key(), dirName(d), r.Index)
		switch r.Action {
		case policy.ActionAllow:
			body = append(body, b.matchRules(r, []Statement{setMark(MarkStagedAccept)}, Return, comment)...)
		case policy.ActionPass:
			body = append(body, b.matchRules(r, []Statement{setMark(MarkStagedPass)}, Return, comment)...)
		case policy.ActionDeny:
			k := ruleKey(p, d, r)
			k.Kind = CountStagedRule
			body = append(body, b.counted(k, b.matchRules(r, []Statement{setMark(MarkStagedDeny)}, Return, comment))...)
		}
	}
	var text strings.Builder
	for _, r := range body {
		text.WriteString(r.String())
		text.WriteByte('\n')
	}
	name := withSuffix(strings.Replace(policyBase(p), "pol-", "stg-pol-", 1), "-"+dirName(d)[:2]+"-"+shortHash(text.String()))
	if _, ok := b.chains[name]; !ok {
		b.chains[name] = &Chain{Name: name, Comment: fmt.Sprintf("staged view of %s %s tier %s %s", p.Kind, p.Key(), p.Tier, d), Rules: body}
	}
	return name
}

// stagedJump is the rules an endpoint chain runs before its tiers: the
// jump to its shadow chain and the clearing of the shadow marks.
func stagedJump(chain string) []Rule {
	if chain == "" {
		return nil
	}
	return []Rule{
		rule(Jump(chain), "staged policies (counted, not enforced)"),
		{Statements: []Statement{clearMarks(MarkStagedBits)}},
	}
}

// stagedWorkload is the staged source's workload of the same key.
func (b *builder) stagedWorkload(w *policy.Workload) *policy.Workload {
	if b.stg == nil {
		return nil
	}
	if b.stgWL == nil {
		b.stgWL = map[string]*policy.Workload{}
		for _, sw := range b.stg.WorkloadsOn(b.n.Name) {
			b.stgWL[sw.Key()] = sw
		}
	}
	return b.stgWL[w.Key()]
}

// stagedHEP is the staged source's host endpoint of the same name.
func (b *builder) stagedHEP(h *policy.HostEndpoint) *policy.HostEndpoint {
	if b.stg == nil {
		return nil
	}
	if b.stgHEP == nil {
		b.stgHEP = map[string]*policy.HostEndpoint{}
		for _, sh := range b.stg.HostEndpointsOn(b.n.Name) {
			b.stgHEP[sh.Name] = sh
		}
		if sn := b.stg.Node(b.n.Name); sn != nil {
			if w := b.stg.WildcardHostEndpoint(sn); w != nil {
				b.stgHEP[w.Name] = w
			}
		}
	}
	return b.stgHEP[h.Name]
}
