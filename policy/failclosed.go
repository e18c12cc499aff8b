package policy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/k8sconv"
	"github.com/palisade-net/palisade/selector"
)

// Failing closed. Palisade never lets a broken reference or an unreadable
// stored object open traffic that the intact object would have denied:
//
//   - A policy whose tier does not exist, and a policy whose stored value
//     cannot be read, are enforced as a stand-in: the same selector, class
//     and directions, every rule Deny, in a fail-closed tier ordered
//     before every real tier. What the policy might select is denied (after
//     conntrack and failsafes, as any policy).
//   - A workload or host endpoint that names a profile that does not exist
//     (or cannot be read) is unresolved: its own traffic is denied (after
//     conntrack and failsafes) and, since its labels are incomplete, its
//     addresses are quarantined: every other endpoint denies traffic from
//     and to them in normal and forward policy.

// UnreadableTier is the tier name given to policies whose stored value
// cannot be read. It is not a valid Tier name, so no real tier shares it.
const UnreadableTier = "(unreadable)"

// FailClosedTier is the tier in which stand-ins for policies of tier name
// are enforced: before every real tier, ending in Deny.
func FailClosedTier(name string) *Tier {
	return &Tier{Name: name, Order: math.Inf(-1), DefaultAction: ActionDeny}
}

// Enforced returns the policy and tier an evaluation uses for p, whose tier
// is t (nil when the tier does not exist): p in t, or p's deny-all stand-in
// in the fail-closed tier when p cannot be enforced as written.
func Enforced(p *Policy, t *Tier) (*Policy, *Tier) {
	switch {
	case p.Unenforceable != "":
		return p, FailClosedTier(p.Tier)
	case t == nil:
		if p.standIn == nil {
			p.standIn = p.denyAll(fmt.Sprintf("tier %q does not exist", p.Tier))
		}
		return p.standIn, FailClosedTier(p.Tier)
	}
	return p, t
}

// denyAll is p with every rule replaced by one Deny rule per direction it
// governs.
func (p *Policy) denyAll(reason string) *Policy {
	out := *p
	out.standIn = nil
	out.Unenforceable = reason
	out.Ingress, out.Egress = nil, nil
	if out.GovernsIngress {
		out.Ingress = []Rule{denyRule()}
	}
	if out.GovernsEgress {
		out.Egress = []Rule{denyRule()}
	}
	return &out
}

func denyRule() Rule { return Rule{Action: ActionDeny, v4: true, v6: true} }

// compileUnreadable is the stand-in for a policy whose stored value cannot
// be read: it may have selected anything its kind can select (every
// endpoint for a GlobalNetworkPolicy, in normal and forward policy; every
// workload of its namespace for a namespaced one), so it denies that.
func compileUnreadable(u *api.Unreadable) (*Policy, bool) {
	p := &Policy{Name: u.Name, Namespace: u.Namespace, Tier: UnreadableTier, Order: math.Inf(-1),
		GovernsIngress: true, GovernsEgress: true, Class: ClassNormal}
	switch {
	case u.Of == api.KindGlobalNetworkPolicy:
		p.Kind, p.global, p.ApplyOnForward = api.KindGlobalNetworkPolicy, true, true
		p.Selector = selector.MustParse("all()")
	case u.Of == api.KindNetworkPolicy || u.Kubernetes() && u.BaseKind() == api.KindNetworkPolicy:
		p.Kind = api.KindNetworkPolicy
		if u.Kubernetes() {
			p.Kind = k8sconv.KindKubernetesNetworkPolicy
		}
		p.Selector = selector.MustParse(fmt.Sprintf("%s == %q", LabelNamespace, u.Namespace))
	default:
		return nil, false
	}
	p = p.denyAll("its stored value cannot be read: " + u.Err)
	return p, true
}

// failClosedKey keys a fail-closed tier apart from a real tier of its name
// while the builder collects tiers.
func failClosedKey(name string) string { return "\x00fail-closed/" + name }

// unreadable sorts an object whose stored value cannot be read: a policy
// becomes its stand-in; any other kind is simply absent (a missing tier
// or profile then fails closed where it is referenced). Each is a problem.
func (b *builder) unreadable(u *api.Unreadable) {
	if _, ok := compileUnreadable(u); ok {
		b.policies = append(b.policies, u)
		return // compilePolicy reports it
	}
	b.problems = append(b.problems, UnreadableError(u))
}

// UnreadableError is the problem an unreadable stored object is reported as.
func UnreadableError(u *api.Unreadable) error {
	return fmt.Errorf("%s: stored value cannot be read: %s", api.ID(u), u.Err)
}

// requiredProfiles resolves the profiles an endpoint's spec.profiles
// names; the error names the first that does not exist (the endpoint is
// then unresolved, with the profiles that do).
func (b *builder) requiredProfiles(names []string) ([]*Profile, error) {
	var out []*Profile
	var err error
	for _, pn := range names {
		p, ok := b.m.Profiles[pn]
		if !ok {
			if err == nil {
				err = missingProfile(pn)
			}
			continue
		}
		out = append(out, p)
	}
	return out, err
}

// appendHosts adds a host prefix per address.
func appendHosts(out []netip.Prefix, ips []netip.Addr) []netip.Prefix {
	for _, ip := range ips {
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out
}

// SortPrefixes sorts prefixes by address, then length, and drops repeats
// (in place): the order of the model's quarantine and selector members.
func SortPrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(ps)
}

// QuarantineRule is the Deny rule every endpoint runs in normal and forward
// policy before its tiers: traffic from (ingress) or to (egress) an
// address of an unresolved endpoint. nil when nothing is quarantined.
func QuarantineRule(q []netip.Prefix, d Direction) *Rule {
	if len(q) == 0 {
		return nil
	}
	r := denyRule()
	if d == Ingress {
		r.Src.Nets = q
	} else {
		r.Dst.Nets = q
	}
	r.v4, r.v6 = false, false
	for _, p := range q {
		if p.Addr().Is4() {
			r.v4 = true
		} else {
			r.v6 = true
		}
	}
	return &r
}

// Quarantined returns the sorted quarantine (render.Source).
func (m *Model) Quarantined() []netip.Prefix { return m.Quarantine }

// FailClosedError is a problem the model fails closed on: traffic that the
// broken object might have allowed or denied is denied instead.
type FailClosedError struct{ Msg string }

func (e *FailClosedError) Error() string { return e.Msg }

// IsFailClosed reports whether a problem is or wraps a *FailClosedError.
func IsFailClosed(err error) bool { var e *FailClosedError; return errors.As(err, &e) }

// MissingTierError is the problem of a policy whose tier does not exist.
func MissingTierError(tier string) error {
	return &FailClosedError{Msg: fmt.Sprintf("spec.tier: tier %q does not exist", tier)}
}

func missingProfile(name string) error {
	return &FailClosedError{Msg: fmt.Sprintf("spec.profiles: profile %q does not exist", name)}
}
