package policy

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/selector"
)

// Class is the stage family a policy belongs to (§7.1).
type Class uint8

// Policy classes.
const (
	ClassNormal Class = iota
	ClassPreDNAT
	ClassUntracked
)

// Policy is a normalised, enforced policy.
type Policy struct {
	Kind      string // GlobalNetworkPolicy, NetworkPolicy or KubernetesNetworkPolicy
	Namespace string
	Name      string
	Tier      string
	Order     float64 // +Inf when unset
	Selector  *selector.Selector
	Ingress   []Rule
	Egress    []Rule
	// governs[dir] says whether types lists the direction.
	GovernsIngress bool
	GovernsEgress  bool
	Class          Class
	ApplyOnForward bool
	global         bool
	// Unenforceable is set on a fail-closed stand-in (failclosed.go): why
	// the policy cannot be enforced as written.
	Unenforceable string
	standIn       *Policy // the stand-in Enforced uses when the tier is missing
}

// Key identifies a policy in explanations: name, or namespace/name.
func (p *Policy) Key() string {
	if p.Namespace == "" {
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

func (p *Policy) governs(d Direction) bool {
	if d == Ingress {
		return p.GovernsIngress
	}
	return p.GovernsEgress
}

func (p *Policy) rules(d Direction) []Rule {
	if d == Ingress {
		return p.Ingress
	}
	return p.Egress
}

// tieKey is the v3.32 equal-order tie-break string (decision 1, §7.3).
func (p *Policy) tieKey() string { return p.Name + "/" + p.Namespace + "/" + p.Kind }

// Tier is a normalised tier.
type Tier struct {
	Name          string
	Order         float64 // +Inf when unset
	DefaultAction Action  // ActionDeny or ActionPass
	Policies      []*Policy
}

func orderOf(o *float64) float64 {
	if o == nil {
		return math.Inf(1)
	}
	return *o
}

func sortTiers(ts []*Tier) {
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].Order != ts[j].Order {
			return ts[i].Order < ts[j].Order
		}
		return ts[i].Name < ts[j].Name
	})
	for _, t := range ts {
		sort.SliceStable(t.Policies, func(i, j int) bool {
			a, b := t.Policies[i], t.Policies[j]
			if a.Order != b.Order {
				return a.Order < b.Order
			}
			return a.tieKey() < b.tieKey()
		})
	}
}

func compileTier(t *api.Tier) *Tier {
	out := &Tier{Name: t.Name, Order: orderOf(t.Spec.Order), DefaultAction: ActionDeny}
	if t.Spec.DefaultAction != nil && *t.Spec.DefaultAction == api.Pass {
		out.DefaultAction = ActionPass
	}
	return out
}

func defaultTier() *Tier {
	return &Tier{Name: api.DefaultTierName, Order: 1e6, DefaultAction: ActionDeny}
}

func tierName(t string) string {
	if t == "" {
		return api.DefaultTierName
	}
	return t
}

func hasType(ts []api.PolicyType, want api.PolicyType, ingress, egress []api.Rule) bool {
	if len(ts) == 0 {
		// Defaulting normally fills types; if it did not (an object built in
		// code), infer as calicoctl does (§7.5).
		if want == api.PolicyTypeEgress {
			return len(egress) > 0
		}
		return len(ingress) > 0 || len(egress) == 0
	}
	for _, t := range ts {
		if t == want {
			return true
		}
	}
	return false
}

func compileGNP(g *api.GlobalNetworkPolicy) (*Policy, error) {
	s := &g.Spec
	sel, err := globalPolicySelector(s.Selector, s.NamespaceSelector, s.ServiceAccountSelector)
	if err != nil {
		return nil, err
	}
	p := &Policy{
		Kind: api.KindGlobalNetworkPolicy, Name: g.Name, Tier: tierName(s.Tier),
		Order: orderOf(s.Order), Selector: sel, ApplyOnForward: s.ApplyOnForward, global: true,
		GovernsIngress: hasType(s.Types, api.PolicyTypeIngress, s.Ingress, s.Egress),
		GovernsEgress:  hasType(s.Types, api.PolicyTypeEgress, s.Ingress, s.Egress),
	}
	switch {
	case s.DoNotTrack:
		p.Class = ClassUntracked
	case s.PreDNAT:
		// preDNAT policy is ingress only; egress is dropped (§7.1).
		p.Class = ClassPreDNAT
		p.GovernsEgress = false
	}
	if p.Ingress, err = compileRules(s.Ingress, ruleScope{}, "spec.ingress"); err != nil {
		return nil, err
	}
	if p.Egress, err = compileRules(s.Egress, ruleScope{}, "spec.egress"); err != nil {
		return nil, err
	}
	return p, nil
}

// globalPolicySelector combines a GNP's selector with its namespace and
// service account selectors (docs/api.md §2.1).
func globalPolicySelector(sel, nsSel, saSel string) (*selector.Selector, error) {
	s, err := selector.Parse(sel)
	if err != nil {
		return nil, fmt.Errorf("spec.selector: %w", err)
	}
	empty := strings.TrimSpace(sel) == ""
	// As Calico's global policy processor: append the prefixed selector
	// (alone when the policy's own is empty), then rewrite every all() in
	// the result, the policy's own selector included.
	appendRewritten := func(field, text, prefix, allLabel string) error {
		n, err := selector.Parse(text)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		n = withPrefix(n, prefix)
		if empty {
			s, empty = n, false
		} else {
			s = selector.And(s, n)
		}
		s = selector.ReplaceAll(s, selector.MustParse("has("+allLabel+")"))
		return nil
	}
	if nsSel != "" {
		if err := appendRewritten("spec.namespaceSelector", nsSel, PrefixNamespace, LabelNamespace); err != nil {
			return nil, err
		}
	}
	if saSel != "" {
		if err := appendRewritten("spec.serviceAccountSelector", saSel, PrefixServiceAccount, LabelServiceAccount); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func compileNP(n *api.NetworkPolicy, kind string) (*Policy, error) {
	s := &n.Spec
	sel, err := selector.Parse(s.Selector)
	if err != nil {
		return nil, fmt.Errorf("spec.selector: %w", err)
	}
	// A namespaced policy applies only in its namespace (§7.1); it can never
	// select a host endpoint, and its applyOnForward is forced false.
	nsClause := selector.MustParse(fmt.Sprintf("%s == %q", LabelNamespace, n.Namespace))
	if sel.IsAll() {
		sel = nsClause
	} else {
		sel = selector.And(sel, nsClause)
	}
	if s.ServiceAccountSelector != "" {
		sa, err := selector.Parse(s.ServiceAccountSelector)
		if err != nil {
			return nil, fmt.Errorf("spec.serviceAccountSelector: %w", err)
		}
		sel = selector.And(sel, withPrefix(sa, PrefixServiceAccount)) // appended, nothing rewritten
	}
	p := &Policy{
		Kind: kind, Namespace: n.Namespace, Name: n.Name, Tier: tierName(s.Tier),
		Order: orderOf(s.Order), Selector: sel,
		GovernsIngress: hasType(s.Types, api.PolicyTypeIngress, s.Ingress, s.Egress),
		GovernsEgress:  hasType(s.Types, api.PolicyTypeEgress, s.Ingress, s.Egress),
	}
	scope := ruleScope{namespace: n.Namespace}
	if p.Ingress, err = compileRules(s.Ingress, scope, "spec.ingress"); err != nil {
		return nil, err
	}
	if p.Egress, err = compileRules(s.Egress, scope, "spec.egress"); err != nil {
		return nil, err
	}
	return p, nil
}

// Profile is a normalised profile.
type Profile struct {
	Name    string
	Ingress []Rule
	Egress  []Rule
	Labels  map[string]string
}

func compileProfile(p *api.Profile) (*Profile, error) {
	out := &Profile{Name: p.Name, Labels: p.Spec.LabelsToApply}
	var err error
	if out.Ingress, err = compileRules(p.Spec.Ingress, ruleScope{}, "spec.ingress"); err != nil {
		return nil, err
	}
	if out.Egress, err = compileRules(p.Spec.Egress, ruleScope{}, "spec.egress"); err != nil {
		return nil, err
	}
	return out, nil
}

// allowAllProfile is projectcalico-default-allow and the kns.<ns> profiles'
// rule set (§6 item 6, §7.6). Every such profile shares one rule list
// (compiled rules are never modified; its capacity is its length, so an
// append copies): a cluster of 100,000 namespaces held 38 MB of copies.
func allowAllProfile(name string, labels map[string]string) *Profile {
	return &Profile{Name: name, Ingress: allowAllRules, Egress: allowAllRules, Labels: labels}
}

var allowAllRules = []Rule{{Action: ActionAllow, v4: true, v6: true}}[:1:1]
