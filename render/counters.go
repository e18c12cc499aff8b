package render

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/palisade-net/palisade/policy"
)

// Counters: every rule that decides a packet's fate on behalf of a policy
// rule, a profile rule, a tier's end, an endpoint's default or a failsafe
// counts into a named counter object of the table. Rules rendered for the
// same thing (both IP families, the disjuncts of one rule, the same end of
// tier in several tier chains) share one counter, so a counter is exactly
// one line of `palisade dataplane counters`. Counter names are a hash of
// the key, stable across renders, which lets the applier carry the
// kernel's values over when it replaces the table.

// Counter kinds.
const (
	CountRule       = "rule"        // a policy rule
	CountProfile    = "profile"     // a profile rule
	CountEndOfTier  = "end-of-tier" // a tier's default Deny
	CountNoPolicy   = "no-policy"   // no policy decided and no profile allowed
	CountFailsafe   = "failsafe"    // a failsafe accept
	CountFailClosed = "fail-closed" // an unresolved endpoint or its peers, dropped
	CountForward    = "forward"     // forwarded traffic allowed by default
)

// CounterKey says what a counter counts. Policy is "GlobalNetworkPolicy
// default.x" or "Profile kns.default" (as explain names them), or what a
// failsafe or fail-closed counter stands for.
type CounterKey struct {
	Kind      string `json:"kind"`           // one of the Count* kinds
	Direction string `json:"direction"`      // ingress or egress
	Tier      string `json:"tier,omitempty"` // the tier of a policy rule or end of tier
	Policy    string `json:"policy,omitempty"`
	Rule      int    `json:"rule"`   // rule index within the policy's or profile's rules; -1 for none
	Action    string `json:"action"` // Allow, Deny, Pass, Log
}

// Counter is a named counter object. Packets and Bytes are the values the
// counter starts with when the table is written (the applier carries the
// kernel's values over); render leaves them zero.
type Counter struct {
	Name           string
	Key            CounterKey
	Packets, Bytes uint64
}

// counterPrefix starts every counter's name.
const counterPrefix = "cnt-"

// Comment is the counter's comment in the table: space-separated
// key=value pairs, spaces in values written as "+" (no Kubernetes or
// Calico name holds one), which ParseCounterComment reads
// back (see README "Counters").
func (k CounterKey) Comment() string {
	pairs := []string{"kind=" + k.Kind, "dir=" + k.Direction}
	if k.Tier != "" {
		pairs = append(pairs, "tier="+k.Tier)
	}
	if k.Policy != "" {
		pairs = append(pairs, "policy="+strings.ReplaceAll(k.Policy, " ", "+"))
	}
	if k.Rule >= 0 {
		pairs = append(pairs, "rule="+strconv.Itoa(k.Rule))
	}
	if k.Action != "" {
		pairs = append(pairs, "action="+k.Action)
	}
	return strings.Join(pairs, " ")
}

// ParseCounterComment reads a counter's comment back into its key; ok is
// false when the comment is not one palisade wrote whole (nft cuts
// comments at 128 characters, so a very long policy name may not survive).
func ParseCounterComment(c string) (k CounterKey, ok bool) {
	k.Rule = -1
	for _, f := range strings.Fields(c) {
		name, v, found := strings.Cut(f, "=")
		if !found {
			return k, false
		}
		switch name {
		case "kind":
			k.Kind = v
		case "dir":
			k.Direction = v
		case "tier":
			k.Tier = v
		case "policy":
			k.Policy = strings.ReplaceAll(v, "+", " ")
		case "rule":
			n, err := strconv.Atoi(v)
			if err != nil {
				return k, false
			}
			k.Rule = n
		case "action":
			k.Action = v
		default:
			return k, false
		}
	}
	return k, k.Kind != "" && len(c) < maxComment-3
}

// String describes the key for people.
func (k CounterKey) String() string {
	var b strings.Builder
	b.WriteString(k.Direction)
	switch k.Kind {
	case CountRule:
		fmt.Fprintf(&b, " %s rule %d (tier %s): %s", k.Policy, k.Rule, k.Tier, k.Action)
	case CountProfile:
		fmt.Fprintf(&b, " %s rule %d: %s", k.Policy, k.Rule, k.Action)
	case CountEndOfTier:
		fmt.Fprintf(&b, " end of tier %s: Deny", k.Tier)
	case CountNoPolicy:
		b.WriteString(" no policy decided, no profile allowed: Deny")
	case CountFailsafe:
		fmt.Fprintf(&b, " %s: Allow", k.Policy)
	case CountFailClosed:
		fmt.Fprintf(&b, " failing closed (%s): Deny", k.Policy)
	case CountForward:
		b.WriteString(" forwarded, no applyOnForward policy decided: Allow")
	case CountStagedRule:
		fmt.Fprintf(&b, " staged: %s rule %d (tier %s) would Deny", k.Policy, k.Rule, k.Tier)
	case CountStagedEndOfTier:
		fmt.Fprintf(&b, " staged: end of tier %s would Deny", k.Tier)
	default:
		fmt.Fprintf(&b, " %s %s", k.Kind, k.Policy)
	}
	return b.String()
}

// count returns the statement that counts into key's counter, creating
// the counter on first use.
func (b *builder) count(key CounterKey) Statement {
	name := counterPrefix + shortHash(key.Comment())
	if b.counters == nil {
		b.counters = map[string]*Counter{}
	}
	if _, ok := b.counters[name]; !ok {
		b.counters[name] = &Counter{Name: name, Key: key}
	}
	return StmtCounter{Name: name}
}

// counted returns rules with key's counter as their first statement.
func (b *builder) counted(key CounterKey, rules []Rule) []Rule {
	if len(rules) == 0 {
		return rules
	}
	st := b.count(key)
	for i := range rules {
		rules[i].Statements = append([]Statement{st}, rules[i].Statements...)
	}
	return b.withFlowLog(key, st.(StmtCounter).Name, rules)
}

// sortedCounters lists the builder's counters by name.
func (b *builder) sortedCounters() []*Counter {
	out := make([]*Counter, 0, len(b.counters))
	for _, c := range b.counters {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Counter returns the counter called name, or nil.
func (r *Ruleset) Counter(name string) *Counter {
	for _, c := range r.Counters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ruleKey is the counter key of a policy's rule.
func ruleKey(p *policy.Policy, d policy.Direction, r *policy.Rule) CounterKey {
	return CounterKey{Kind: CountRule, Direction: d.String(), Tier: p.Tier,
		Policy: p.Kind + " " + p.Key(), Rule: r.Index, Action: r.Action.String()}
}

func writeCounter(w *strings.Builder, c *Counter) {
	fmt.Fprintf(w, "\tcounter %s {\n\t\tcomment %s\n", c.Name, quote(c.Key.Comment(), maxComment))
	if c.Packets != 0 || c.Bytes != 0 {
		fmt.Fprintf(w, "\t\tpackets %d bytes %d\n", c.Packets, c.Bytes)
	}
	w.WriteString("\t}\n\n")
}

// StepCounterKey is the key of the counter the kernel increments for a
// step of the evaluator's verdict (explain's lines): the policy or profile
// rule it names, the end of a tier, an endpoint's default Deny or the
// forward default. ok is false for steps no counter stands for (conntrack,
// failsafes, steps without a verdict).
func StepCounterKey(s policy.Step) (CounterKey, bool) {
	k := CounterKey{Direction: s.Direction, Rule: -1, Action: s.Action}
	switch {
	case s.Rule != nil && strings.HasPrefix(s.Policy, "Profile "):
		k.Kind, k.Policy, k.Rule = CountProfile, s.Policy, *s.Rule
	case s.Rule != nil:
		k.Kind, k.Tier, k.Policy, k.Rule = CountRule, s.Tier, s.Policy, *s.Rule
	case s.Policy != "":
		return k, false
	case s.Tier != "" && s.Result == policy.ResultDeny:
		k.Kind, k.Tier, k.Action = CountEndOfTier, s.Tier, "Deny"
	case s.Result == policy.ResultDeny && strings.HasPrefix(s.Reason, "no policy decided"):
		k.Kind, k.Action = CountNoPolicy, "Deny"
	case s.Result == policy.ResultAllow && s.Kind == policy.StageForward.String():
		k.Kind, k.Action = CountForward, "Allow"
	default:
		return k, false
	}
	return k, true
}
