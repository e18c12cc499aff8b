package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Model is the cluster as the evaluator sees it: every node with its
// interfaces, endpoints and settings, and the ordered tiers of policy.
type Model struct {
	Nodes         map[string]*Node
	Workloads     []*Workload
	HostEndpoints []*HostEndpoint
	Tiers         []*Tier
	Profiles      map[string]*Profile
	Services      []*Service
	NetworkSets   []*NetworkSet
	// Quarantine holds the addresses of unresolved workloads and host
	// endpoints, sorted (failclosed.go).
	Quarantine []netip.Prefix

	quarantineRules map[Direction]*Rule // QuarantineRule of Quarantine, by direction
	owners          []ipOwner
	idx             index
}

// Node is one host: its addresses, interfaces and Felix settings.
type Node struct {
	Name       string
	Labels     map[string]string
	Addrs      []netip.Addr
	Interfaces []Interface // host interfaces, lo included
	Felix      FelixSettings
	// Bound maps a workload ("namespace/name") on this node to the
	// interface its agent found by route lookup because the conventional
	// one does not exist (api.InterfaceReport.Bound). Such an interface is
	// a workload interface whatever its name.
	Bound map[string]string
	// Unbound and Missing are the rest of the agent's report: interfaces
	// named as a workload's with no workload (dropped), and workloads on
	// the node with no interface. They change no verdict.
	Unbound, Missing []string
}

// WorkloadInterface is the interface of workload w on n: the one its
// agent bound by route lookup, else the one its endpoint names.
func (n *Node) WorkloadInterface(w *Workload) string {
	if n != nil {
		if ifc, ok := n.Bound[w.Key()]; ok {
			return ifc
		}
	}
	return w.Interface
}

// IsWorkloadInterface reports whether packets on the named interface are a
// workload's: its name starts with an interface prefix, or an agent bound
// a workload to it by route lookup.
func (n *Node) IsWorkloadInterface(name string) bool {
	if n.Felix.isWorkloadInterface(name) {
		return true
	}
	for _, b := range n.Bound {
		if b == name {
			return true
		}
	}
	return false
}

// BoundInterfaces are the interfaces of Bound whose names match no
// interface prefix, sorted: those a prefix match does not already cover.
func (n *Node) BoundInterfaces() []string {
	var out []string
	for _, b := range n.Bound {
		if !n.Felix.isWorkloadInterface(b) && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
}

// Interface is a host interface and its addresses.
type Interface struct {
	Name  string
	Addrs []netip.Addr
}

// NamedPort is a named port of an endpoint (§8.4).
type NamedPort struct {
	Name  string
	Proto uint8
	Port  uint16
}

// Workload is a workload endpoint: a pod's (or VM's) interface on its node.
type Workload struct {
	Namespace string
	Name      string // the pod or workload name
	Node      string
	Interface string
	IPs       []netip.Addr
	Labels    labelMap
	Profiles  []*Profile
	Ports     []NamedPort
	// Unresolved says why the workload's labels or profiles cannot be
	// resolved (a profile it names does not exist); such a workload fails
	// closed (failclosed.go).
	Unresolved string
}

// Key is "namespace/name".
func (w *Workload) Key() string { return w.Namespace + "/" + w.Name }

// HostEndpoint is a normalised host endpoint.
type HostEndpoint struct {
	Name        string
	Node        string
	Interface   string // "", "*" or a name
	ExpectedIPs []netip.Addr
	Labels      labelMap
	Profiles    []*Profile
	Ports       []NamedPort
	// Unresolved: see Workload.Unresolved.
	Unresolved string
}

// IsWildcard reports whether the endpoint covers all interfaces.
func (h *HostEndpoint) IsWildcard() bool { return h.Interface == "*" }

// NetworkSet is a labelled set of CIDRs.
type NetworkSet struct {
	Namespace string
	Name      string
	Nets      []netip.Prefix
	Labels    labelMap
}

// Service is a Kubernetes Service of type NodePort, resolved to its backends.
type Service struct {
	Namespace string
	Name      string
	Local     bool // externalTrafficPolicy: Local
	Ports     []ServicePort
}

// ServicePort is one port of a NodePort service.
type ServicePort struct {
	Proto    uint8
	NodePort uint16
	Backends []Backend
}

// Backend is a pod and the port kube-proxy DNATs to.
type Backend struct {
	Workload *Workload
	Port     uint16
}

// ipOwner is anything a selector can resolve to addresses: a workload's IP,
// a host endpoint's expected IP or a network set's CIDR (§8.5 item 4).
type ipOwner struct {
	prefix netip.Prefix
	labels labelMap
	ports  []NamedPort
	what   string
}

// BuildError lists every problem found while building a model.
type BuildError struct{ Problems []error }

func (e *BuildError) Error() string {
	s := fmt.Sprintf("%d problem(s) in the input:", len(e.Problems))
	for _, p := range e.Problems {
		s += "\n  " + p.Error()
	}
	return s
}

// Unwrap returns the individual problems.
func (e *BuildError) Unwrap() []error { return e.Problems }

// NewModel builds the model from resources. Objects are taken in order; a
// later object with the same kind, namespace and name replaces an earlier
// one, as apply would. Staged policies are accepted and never enforced.
func NewModel(objs []api.Object) (*Model, error) {
	b := newBuilder(dedupe(objs))
	b.build()
	if len(b.problems) > 0 {
		return b.m, &BuildError{Problems: b.problems}
	}
	return b.m, nil
}

func identity(o api.Object) string {
	kind := api.KindOf(o)
	if _, ok := o.(*networkingv1.NetworkPolicy); ok {
		kind = "KubernetesNetworkPolicy"
	}
	if _, ok := o.(*corev1.Node); ok {
		kind = "KubernetesNode"
	}
	return kind + "/" + o.GetNamespace() + "/" + o.GetName()
}

func dedupe(objs []api.Object) []api.Object {
	pos := map[string]int{}
	var out []api.Object
	for _, o := range objs {
		id := identity(o)
		if i, ok := pos[id]; ok {
			out[i] = o
			continue
		}
		pos[id] = len(out)
		out = append(out, o)
	}
	return out
}

func (m *Model) sortAll() {
	sort.SliceStable(m.Workloads, func(i, j int) bool { return m.Workloads[i].Key() < m.Workloads[j].Key() })
	sort.SliceStable(m.HostEndpoints, func(i, j int) bool { return m.HostEndpoints[i].Name < m.HostEndpoints[j].Name })
	sortTiers(m.Tiers)
}

// NodeNames returns the node names in order.
func (m *Model) NodeNames() []string {
	out := make([]string, 0, len(m.Nodes))
	for n := range m.Nodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Workload returns the workload "namespace/name".
func (m *Model) Workload(ns, name string) *Workload {
	for _, w := range m.Workloads {
		if w.Namespace == ns && w.Name == name {
			return w
		}
	}
	return nil
}

// workloadByIP returns the workload owning a, if any.
func (m *Model) workloadByIP(a netip.Addr) *Workload { return m.idx.wlByIP[a] }

// nodeByIP returns the node owning a (any of its interface addresses).
func (m *Model) nodeByIP(a netip.Addr) *Node { return m.idx.nodeByIP[a] }

var errNoAddress = errors.New("has no address")
