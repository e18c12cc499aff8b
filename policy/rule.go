package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/selector"
)

// Action is what a rule or a stage decides.
type Action uint8

// Rule actions.
const (
	ActionAllow Action = iota + 1
	ActionDeny
	ActionLog
	ActionPass
)

func (a Action) String() string {
	switch a {
	case ActionAllow:
		return "Allow"
	case ActionDeny:
		return "Deny"
	case ActionLog:
		return "Log"
	case ActionPass:
		return "Pass"
	}
	return "None"
}

func actionFrom(a api.Action) (Action, error) {
	switch a {
	case api.Allow:
		return ActionAllow, nil
	case api.Deny:
		return ActionDeny, nil
	case api.Log:
		return ActionLog, nil
	case api.Pass:
		return ActionPass, nil
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

func (p PortRange) contains(port uint16) bool { return port >= p.Lo && port <= p.Hi }

// ICMPMatch matches an ICMP type and, when Code is non-nil, a code.
type ICMPMatch struct {
	Type uint8
	Code *uint8
}

// Side is the source or destination half of a rule, normalised.
type Side struct {
	Nets    []netip.Prefix
	NotNets []netip.Prefix
	// Selector is the effective positive selector (namespace scope,
	// service accounts and the rule's own selector combined, §8.5); nil
	// means no selector constraint.
	Selector *selector.Selector
	// NotSelector is matched as given (§8.5 step 5).
	NotSelector   *selector.Selector
	Ports         []PortRange
	NamedPorts    []string
	NotPorts      []PortRange
	NotNamedPorts []string
}

// Rule is the one internal rule type that Calico rules, profile rules and
// converted Kubernetes rules are normalised into.
type Rule struct {
	Index       int // position in its policy's rule list for this direction
	Action      Action
	IPVersion   int   // 0 = both families
	Protocol    uint8 // 0 = any
	NotProtocol uint8 // 0 = none
	ICMP        *ICMPMatch
	NotICMP     *ICMPMatch
	Src, Dst    Side
	// families says in which IP families the rule is rendered at all
	// (errata §8.3: a rule whose nets hold only the other family, or a
	// protocol ICMP/ICMPv6 by name, is dropped for a family).
	v4, v6 bool
}

// ruleScope carries what a rule's selectors need from the policy that owns
// it: the namespace of a namespaced policy ("" for global objects).
type ruleScope struct {
	namespace string
}

func compileRules(rs []api.Rule, scope ruleScope, path string) ([]Rule, error) {
	out := make([]Rule, 0, len(rs))
	for i := range rs {
		r, err := compileRule(&rs[i], scope)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", path, i, err)
		}
		r.Index = i
		out = append(out, r)
	}
	return out, nil
}

func compileRule(ar *api.Rule, scope ruleScope) (Rule, error) {
	var r Rule
	var err error
	if r.Action, err = actionFrom(ar.Action); err != nil {
		return r, err
	}
	if ar.IPVersion != nil {
		r.IPVersion = *ar.IPVersion
	}
	r.v4, r.v6 = true, true
	if ar.Protocol != nil {
		if r.Protocol, err = protoNumber(*ar.Protocol); err != nil {
			return r, fmt.Errorf("protocol: %w", err)
		}
		familyOfProtocolName(ar.Protocol, &r)
	}
	if ar.NotProtocol != nil {
		if r.NotProtocol, err = protoNumber(*ar.NotProtocol); err != nil {
			return r, fmt.Errorf("notProtocol: %w", err)
		}
	}
	r.ICMP = icmpMatch(ar.ICMP)
	r.NotICMP = icmpMatch(ar.NotICMP)
	if r.Src, err = compileSide(&ar.Source, scope); err != nil {
		return r, fmt.Errorf("source: %w", err)
	}
	if r.Dst, err = compileSide(&ar.Destination, scope); err != nil {
		return r, fmt.Errorf("destination: %w", err)
	}
	applyNetFamilies(&r)
	if (ar.Source.Services != nil || ar.Destination.Services != nil) && r.Action != ActionDeny {
		// A services match (Calico resolves it from Kubernetes endpoint
		// slices) is not resolved: never fail open. An Allow, Pass or Log
		// rule with one matches nothing; a Deny rule matches as if the
		// services field were absent (docs/semantics.md §8.6).
		r.v4, r.v6 = false, false
	}
	switch r.IPVersion {
	case 4:
		r.v6 = false
	case 6:
		r.v4 = false
	}
	return r, nil
}

// familyOfProtocolName: ICMP by name is IPv4 only and ICMPv6 IPv6 only; the
// numbers 1 and 58 are rendered in both families (errata §8.3).
func familyOfProtocolName(p *api.Protocol, r *Rule) {
	switch strings.ToLower(p.Name) {
	case "icmp":
		r.v6 = false
	case "icmpv6":
		r.v4 = false
	}
}

// applyNetFamilies drops the rule for a family when any of its four net
// fields holds only the other family (errata §8.3 and §13 item 13).
func applyNetFamilies(r *Rule) {
	for _, nets := range [][]netip.Prefix{r.Src.Nets, r.Src.NotNets, r.Dst.Nets, r.Dst.NotNets} {
		if len(nets) == 0 {
			continue
		}
		has4, has6 := false, false
		for _, n := range nets {
			if n.Addr().Is4() {
				has4 = true
			} else {
				has6 = true
			}
		}
		if !has4 {
			r.v4 = false
		}
		if !has6 {
			r.v6 = false
		}
	}
}

func protoNumber(p api.Protocol) (uint8, error) {
	n := p.Number()
	if n < 1 || n > 255 {
		return 0, fmt.Errorf("invalid protocol %q", p.String())
	}
	return uint8(n), nil
}

func icmpMatch(f *api.ICMPFields) *ICMPMatch {
	if f == nil || f.Type == nil {
		return nil
	}
	m := &ICMPMatch{Type: uint8(*f.Type)}
	if f.Code != nil {
		c := uint8(*f.Code)
		m.Code = &c
	}
	return m
}

func compileSide(e *api.EntityRule, scope ruleScope) (Side, error) {
	var s Side
	var err error
	if s.Nets, err = parseNets(e.Nets); err != nil {
		return s, fmt.Errorf("nets: %w", err)
	}
	if s.NotNets, err = parseNets(e.NotNets); err != nil {
		return s, fmt.Errorf("notNets: %w", err)
	}
	s.Ports, s.NamedPorts = splitPorts(e.Ports)
	s.NotPorts, s.NotNamedPorts = splitPorts(e.NotPorts)
	if s.Selector, err = effectiveSelector(e, scope); err != nil {
		return s, err
	}
	if e.NotSelector != "" {
		if s.NotSelector, err = selector.Parse(e.NotSelector); err != nil {
			return s, fmt.Errorf("notSelector: %w", err)
		}
	}
	return s, nil
}

// parseNets accepts masked CIDRs and, leniently, plain addresses (as /32 or
// /128) and unmasked CIDRs, which it masks (§8.3).
func parseNets(in []string) ([]netip.Prefix, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(in))
	for _, s := range in {
		p, err := ParsePrefixLenient(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePrefixLenient parses a CIDR or a bare address and masks host bits.
func ParsePrefixLenient(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func splitPorts(ps []api.Port) ([]PortRange, []string) {
	var nums []PortRange
	var names []string
	for _, p := range ps {
		if p.IsNamed() {
			names = append(names, p.Name)
		} else {
			nums = append(nums, PortRange{p.MinPort, p.MaxPort})
		}
	}
	return nums, names
}

// effectiveSelector builds the positive selector of one side of a rule
// (docs/api.md §3.3, semantics §8.5 steps 1-3).
func effectiveSelector(e *api.EntityRule, scope ruleScope) (*selector.Selector, error) {
	var nsPart, selPart *selector.Selector
	var err error
	switch {
	case e.NamespaceSelector != "":
		if nsPart, err = namespaceScope(e.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("namespaceSelector: %w", err)
		}
	case scope.namespace != "":
		nsPart = selector.MustParse(fmt.Sprintf("%s == %q", LabelNamespace, scope.namespace))
	}
	if e.ServiceAccounts != nil {
		if selPart, err = serviceAccountSelector(e.ServiceAccounts); err != nil {
			return nil, fmt.Errorf("serviceAccounts: %w", err)
		}
	}
	if e.Selector != "" {
		s, err := selector.Parse(e.Selector)
		if err != nil {
			return nil, fmt.Errorf("selector: %w", err)
		}
		selPart = andOpt(selPart, s)
	}
	anySet := e.Selector != "" || e.NotSelector != "" || e.NamespaceSelector != "" || e.ServiceAccounts != nil
	if nsPart != nil && anySet {
		return andOpt(nsPart, selPart), nil
	}
	return selPart, nil
}

func andOpt(a, b *selector.Selector) *selector.Selector {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return selector.And(a, b)
}

// namespaceScope turns a rule's namespaceSelector into a selector over
// endpoint labels: namespace labels are seen with the pcns. prefix; all()
// means any namespaced object and global() any non-namespaced one (§8.5).
func namespaceScope(text string) (*selector.Selector, error) {
	s, err := selector.Parse(text)
	if err != nil {
		return nil, err
	}
	if s.IsExactlyGlobal() {
		return selector.MustParse("!has(" + LabelNamespace + ")"), nil
	}
	return prefixed(s, PrefixNamespace, LabelNamespace), nil
}

// prefixed renames every label key with prefix and rewrites all() to
// has(allLabel): a rule's namespaceSelector (rules.go behaviour).
func prefixed(s *selector.Selector, prefix, allLabel string) *selector.Selector {
	return selector.ReplaceAll(withPrefix(s, prefix), selector.MustParse("has("+allLabel+")"))
}

// withPrefix renames every label key with prefix.
func withPrefix(s *selector.Selector, prefix string) *selector.Selector {
	return selector.Rewrite(s, func(k string) string { return prefix + k })
}

func serviceAccountSelector(sa *api.ServiceAccountMatch) (*selector.Selector, error) {
	var out *selector.Selector
	if len(sa.Names) > 0 {
		quoted := make([]string, len(sa.Names))
		for i, n := range sa.Names {
			quoted[i] = fmt.Sprintf("%q", n)
		}
		out = selector.MustParse(LabelServiceAccount + " in {" + strings.Join(quoted, ", ") + "}")
	}
	if sa.Selector != "" {
		s, err := selector.Parse(sa.Selector)
		if err != nil {
			return nil, fmt.Errorf("selector: %w", err)
		}
		// One more label selector over pcsa.-prefixed keys; all() is not
		// rewritten, so like any rule selector it matches network sets too.
		out = andOpt(out, withPrefix(s, PrefixServiceAccount))
	}
	return out, nil
}
