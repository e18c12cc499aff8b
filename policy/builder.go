package policy

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/k8sconv"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// builder turns resources into a Model, collecting problems as it goes.
type builder struct {
	m        *Model
	problems []error

	namespaces  map[string]map[string]string // name -> labels
	sas         map[string]map[string]string // ns/name -> labels
	pods        []*corev1.Pod
	weps        []*api.WorkloadEndpoint
	heps        []*api.HostEndpoint
	k8sNodes    map[string]*corev1.Node
	calicoNodes map[string]*api.Node
	nodeOrder   []string
	felix       []*api.FelixConfiguration
	kcc         *api.KubeControllersConfiguration
	services    []*corev1.Service
	slices      []*discoveryv1.EndpointSlice
	policies    []api.Object
	tiers       []*api.Tier
	profiles    []*api.Profile
	gnsets      []*api.GlobalNetworkSet
	nsets       []*api.NetworkSet
}

func newBuilder(objs []api.Object) *builder {
	b := &builder{
		m:           &Model{Nodes: map[string]*Node{}, Profiles: map[string]*Profile{}},
		namespaces:  map[string]map[string]string{},
		sas:         map[string]map[string]string{},
		k8sNodes:    map[string]*corev1.Node{},
		calicoNodes: map[string]*api.Node{},
	}
	for _, o := range objs {
		b.sort(o)
	}
	return b
}

func (b *builder) problem(o api.Object, err error) {
	b.problems = append(b.problems, fmt.Errorf("%s: %w", api.ID(o), err))
}

func (b *builder) sort(o api.Object) {
	switch x := o.(type) {
	case *corev1.Namespace:
		b.namespaces[x.Name] = x.Labels
	case *corev1.ServiceAccount:
		b.sas[x.Namespace+"/"+x.Name] = x.Labels
	case *corev1.Pod:
		b.pods = append(b.pods, x)
	case *api.WorkloadEndpoint:
		b.weps = append(b.weps, x)
	case *api.HostEndpoint:
		b.heps = append(b.heps, x)
	case *corev1.Node:
		b.addNodeName(x.Name)
		b.k8sNodes[x.Name] = x
	case *api.Node:
		b.addNodeName(x.Name)
		b.calicoNodes[x.Name] = x
	case *api.FelixConfiguration:
		b.felix = append(b.felix, x)
	case *api.KubeControllersConfiguration:
		b.kcc = x
	case *corev1.Service:
		b.services = append(b.services, x)
	case *discoveryv1.EndpointSlice:
		b.slices = append(b.slices, x)
	case *api.GlobalNetworkPolicy, *api.NetworkPolicy, *networkingv1.NetworkPolicy:
		b.policies = append(b.policies, o)
	case *api.Tier:
		b.tiers = append(b.tiers, x)
	case *api.Profile:
		b.profiles = append(b.profiles, x)
	case *api.GlobalNetworkSet:
		b.gnsets = append(b.gnsets, x)
	case *api.NetworkSet:
		b.nsets = append(b.nsets, x)
	case *api.Unreadable:
		b.unreadable(x)
	}
	// Staged policies are stored and validated, never enforced (§7.6).
}

func (b *builder) addNodeName(n string) {
	if _, ok := b.k8sNodes[n]; ok {
		return
	}
	if _, ok := b.calicoNodes[n]; ok {
		return
	}
	b.nodeOrder = append(b.nodeOrder, n)
}

func (b *builder) build() {
	b.buildProfiles()
	global := DefaultFelixSettings()
	for _, fc := range b.felix {
		if fc.Name == "default" {
			if err := global.overlay(fc); err != nil {
				b.problem(fc, err)
			}
		}
	}
	for _, n := range b.nodeOrder {
		b.buildNode(n, global)
	}
	b.buildWorkloads(global)
	b.buildHostEndpoints(global)
	b.buildNetworkSets()
	b.buildPolicies()
	b.buildServices()
	b.m.sortAll()
	b.buildOwners()
	b.m.buildIndex()
}

// buildProfiles makes the user's profiles, projectcalico-default-allow, and
// the kns.<ns> / ksa.<ns>.<sa> profiles a Kubernetes datastore synthesises.
func (b *builder) buildProfiles() {
	b.m.Profiles[api.DefaultAllowProfile] = allowAllProfile(api.DefaultAllowProfile, nil)
	for _, p := range b.profiles {
		cp, err := compileProfile(p)
		if err != nil {
			b.problem(p, err)
			continue
		}
		b.m.Profiles[p.Name] = cp
	}
	for _, pod := range b.pods {
		if _, ok := b.namespaces[pod.Namespace]; !ok {
			b.namespaces[pod.Namespace] = nil
		}
	}
	for ns, labels := range b.namespaces {
		b.m.Profiles["kns."+ns] = allowAllProfile("kns."+ns, namespaceProfileLabels(ns, labels))
	}
}

func namespaceProfileLabels(ns string, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out[PrefixNamespace+k] = v
	}
	// The name wins over a label of that name; the API server labels every
	// namespace with its name.
	out[PrefixNamespace+LabelName] = ns
	out[PrefixNamespace+"kubernetes.io/metadata.name"] = ns
	return out
}

func (b *builder) saProfile(ns, sa string) *Profile {
	name := "ksa." + ns + "." + sa
	if p, ok := b.m.Profiles[name]; ok {
		return p
	}
	labels := map[string]string{}
	for k, v := range b.sas[ns+"/"+sa] {
		labels[PrefixServiceAccount+k] = v
	}
	labels[PrefixServiceAccount+LabelName] = sa // the name wins over a label of that name
	p := &Profile{Name: name, Labels: labels}
	b.m.Profiles[name] = p
	return p
}

func (b *builder) buildNode(name string, global FelixSettings) {
	n := &Node{Name: name, Felix: global}
	n.Felix.FailsafeIn = append([]Failsafe(nil), global.FailsafeIn...)
	n.Felix.FailsafeOut = append([]Failsafe(nil), global.FailsafeOut...)
	for _, fc := range b.felix {
		if fc.Name == "node."+name {
			if err := n.Felix.overlay(fc); err != nil {
				b.problem(fc, err)
			}
		}
	}
	var ifaces []Interface
	if k := b.k8sNodes[name]; k != nil {
		n.Labels = k.Labels
		for _, a := range k.Status.Addresses {
			if a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP {
				n.Addrs = appendAddr(n.Addrs, a.Address)
			}
		}
	}
	if c := b.calicoNodes[name]; c != nil {
		n.Labels = mergeLabels(n.Labels, c.Labels)
		if c.Spec.BGP != nil {
			n.Addrs = appendAddr(n.Addrs, c.Spec.BGP.IPv4Address)
			n.Addrs = appendAddr(n.Addrs, c.Spec.BGP.IPv6Address)
		}
		for _, a := range c.Spec.Addresses {
			n.Addrs = appendAddr(n.Addrs, a.Address)
		}
		if r, err := api.NodeInterfaceReport(c); err != nil {
			b.problem(c, err) // no bindings: the pods stay isolated on their interfaces
		} else {
			n.Bound, n.Unbound, n.Missing = r.Bound, r.Unbound, r.Missing
		}
		for _, i := range c.Spec.Interfaces {
			ifc := Interface{Name: i.Name}
			for _, a := range i.Addresses {
				ifc.Addrs = appendAddr(ifc.Addrs, a)
			}
			ifaces = append(ifaces, ifc)
		}
	}
	if len(ifaces) == 0 && len(n.Addrs) > 0 {
		// Without a list of interfaces, the node's addresses sit on eth0.
		ifaces = []Interface{{Name: "eth0", Addrs: n.Addrs}}
	}
	lo := Interface{Name: "lo", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}}
	n.Interfaces = append([]Interface{lo}, ifaces...)
	b.m.Nodes[name] = n
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// appendAddr adds the address part of s (an address or a CIDR), ignoring
// empty and unparseable values and duplicates.
func appendAddr(out []netip.Addr, s string) []netip.Addr {
	if s == "" {
		return out
	}
	s, _, _ = strings.Cut(s, "/")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return out
	}
	a = a.Unmap()
	for _, x := range out {
		if x == a {
			return out
		}
	}
	return append(out, a)
}

// node returns the named node, creating an address-less one for nodes that
// endpoints name but the input does not describe.
func (b *builder) node(name string, global FelixSettings) *Node {
	if n, ok := b.m.Nodes[name]; ok {
		return n
	}
	lo := Interface{Name: "lo", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}}
	n := &Node{Name: name, Felix: global, Interfaces: []Interface{lo}}
	b.m.Nodes[name] = n
	return n
}

// PodInterfaceName is the host-side veth name Calico's CNI plugin gives a
// pod: "cali" and the first 11 hex digits of sha1("<namespace>.<pod>").
func PodInterfaceName(namespace, pod string) string { return InterfaceName("cali", namespace, pod) }

// InterfaceName is Calico's naming convention for a pod's host-side
// interface with a given prefix: the prefix and the first 11 hex digits of
// sha1("<namespace>.<pod>").
func InterfaceName(prefix, namespace, pod string) string {
	sum := sha1.Sum([]byte(namespace + "." + pod))
	return prefix + hex.EncodeToString(sum[:])[:11]
}

func (b *builder) buildWorkloads(global FelixSettings) {
	// A pod and the WorkloadEndpoint written for it are one workload: the
	// endpoint (what Calico's CNI and palisade's mirror write) stands for it.
	endpoints := map[string]bool{}
	for _, x := range b.weps {
		endpoints[WorkloadEndpointKey(x)] = true
	}
	for _, p := range b.pods {
		if p.Spec.HostNetwork {
			continue // a host-networked pod is one of its node's processes
		}
		if endpoints[p.Namespace+"/"+p.Name] {
			b.saProfile(p.Namespace, PodServiceAccount(p)) // the pod still makes its ksa profile exist
			continue
		}
		w := b.podWorkload(p)
		b.node(w.Node, global) // pods without a node share the node ""
		b.m.Workloads = append(b.m.Workloads, w)
	}
	for _, x := range b.weps {
		w, err := b.wepWorkload(x)
		if err != nil {
			b.problem(x, err) // kept, unresolved: it fails closed
		}
		b.node(w.Node, global)
		b.m.Workloads = append(b.m.Workloads, w)
	}
}

// podWorkload is the workload endpoint a Kubernetes datastore derives from a
// pod (§1.4; docs/api.md §2.6).
func (b *builder) podWorkload(p *corev1.Pod) *Workload {
	sa := PodServiceAccount(p)
	return podWorkloadWith(p, sa, []*Profile{b.m.Profiles["kns."+p.Namespace], b.saProfile(p.Namespace, sa)})
}

// podWorkloadWith is podWorkload with the pod's service account and its
// two profiles (namespace, service account) given.
func podWorkloadWith(p *corev1.Pod, sa string, profiles []*Profile) *Workload {
	own := make(map[string]string, len(p.Labels)+3)
	PodOwnLabels(p, sa, func(k, v string) { own[k] = v })
	labels := labelMap(own) // own is this workload's copy already
	if profilesLabel(profiles) {
		labels = inherit(own, profiles)
	}
	return &Workload{
		Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName,
		Interface: PodInterfaceName(p.Namespace, p.Name),
		Labels:    labels, Profiles: profiles,
		IPs: PodAddrs(p), Ports: PodNamedPorts(p),
	}
}

// PodOwnLabels calls fn once for each of a pod's own labels (its
// workload's, before profiles), in no order: the pod's labels but those
// the profiles' prefixes and the reserved keys name, and the reserved
// labels of its namespace, orchestrator and service account sa.
func PodOwnLabels(p *corev1.Pod, sa string, fn func(k, v string)) {
	for k, v := range p.Labels {
		if strings.HasPrefix(k, PrefixNamespace) || strings.HasPrefix(k, PrefixServiceAccount) ||
			k == LabelNamespace || k == LabelOrchestrator || k == LabelServiceAccount {
			continue
		}
		fn(k, v)
	}
	fn(LabelNamespace, p.Namespace)
	fn(LabelOrchestrator, OrchestratorK8s)
	// The Kubernetes conversion leaves names of 63 characters or more
	// out; the syncer adds the label from the spec whatever its length.
	fn(LabelServiceAccount, sa)
}

// PodAddrs are a pod's workload addresses: its podIPs, then podIP, each
// once, those that do not parse left out.
func PodAddrs(p *corev1.Pod) []netip.Addr {
	var ips []netip.Addr
	for _, ip := range p.Status.PodIPs {
		ips = appendAddr(ips, ip.IP)
	}
	return appendAddr(ips, p.Status.PodIP)
}

// PodNamedPorts are the named ports of a pod's containers.
func PodNamedPorts(p *corev1.Pod) []NamedPort {
	var out []NamedPort
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "" {
				continue
			}
			out = append(out, NamedPort{Name: cp.Name, Proto: k8sProto(cp.Protocol), Port: uint16(cp.ContainerPort)})
		}
	}
	return out
}

func k8sProto(p corev1.Protocol) uint8 {
	switch p {
	case corev1.ProtocolUDP:
		return protoUDP
	case corev1.ProtocolSCTP:
		return protoSCTP
	}
	return protoTCP
}

// WorkloadEndpointKey is the workload key ("namespace/name") of an
// endpoint: its pod's name, else its workload's, else its own.
func WorkloadEndpointKey(x *api.WorkloadEndpoint) string {
	return x.Namespace + "/" + workloadName(x)
}

func workloadName(x *api.WorkloadEndpoint) string {
	switch {
	case x.Spec.Pod != "":
		return x.Spec.Pod
	case x.Spec.Workload != "":
		return x.Spec.Workload
	}
	return x.Name
}

func (b *builder) wepWorkload(x *api.WorkloadEndpoint) (*Workload, error) {
	s := &x.Spec
	name := workloadName(x)
	own := endpointLabels(x.Labels)
	// Set on storage from the metadata and spec, over what the user wrote.
	own[LabelNamespace] = x.Namespace
	own[LabelOrchestrator] = s.Orchestrator
	if s.ServiceAccountName != "" {
		own[LabelServiceAccount] = s.ServiceAccountName // whatever its length
	}
	profiles, err := b.requiredProfiles(s.Profiles)
	w := &Workload{Namespace: x.Namespace, Name: name, Node: s.Node, Interface: s.InterfaceName,
		Labels: inherit(own, profiles), Profiles: profiles}
	if err != nil {
		w.Unresolved = err.Error()
	}
	for _, n := range s.IPNetworks {
		w.IPs = appendAddr(w.IPs, n)
	}
	for _, p := range s.Ports {
		if p.Name != "" {
			w.Ports = append(w.Ports, NamedPort{Name: p.Name, Proto: uint8(p.Protocol.Number()), Port: p.Port})
		}
	}
	return w, err
}

func (b *builder) buildHostEndpoints(global FelixSettings) {
	heps := append([]*api.HostEndpoint(nil), b.heps...)
	heps = append(heps, b.autoHostEndpoints()...)
	seen := map[string]bool{}
	for i := len(heps) - 1; i >= 0; i-- {
		x := heps[i]
		if seen[x.Name] {
			continue // an automatic endpoint replaces a stored one of its name
		}
		seen[x.Name] = true
		h, err := b.hostEndpoint(x)
		if err != nil {
			b.problem(x, err) // kept, unresolved: it fails closed
		}
		b.node(h.Node, global)
		b.m.HostEndpoints = append(b.m.HostEndpoints, h)
	}
}

func (b *builder) hostEndpoint(x *api.HostEndpoint) (*HostEndpoint, error) {
	profiles, err := b.requiredProfiles(x.Spec.Profiles)
	h := &HostEndpoint{Name: x.Name, Node: x.Spec.Node, Interface: x.Spec.InterfaceName,
		Labels: inherit(x.Labels, profiles), Profiles: profiles}
	if err != nil {
		h.Unresolved = err.Error()
	}
	for _, ip := range x.Spec.ExpectedIPs {
		h.ExpectedIPs = appendAddr(h.ExpectedIPs, ip)
	}
	for _, p := range x.Spec.Ports {
		h.Ports = append(h.Ports, NamedPort{Name: p.Name, Proto: uint8(p.Protocol.Number()), Port: p.Port})
	}
	return h, err
}

// autoHostEndpoints derives the endpoints the controller would create when
// the KubeControllersConfiguration enables them (docs/api.md §7).
func (b *builder) autoHostEndpoints() []*api.HostEndpoint {
	if b.kcc == nil || !b.kcc.AutoHostEndpointsEnabled() {
		return nil
	}
	cfg := b.kcc.Spec.Controllers.Node.HostEndpoint
	var out []*api.HostEndpoint
	for _, name := range b.nodeOrder {
		info := autohep.Merge(b.calicoNodes[name], b.k8sNodes[name])
		heps, err := autohep.ForNode(info, cfg)
		if err != nil {
			b.problem(b.kcc, fmt.Errorf("automatic host endpoints for node %s: %w", name, err))
			continue
		}
		out = append(out, heps...)
	}
	return out
}

func (b *builder) buildNetworkSets() {
	for _, g := range b.gnsets {
		ns, err := networkSet("", g.Name, g.Spec.Nets, g.Labels)
		if err != nil {
			b.problem(g, err)
			continue
		}
		b.m.NetworkSets = append(b.m.NetworkSets, ns)
	}
	for _, n := range b.nsets {
		own := map[string]string{LabelNamespace: n.Namespace}
		for k, v := range n.Labels {
			own[k] = v
		}
		labels := inherit(own, []*Profile{b.m.Profiles["kns."+n.Namespace]})
		ns, err := networkSet(n.Namespace, n.Name, n.Spec.Nets, labels)
		if err != nil {
			b.problem(n, err)
			continue
		}
		b.m.NetworkSets = append(b.m.NetworkSets, ns)
	}
}

func networkSet(ns, name string, nets []string, labels map[string]string) (*NetworkSet, error) {
	out := &NetworkSet{Namespace: ns, Name: name, Labels: labelMap(labels)}
	for i, s := range nets {
		p, err := ParsePrefixLenient(s)
		if err != nil {
			return nil, fmt.Errorf("spec.nets[%d]: %w", i, err)
		}
		out.Nets = append(out.Nets, p)
	}
	return out, nil
}

func (b *builder) buildPolicies() {
	tiers := map[string]*Tier{api.DefaultTierName: defaultTier()}
	for _, t := range b.tiers {
		ct := compileTier(t)
		if t.Name == api.DefaultTierName {
			ct.DefaultAction = ActionDeny
			if t.Spec.Order == nil {
				ct.Order = 1e6
			}
		}
		tiers[t.Name] = ct
	}
	for _, o := range b.policies {
		p, err := compilePolicy(o)
		if err != nil {
			b.problem(o, err)
			if p == nil {
				continue
			}
		}
		t := tiers[p.Tier]
		if t == nil && p.Unenforceable == "" {
			b.problem(o, MissingTierError(p.Tier))
		}
		if ep, et := Enforced(p, t); et != t {
			// A fail-closed stand-in, in its tier before every real one.
			t = tiers[failClosedKey(et.Name)]
			if t == nil {
				t = et
				tiers[failClosedKey(et.Name)] = t
			}
			p = ep
		}
		t.Policies = append(t.Policies, p)
	}
	for _, t := range tiers {
		b.m.Tiers = append(b.m.Tiers, t)
	}
}

func compilePolicy(o api.Object) (*Policy, error) {
	switch x := o.(type) {
	case *api.GlobalNetworkPolicy:
		return compileGNP(x)
	case *api.NetworkPolicy:
		return compileNP(x, api.KindNetworkPolicy)
	case *networkingv1.NetworkPolicy:
		np, err := k8sconv.Convert(x)
		if err != nil {
			return nil, err
		}
		return compileNP(np, k8sconv.KindKubernetesNetworkPolicy)
	case *api.Unreadable:
		if p, ok := compileUnreadable(x); ok {
			return p, &FailClosedError{Msg: fmt.Sprintf("stored value cannot be read (%s): enforced as deny-all", x.Err)}
		}
	}
	return nil, fmt.Errorf("not a policy")
}

func (b *builder) buildOwners() {
	m := b.m
	for _, w := range m.Workloads {
		if w.Unresolved != "" {
			m.Quarantine = appendHosts(m.Quarantine, w.IPs)
			continue
		}
		for _, ip := range w.IPs {
			m.owners = append(m.owners, ipOwner{prefix: netip.PrefixFrom(ip, ip.BitLen()), labels: w.Labels, ports: w.Ports, what: "pod " + w.Key()})
		}
	}
	for _, h := range m.HostEndpoints {
		if h.Unresolved != "" {
			m.Quarantine = appendHosts(m.Quarantine, h.ExpectedIPs)
			continue
		}
		for _, ip := range h.ExpectedIPs {
			m.owners = append(m.owners, ipOwner{prefix: netip.PrefixFrom(ip, ip.BitLen()), labels: h.Labels, ports: h.Ports, what: "host endpoint " + h.Name})
		}
	}
	for _, s := range m.NetworkSets {
		for _, n := range s.Nets {
			m.owners = append(m.owners, ipOwner{prefix: n, labels: s.Labels, what: "network set " + s.Name})
		}
	}
	m.Quarantine = SortPrefixes(m.Quarantine)
	m.quarantineRules = map[Direction]*Rule{
		Ingress: QuarantineRule(m.Quarantine, Ingress), Egress: QuarantineRule(m.Quarantine, Egress)}
}

// endpointLabels copies a workload's own labels without the pcns. and
// pcsa. ones: namespace and service account labels come only from their
// profiles, so no workload can pretend to be in another namespace or
// service account.
func endpointLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+3)
	for k, v := range in {
		if strings.HasPrefix(k, PrefixNamespace) || strings.HasPrefix(k, PrefixServiceAccount) {
			continue
		}
		out[k] = v
	}
	return out
}
