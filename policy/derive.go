package policy

import (
	"fmt"
	"net/netip"

	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
)

// This file exports NewModel's derivations one object at a time, for an
// engine that keeps a model up to date incrementally (package calc). Each
// function runs the builder's own code on a builder holding just what the
// derivation reads, so the semantics stay in one place; the engine's
// equivalence tests check the results against NewModel.

// Derived is one workload, host endpoint or network set as NewModel derives
// it, with what an incremental engine needs to index its labels: its own
// labels and the names of the profiles it inherits labels from. Exactly one
// of Workload, HostEndpoint and NetworkSet is set. Until Resolve, its
// Profiles are placeholders and its Labels are its own.
type Derived struct {
	Workload     *Workload
	HostEndpoint *HostEndpoint
	NetworkSet   *NetworkSet
	// Own are the labels before inheritance (reserved labels included);
	// read only.
	Own map[string]string
	// Parents are the profiles inherited from, in precedence order: a pod's
	// kns.<ns> and ksa.<ns>.<sa>, a namespaced network set's kns.<ns>, a
	// workload or host endpoint's spec.profiles.
	Parents []string
	// required: a missing parent is an error (spec.profiles), not a
	// parent without labels.
	required bool
}

// standins returns a builder whose profiles are label-less placeholders
// for names, so a derivation run on it yields the object's own labels.
func standins(names ...string) *builder {
	b := &builder{m: &Model{Profiles: map[string]*Profile{}}, sas: map[string]map[string]string{}}
	for _, n := range names {
		b.m.Profiles[n] = &Profile{Name: n}
	}
	return b
}

// PodServiceAccount is the service account a pod runs as: its
// serviceAccountName, or "default".
func PodServiceAccount(p *corev1.Pod) string {
	if sa := p.Spec.ServiceAccountName; sa != "" {
		return sa
	}
	return "default"
}

// NamespaceProfileName and ServiceAccountProfileName name the profiles a
// Kubernetes datastore synthesises for a namespace and a service account.
func NamespaceProfileName(ns string) string { return "kns." + ns }

// ServiceAccountProfileName: see NamespaceProfileName.
func ServiceAccountProfileName(ns, sa string) string { return "ksa." + ns + "." + sa }

// DerivePod derives the workload of a pod; ok is false for a host-networked
// pod, which has none (it is one of its node's processes).
func DerivePod(p *corev1.Pod) (d *Derived, ok bool) {
	if p.Spec.HostNetwork {
		return nil, false
	}
	sa := PodServiceAccount(p)
	kns := NamespaceProfileName(p.Namespace)
	ksa := ServiceAccountProfileName(p.Namespace, sa)
	// The pod's profiles as stand-ins (no labels, no rules) until Resolve
	// finds them: as the model's builder derives the pod, without one.
	w := podWorkloadWith(p, sa, []*Profile{{Name: kns}, {Name: ksa}})
	return &Derived{Workload: w, Own: w.Labels, Parents: []string{kns, ksa}}, true
}

// DeriveWorkloadEndpoint derives the workload of a WorkloadEndpoint.
func DeriveWorkloadEndpoint(x *api.WorkloadEndpoint) *Derived {
	b := standins(x.Spec.Profiles...)
	w, err := b.wepWorkload(x)
	if err != nil {
		panic("policy: DeriveWorkloadEndpoint: " + err.Error()) // only missing profiles fail
	}
	return &Derived{Workload: w, Own: w.Labels, Parents: x.Spec.Profiles, required: true}
}

// DeriveHostEndpoint derives a stored or automatic host endpoint.
func DeriveHostEndpoint(x *api.HostEndpoint) *Derived {
	b := standins(x.Spec.Profiles...)
	h, err := b.hostEndpoint(x)
	if err != nil {
		panic("policy: DeriveHostEndpoint: " + err.Error()) // only missing profiles fail
	}
	return &Derived{HostEndpoint: h, Own: h.Labels, Parents: x.Spec.Profiles, required: true}
}

// DeriveNetworkSet derives a GlobalNetworkSet or a NetworkSet; the error is
// the problem NewModel would report (an invalid net).
func DeriveNetworkSet(o api.Object) (*Derived, error) {
	var b *builder
	var parents []string
	switch x := o.(type) {
	case *api.GlobalNetworkSet:
		b = standins()
		b.gnsets = append(b.gnsets, x)
	case *api.NetworkSet:
		parents = []string{NamespaceProfileName(x.Namespace)}
		b = standins(parents...)
		b.nsets = append(b.nsets, x)
	default:
		return nil, fmt.Errorf("policy: %T is not a network set", o)
	}
	b.buildNetworkSets()
	if len(b.problems) > 0 {
		return nil, b.problems[0]
	}
	s := b.m.NetworkSets[0]
	return &Derived{NetworkSet: s, Own: s.Labels, Parents: parents}, nil
}

// Resolve binds the derived object to the profiles its parents name now
// (profile returns nil for a profile that does not exist), setting its
// Profiles and its effective Labels. For workload endpoints and host
// endpoints a missing profile is the error NewModel reports, and the object
// is unresolved (it fails closed, and is no address owner); for pods and
// network sets a missing profile just has no labels.
//
// With labels false the effective Labels are left as they are (the own
// labels): an agent's engine, which matches remote endpoints through its
// label index (own labels and parents), then keeps no merged copy per
// remote endpoint.
func (d *Derived) Resolve(profile func(name string) *Profile, labels bool) error {
	var ps []*Profile
	var err error
	for _, n := range d.Parents {
		p := profile(n)
		if p == nil && d.required {
			if err == nil {
				err = missingProfile(n)
			}
			continue
		}
		ps = append(ps, p)
	}
	var eff labelMap
	if labels {
		eff = inherit(d.Own, ps)
	}
	unresolved := ""
	if err != nil {
		unresolved = err.Error()
	}
	switch {
	case d.Workload != nil:
		d.Workload.Profiles, d.Workload.Unresolved = ps, unresolved
		if labels {
			d.Workload.Labels = eff
		}
	case d.HostEndpoint != nil:
		d.HostEndpoint.Profiles, d.HostEndpoint.Unresolved = ps, unresolved
		if labels {
			d.HostEndpoint.Labels = eff
		}
	case len(ps) > 0 && labels:
		d.NetworkSet.Labels = eff
	}
	return err
}

// Prefixes are the addresses the object owns for selectors (§8.5 item 4),
// as NewModel's owners: one host prefix per workload address or host
// endpoint expected address, the CIDRs of a network set.
func (d *Derived) Prefixes() []netip.Prefix {
	var ips []netip.Addr
	switch {
	case d.Workload != nil:
		ips = d.Workload.IPs
	case d.HostEndpoint != nil:
		ips = d.HostEndpoint.ExpectedIPs
	default:
		return d.NetworkSet.Nets
	}
	out := make([]netip.Prefix, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out
}

// Ports are the object's named ports (none for a network set).
func (d *Derived) Ports() []NamedPort {
	switch {
	case d.Workload != nil:
		return d.Workload.Ports
	case d.HostEndpoint != nil:
		return d.HostEndpoint.Ports
	}
	return nil
}

// globalFelix is build's global settings: the defaults overlaid by the
// FelixConfiguration named "default".
func (b *builder) globalFelix() FelixSettings {
	global := DefaultFelixSettings()
	for _, fc := range b.felix {
		if fc.Name == "default" {
			if err := global.overlay(fc); err != nil {
				b.problem(fc, err)
			}
		}
	}
	return global
}

// DeriveNode derives a node as NewModel does from its Kubernetes and Calico
// Node objects (either may be nil; both nil for a node that only endpoints
// name, which gets the global settings alone) and the FelixConfigurations
// "default" and "node.<name>" (either may be nil). It returns the problems
// NewModel would report about those objects.
func DeriveNode(name string, k8s *corev1.Node, calico *api.Node, global, perNode *api.FelixConfiguration) (*Node, []error) {
	var objs []api.Object
	for _, o := range []api.Object{global, perNode, k8s, calico} {
		if o != nil && !isNilObject(o) {
			objs = append(objs, o)
		}
	}
	b := newBuilder(objs)
	g := b.globalFelix()
	if len(b.nodeOrder) > 0 {
		b.buildNode(name, g)
	} else {
		b.node(name, g)
	}
	return b.m.Nodes[name], b.problems
}

func isNilObject(o api.Object) bool {
	switch x := o.(type) {
	case *api.FelixConfiguration:
		return x == nil
	case *corev1.Node:
		return x == nil
	case *api.Node:
		return x == nil
	}
	return false
}

// AutoHostEndpoints derives the automatic host endpoints of one node that
// NewModel adds when kcc enables them (none for a nil kcc); the error is
// the problem NewModel would report.
func AutoHostEndpoints(kcc *api.KubeControllersConfiguration, name string, calico *api.Node, k8s *corev1.Node) ([]*api.HostEndpoint, error) {
	b := &builder{m: &Model{}, kcc: kcc, nodeOrder: []string{name},
		calicoNodes: map[string]*api.Node{}, k8sNodes: map[string]*corev1.Node{}}
	if calico != nil {
		b.calicoNodes[name] = calico
	}
	if k8s != nil {
		b.k8sNodes[name] = k8s
	}
	heps := b.autoHostEndpoints()
	if len(b.problems) > 0 {
		return nil, b.problems[0]
	}
	return heps, nil
}
