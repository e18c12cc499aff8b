package policy

import (
	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// More of NewModel's derivations, exported for package calc (see
// derive.go): policies, tiers, profiles, their ordering, host endpoint
// dispatch over one node's endpoints, and NodePort services.

// CompilePolicy compiles a GlobalNetworkPolicy, a NetworkPolicy or a
// Kubernetes NetworkPolicy; the error is the problem NewModel would report.
// The policy is in the model only if its tier exists.
func CompilePolicy(o api.Object) (*Policy, error) { return compilePolicy(o) }

// AppliesIn reports whether p takes part in evaluating an endpoint that its
// selector matches, in stage kind k and direction d; host is true for a
// host endpoint, which only global policy reaches (§7.1).
func (p *Policy) AppliesIn(k StageKind, d Direction, host bool) bool {
	return p.inKind(k) && p.governs(d) && (!host || p.global)
}

// CompileTier compiles a Tier as NewModel does (the tier "default" keeps the
// Deny default action, and order 1e6 unless it sets one).
func CompileTier(t *api.Tier) *Tier {
	b := &builder{m: &Model{}, tiers: []*api.Tier{t}}
	b.buildPolicies()
	for _, ct := range b.m.Tiers {
		if ct.Name == t.Name {
			return ct
		}
	}
	panic("policy: CompileTier lost tier " + t.Name)
}

// DefaultTier is the tier "default" when no Tier object defines it.
func DefaultTier() *Tier { return defaultTier() }

// SortTierPolicies orders tiers and, within each, policies as NewModel
// does (§7.3): by order, then name (tiers) or the v3.32 tie-break
// (policies). The policy slices are sorted in place.
func SortTierPolicies(tps []TierPolicies) {
	ts := make([]*Tier, len(tps))
	orig := make(map[*Tier]*Tier, len(tps))
	for i, tp := range tps {
		ts[i] = &Tier{Name: tp.Tier.Name, Order: tp.Tier.Order, Policies: tp.Policies}
		orig[ts[i]] = tp.Tier
	}
	sortTiers(ts)
	for i, t := range ts {
		tps[i] = TierPolicies{Tier: orig[t], Policies: t.Policies}
	}
}

// CompileProfile compiles a Profile; the error is the problem NewModel
// would report (the profile is then not in the model).
func CompileProfile(p *api.Profile) (*Profile, error) { return compileProfile(p) }

// DefaultAllowProfile is projectcalico-default-allow, unless a Profile
// object of that name replaces it.
func DefaultAllowProfile() *Profile { return allowAllProfile(api.DefaultAllowProfile, nil) }

// NamespaceProfile is the kns.<ns> profile of a namespace with the given
// labels (nil for a namespace that only its pods name). It replaces a
// Profile object of the same name.
func NamespaceProfile(ns string, labels map[string]string) *Profile {
	return allowAllProfile(NamespaceProfileName(ns), namespaceProfileLabels(ns, labels))
}

// ServiceAccountProfile is the ksa.<ns>.<sa> profile of a service account
// with the given labels (nil when no ServiceAccount object exists). A
// Profile object of the same name replaces it. It exists when a pod that
// is not host-networked runs as the service account.
func ServiceAccountProfile(ns, sa string, labels map[string]string) *Profile {
	b := &builder{m: &Model{Profiles: map[string]*Profile{}},
		sas: map[string]map[string]string{ns + "/" + sa: labels}}
	return b.saProfile(ns, sa)
}

// HostDispatch answers the host endpoint dispatch questions of §1.2 and
// §3.2 (with the errata's preDNAT rule) for one node, from that node's
// host endpoints alone: Model's own dispatch code run on a model holding
// just them.
type HostDispatch struct{ m *Model }

// NewHostDispatch returns the dispatch of node n over heps (n's host
// endpoints, sorted by name). has reports whether any policy of kind k
// applies to h in direction d; it is asked for preDNAT ingress and
// untracked ingress and egress only.
func NewHostDispatch(n *Node, heps []*HostEndpoint, has func(h *HostEndpoint, k StageKind, d Direction) bool) *HostDispatch {
	m := &Model{Nodes: map[string]*Node{n.Name: n}, HostEndpoints: heps}
	m.idx.applicable = map[epKey][]tierPolicies{}
	asked := []struct {
		k StageKind
		d Direction
	}{{StagePreDNAT, Ingress}, {StageUntracked, Ingress}, {StageUntracked, Egress}}
	for _, h := range heps {
		for _, q := range asked {
			if has(h, q.k, q.d) {
				m.idx.applicable[epKey{hep: h, k: q.k, d: q.d}] = []tierPolicies{{}}
			}
		}
	}
	return &HostDispatch{m: m}
}

// Named is Model.NamedHostEndpoint.
func (x *HostDispatch) Named(n *Node, iface string) *HostEndpoint { return x.m.namedHEP(n, iface) }

// Wildcard is Model.WildcardHostEndpoint.
func (x *HostDispatch) Wildcard(n *Node) *HostEndpoint { return x.m.wildcardHEP(n) }

// PreDNAT is Model.PreDNATHostEndpoint.
func (x *HostDispatch) PreDNAT(n *Node, iface string) *HostEndpoint { return x.m.preDNATHEP(n, iface) }

// Untracked is Model.UntrackedHostEndpoint.
func (x *HostDispatch) Untracked(n *Node, iface string, d Direction) *HostEndpoint {
	return x.m.untrackedHEP(n, iface, d)
}

// NodePortServices resolves NodePort and LoadBalancer services to their
// backends among workloads (sorted by Key), through their EndpointSlices
// when they have any, as NewModel does; services without a node port are
// left out.
func NodePortServices(svcs []*corev1.Service, slices []*discoveryv1.EndpointSlice, workloads []*Workload) []*Service {
	b := &builder{m: &Model{Workloads: workloads}, services: svcs, slices: slices}
	b.buildServices()
	return b.m.Services
}
