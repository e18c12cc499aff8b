package render

import (
	"net/netip"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/selector"
)

// Source is what Node reads to render one node: exactly the queries it
// makes. *policy.Model satisfies it (answering for any node, by scanning
// the whole cluster for selector memberships); calc.Engine's view answers
// for its own node from incrementally maintained indexes. Slices returned
// are read, never modified.
type Source interface {
	// Node is the node named name, nil if there is none.
	Node(name string) *policy.Node
	// WorkloadsOn lists the node's workloads, ordered by Key.
	WorkloadsOn(node string) []*policy.Workload
	// HostEndpointsOn lists the node's host endpoints, ordered by name.
	HostEndpointsOn(node string) []*policy.HostEndpoint
	// WorkloadPolicies and HostEndpointPolicies are the tiers, in order,
	// with the policies (in order) that apply to an endpoint (§7.1).
	WorkloadPolicies(w *policy.Workload, d policy.Direction) []policy.TierPolicies
	HostEndpointPolicies(h *policy.HostEndpoint, k policy.StageKind, d policy.Direction) []policy.TierPolicies
	// Host endpoint dispatch (§1.2, §3.2 and the errata's preDNAT rule).
	NamedHostEndpoint(n *policy.Node, iface string) *policy.HostEndpoint
	WildcardHostEndpoint(n *policy.Node) *policy.HostEndpoint
	PreDNATHostEndpoint(n *policy.Node, iface string) *policy.HostEndpoint
	UntrackedHostEndpoint(n *policy.Node, iface string, d policy.Direction) *policy.HostEndpoint
	// SelectorMembers and NamedPortMembers resolve a rule side's selectors
	// and named ports over every address owner in the cluster (§8.4,
	// §8.5), sorted as policy.Model sorts them.
	SelectorMembers(sel, notSel *selector.Selector) iplist.List
	NamedPortMembers(sel *selector.Selector, names []string) []policy.NamedPortMember
	// Quarantined lists the addresses of unresolved workloads and host
	// endpoints anywhere in the cluster, sorted (policy.SortPrefixes).
	Quarantined() []netip.Prefix
}

var _ Source = (*policy.Model)(nil)
