package calc

import (
	"encoding/binary"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"unique"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// relevant reports whether objects of kind k take part in policy.
func relevant(k store.Kind) bool {
	switch k {
	case store.KindK8sNamespace, store.KindK8sServiceAcct, store.KindK8sPod, store.KindK8sNode,
		store.KindK8sService, store.KindK8sEndpointSlice, store.KindK8sNetworkPolicy,
		api.KindWorkloadEndpoint, api.KindHostEndpoint, api.KindNode, api.KindFelixConfiguration,
		api.KindKubeControllersConfiguration, api.KindGlobalNetworkPolicy, api.KindNetworkPolicy,
		api.KindTier, api.KindProfile, api.KindGlobalNetworkSet, api.KindNetworkSet:
		return true
	}
	return false
}

// handle applies the new value of the object at key (nil: deleted) to the
// derived state.
func (e *Engine) handle(key store.Key, obj api.Object) {
	if u, ok := obj.(*api.Unreadable); ok && !isPolicyKind(key.Kind) {
		// Absent, and a problem; a policy becomes its fail-closed stand-in.
		e.setProblem(unreadableID(key), policy.UnreadableError(u))
		obj = nil
	} else {
		e.setProblem(unreadableID(key), nil)
	}
	switch key.Kind {
	case store.KindK8sNamespace:
		e.onNamespace(key.Name, obj)
	case store.KindK8sServiceAcct:
		e.onServiceAccount(key, obj)
	case store.KindK8sPod:
		e.onPod(key, nil, nil) // deleted or unreadable: onPodUpdate handles pods
	case api.KindWorkloadEndpoint:
		var d *policy.Derived
		if obj != nil {
			d = policy.DeriveWorkloadEndpoint(obj.(*api.WorkloadEndpoint))
		}
		e.setEndpoint(endpointID(key), obj, d)
		e.countWEP(key, obj)
	case api.KindHostEndpoint:
		if obj == nil {
			delete(e.storedHEPs, key.Name)
		} else {
			e.storedHEPs[key.Name] = obj.(*api.HostEndpoint)
		}
		e.refreshHEP(key.Name)
	case store.KindK8sNode, api.KindNode:
		e.onNode(key, obj)
	case api.KindFelixConfiguration:
		e.onFelix(key.Name, obj)
	case api.KindKubeControllersConfiguration:
		e.onKCC(key.Name, obj)
	case store.KindK8sService:
		if obj == nil {
			delete(e.services, key)
		} else {
			e.services[key] = obj.(*corev1.Service)
		}
	case store.KindK8sEndpointSlice:
		if obj == nil {
			delete(e.slices, key)
		} else {
			e.slices[key] = obj.(*discoveryv1.EndpointSlice)
		}
	case api.KindGlobalNetworkPolicy, api.KindNetworkPolicy, store.KindK8sNetworkPolicy:
		// Not key.String(): it prints a Kubernetes NetworkPolicy as a Calico one.
		e.setPolicy(string(key.Kind)+"/"+key.Namespace+"/"+key.Name, obj)
	case api.KindTier:
		e.onTier(key.Name, obj)
	case api.KindProfile:
		e.onProfile(key.Name, obj)
	case api.KindGlobalNetworkSet, api.KindNetworkSet:
		var d *policy.Derived
		var err error
		if obj != nil {
			d, err = policy.DeriveNetworkSet(obj) // an invalid net leaves the set out
		}
		e.setProblem(endpointID(key), err) // already names the object
		e.setEndpoint(endpointID(key), obj, d)
	}
}

// endpointID names a workload or network set after its object, and a
// host endpoint after its name (a stored endpoint and an automatic one of
// the same name are one endpoint).
func endpointID(key store.Key) string {
	switch key.Kind {
	case store.KindK8sPod:
		return "pod/" + key.Namespace + "/" + key.Name
	case api.KindWorkloadEndpoint:
		return "wep/" + key.Namespace + "/" + key.Name
	case api.KindGlobalNetworkSet:
		return "gns/" + key.Name
	case api.KindNetworkSet:
		return "ns/" + key.Namespace + "/" + key.Name
	}
	return "hep/" + key.Name
}

func (e *Engine) onNamespace(name string, obj api.Object) {
	if obj == nil {
		delete(e.namespaces, name)
	} else {
		e.namespaces[name] = obj.(*corev1.Namespace).Labels
	}
	e.refreshProfile(policy.NamespaceProfileName(name))
}

func (e *Engine) onServiceAccount(key store.Key, obj api.Object) {
	k := key.Namespace + "/" + key.Name
	if obj == nil {
		delete(e.sas, k)
	} else {
		e.sas[k] = obj.(*corev1.ServiceAccount).Labels
	}
	e.refreshProfile(policy.ServiceAccountProfileName(key.Namespace, key.Name))
}

// onPod keeps the pod counts behind the kns and ksa profiles, and the
// pod's workload, as the pod's facts change to f (nil: deleted, or
// unreadable; d is factsOf's workload, nil for none). Profiles are
// refreshed while the workload is absent or still the old one, and the new
// workload is installed against the profiles as they now are.
func (e *Engine) onPod(key store.Key, f *podFacts, d *policy.Derived) {
	id := endpointID(key)
	if d == nil && e.eps[id] != nil { // deleted, or host-networked
		e.setEndpoint(id, nil, nil)
	}
	var touched []string
	if old := e.facts(id); old != nil {
		touched = e.countPod(key.Namespace, old, -1, touched)
	}
	e.setFacts(id, f)
	if f != nil {
		touched = e.countPod(key.Namespace, f, 1, touched)
	}
	for _, name := range touched {
		e.refreshProfile(name)
	}
	if d != nil {
		e.refreshPodWith(id, key)
	}
}

// refreshPod sets a pod's workload: absent while a WorkloadEndpoint stands
// for it (the same workload key), as the model has it.
func (e *Engine) refreshPod(key store.Key) { e.refreshPodWith(endpointID(key), key) }

// refreshPodWith is refreshPod for the pod whose endpoint id is id.
func (e *Engine) refreshPodWith(id string, key store.Key) {
	f := e.facts(id)
	if f == nil || !f.workload() || e.wepCount[key.Namespace+"/"+key.Name] > 0 {
		if e.eps[id] != nil {
			e.setEndpoint(id, nil, nil)
		}
		return
	}
	e.setPodEndpoint(id, f) // a pod's workload always resolves: no source needed
}

// podFacts is what the engine keeps of a pod: its own labels packed, what
// tells a repeated update (resource version, uid), and its workload: as
// derived (local) for a pod of this node; for a pod on another node only what
// the workload holds besides its name and labels (node, kind: parents and
// named ports; addresses), from which derive makes the workload again
// when asked. A host-networked pod has no workload. The pod object itself
// (managed fields, container specs, status conditions: kilobytes for each
// pod of the cluster) is not kept; a remote pod's record is 80 bytes (its
// one IPv4 address inline), and most of the cluster's pods are remote.
type podFacts struct {
	ver stamp // resource version and uid
	own labelSet

	node unique.Handle[string] // a remote pod's workload: node, kind (nil for none), addresses
	kind *podKind
	x    *podExtra // nil for a remote pod whose addresses are none or inline
	v4   [4]byte   // a remote pod's one IPv4 address (addrs)
	one  bool
}

// podExtra is what few pods' facts hold: the workload of a pod of this
// node (d); the addresses of a remote pod that has more than one, or one
// that is not IPv4.
type podExtra struct {
	d    *policy.Derived
	list []netip.Prefix
}

// local is the workload of a pod of this node (nil for the others).
func (f *podFacts) local() *policy.Derived {
	if f.x == nil {
		return nil
	}
	return f.x.d
}

// addrs is a remote pod's addresses.
func (f *podFacts) addrs() addrs {
	switch {
	case f.one:
		return addrs{v4: f.v4, one: true}
	case f.x != nil:
		return addrs{list: f.x.list}
	}
	return addrs{}
}

// podKind is what the remote pods of one namespace, service account and
// named ports share: their parents (kns.<namespace>,
// ksa.<namespace>.<service account>) and named ports. The engine keeps one
// of each in use (Engine.kinds), counted by the facts that hold it
// (countPod); facts not yet counted may hold one of their own, which
// counting replaces by the engine's.
type podKind struct {
	key     kindKey
	parents []string
	ports   []policy.NamedPort
	n       int // facts holding it
}

type kindKey struct{ ns, sa, ports string }

// kindOf returns the kind of a remote pod of namespace ns running as
// service account sa with named ports ports: the engine's, or a new one.
func (e *Engine) kindOf(ns, sa string, ports []policy.NamedPort) *podKind {
	key := kindKey{ns: ns, sa: sa}
	if len(ports) > 0 {
		var b []byte
		for _, np := range ports {
			b = binary.AppendUvarint(b, uint64(len(np.Name)))
			b = append(b, np.Name...)
			b = append(b, byte(np.Proto))
			b = binary.BigEndian.AppendUint16(b, np.Port)
		}
		key.ports = string(b)
	}
	if k := e.kinds[key]; k != nil {
		return k
	}
	return &podKind{key: key, ports: ports,
		parents: []string{policy.NamespaceProfileName(ns), policy.ServiceAccountProfileName(ns, sa)}}
}

// countKind counts f's holding its kind (delta +1 or -1); counted facts
// hold the engine's kind.
func (e *Engine) countKind(f *podFacts, delta int) {
	k := f.kind
	if delta > 0 {
		if have := e.kinds[k.key]; have != nil {
			k, f.kind = have, have
		} else {
			e.kinds[k.key] = k
		}
	}
	if k.n += delta; k.n == 0 {
		delete(e.kinds, k.key)
	}
}

// factsOf returns a pod's facts and its workload: as just derived for a pod
// of this node, remotePod for a pod on another node, nil for a
// host-networked pod.
func (e *Engine) factsOf(p *corev1.Pod) (*podFacts, *policy.Derived) {
	f := &podFacts{ver: stampOf(p.ResourceVersion, string(p.UID))}
	if p.Spec.HostNetwork {
		return f, nil // no workload: one of its node's processes
	}
	if p.Spec.NodeName == e.node {
		d, _ := policy.DerivePod(p)
		f.own, f.x = e.packer.pack(d.Own), &podExtra{d: d}
		return f, d
	}
	// A remote pod: its facts straight from the pod, as DerivePod derives
	// them (the same policy functions), without the workload, its label
	// map and its interface name, which a remote pod does not keep (a
	// third of W2's allocations).
	sa := policy.PodServiceAccount(p)
	f.own = e.packer.packEach(func(fn func(k, v string)) { policy.PodOwnLabels(p, sa, fn) })
	f.node = unique.Make(p.Spec.NodeName)
	f.kind = e.kindOf(p.Namespace, sa, policy.PodNamedPorts(p))
	a := addrsOf(policy.PodAddrs(p))
	f.v4, f.one = a.v4, a.one
	if a.list != nil {
		f.x = &podExtra{list: a.list}
	}
	return f, remotePod
}

// facts returns the facts of the pod whose endpoint id is id (nil for
// none). Most pods' facts are those their installed endpoint holds
// (endpoint.pod); Engine.podFacts holds the others: a pod without an
// endpoint (host-networked, or a WorkloadEndpoint stands for it) and, while
// an update is handled, facts newer than the installed ones. An agent at
// 250,000 pods saves a map entry for each.
func (e *Engine) facts(id string) *podFacts {
	if f, ok := e.podFacts[id]; ok {
		return f
	}
	if ep := e.eps[id]; ep != nil {
		return ep.pod
	}
	return nil
}

// setFacts makes f the facts of pod id (nil: the pod is gone, and its
// endpoint must be removed first).
func (e *Engine) setFacts(id string, f *podFacts) {
	if ep := e.eps[id]; f != nil && ep != nil && ep.pod == f {
		delete(e.podFacts, id)
		return
	}
	if f == nil {
		delete(e.podFacts, id)
		return
	}
	e.podFacts[id] = f
}

// remotePod stands for the workload of a pod on another node where one is
// passed around (factsOf, setPodEndpoint): a remote pod's endpoint reads
// its facts (node, parents, labels, addresses, named ports), never this,
// and its profiles need no resolving (a pod's always resolve, and only
// local endpoints keep them). Nothing modifies it. A remote pod's update
// allocated a workload stub for it, and its profiles' refresh a whole
// workload (derive).
var remotePod = &policy.Derived{}

// workload reports whether the pod has a workload (is not host-networked).
func (f *podFacts) workload() bool { return f.local() != nil || f.kind != nil }

// parentsOf are the profiles the pod's workload inherits from.
func (f *podFacts) parentsOf() []string {
	if d := f.local(); d != nil {
		return d.Parents
	}
	if f.kind == nil {
		return nil
	}
	return f.kind.parents
}

// namedPorts are a remote pod's named ports.
func (f *podFacts) namedPorts() []policy.NamedPort {
	if f.kind == nil {
		return nil
	}
	return f.kind.ports
}

// derive returns the pod's workload, endpoint id, as DerivePod made it: the
// one kept for a pod of this node, a new one for a remote pod (its labels
// unpacked; profiles unresolved). nil for a host-networked pod.
func (f *podFacts) derive(id string) *policy.Derived {
	if d := f.local(); d != nil || f.kind == nil {
		return d
	}
	key := podKey(id)
	ns, name := key.Namespace, key.Name
	own := f.own.toMap()
	if own == nil {
		own = map[string]string{}
	}
	w := &policy.Workload{Namespace: ns, Name: name, Node: f.node.Value(), Interface: policy.PodInterfaceName(ns, name),
		Labels: own, Ports: f.kind.ports}
	for p := range f.addrs().all {
		w.IPs = append(w.IPs, p.Addr())
	}
	return &policy.Derived{Workload: w, Own: own, Parents: f.kind.parents}
}

// same reports whether an update repeats what the engine has, as
// version.same does for other objects: the same resource version and uid,
// or (without a resource version) the same workload.
func (f *podFacts) same(g *podFacts) bool {
	if f.ver.hasRV() || g.ver.hasRV() {
		return f.ver.equal(g.ver)
	}
	return f.own == g.own && reflect.DeepEqual(f.local(), g.local()) && f.node == g.node && (f.kind == nil) == (g.kind == nil) &&
		(f.kind == nil || f.kind.key == g.kind.key) && f.addrs().equal(g.addrs())
}

// countWEP keeps the count of endpoints per workload key and refreshes the
// pod whose key starts or stops having one.
func (e *Engine) countWEP(key store.Key, obj api.Object) {
	var now string
	if w, ok := obj.(*api.WorkloadEndpoint); ok {
		now = policy.WorkloadEndpointKey(w)
	}
	old, had := e.wepKeys[key]
	if had && old == now {
		return
	}
	touched := map[string]bool{}
	if had {
		if e.wepCount[old]--; e.wepCount[old] == 0 {
			delete(e.wepCount, old)
			touched[old] = true
		}
		delete(e.wepKeys, key)
	}
	if now != "" {
		e.wepKeys[key] = now
		if e.wepCount[now]++; e.wepCount[now] == 1 {
			touched[now] = true
		}
	}
	for wk := range touched {
		ns, name, _ := strings.Cut(wk, "/")
		e.refreshPod(store.Key{Kind: store.KindK8sPod, Namespace: ns, Name: name})
	}
}

// saUse counts the pods running as one service account.
type saUse struct {
	ns, sa  string
	n       int
	parents []string // the parents of the first pod counted, shared by all
}

// countPod adds delta to the counts of the profiles a pod of namespace ns
// with facts f makes exist (kns always; ksa unless host-networked),
// appending to touched the profiles whose existence may change.
func (e *Engine) countPod(ns string, f *podFacts, delta int, touched []string) []string {
	n := e.nsPods[ns] + delta
	if n == 0 {
		delete(e.nsPods, ns)
	} else {
		e.nsPods[ns] = n
	}
	if n == 0 || n == delta {
		touched = append(touched, policy.NamespaceProfileName(ns))
	}
	if !f.workload() {
		return touched
	}
	if f.kind != nil {
		e.countKind(f, delta)
	}
	ksa := f.parentsOf()[1]
	s := e.saPods[ksa]
	if s == nil {
		s = &saUse{ns: ns, sa: strings.TrimPrefix(ksa, policy.ServiceAccountProfileName(ns, "")), parents: f.parentsOf()}
		e.saPods[ksa] = s
	}
	if delta > 0 && slices.Equal(f.parentsOf(), s.parents) {
		// Pods running as one service account have the same parents
		// (kns.<ns>, ksa.<ns>.<sa>): they share one slice and its
		// strings instead of each holding its own.
		if d := f.local(); d != nil {
			d.Parents = s.parents
		} // a remote pod's are its kind's
	}
	if s.n += delta; s.n == 0 {
		delete(e.saPods, ksa)
	}
	if s.n == 0 || s.n == delta {
		touched = append(touched, ksa)
	}
	return touched
}

func (e *Engine) onNode(key store.Key, obj api.Object) {
	name := key.Name
	if key.Kind == store.KindK8sNode {
		if obj == nil {
			delete(e.k8sNodes, name)
		} else {
			e.k8sNodes[name] = obj.(*corev1.Node)
		}
	} else {
		if obj == nil {
			delete(e.calicoNodes, name)
		} else {
			e.calicoNodes[name] = obj.(*api.Node)
		}
	}
	e.refreshAuto(name)
	if name == e.node {
		e.refreshNode()
	}
}

func (e *Engine) onFelix(name string, obj api.Object) {
	if obj == nil {
		delete(e.felix, name)
	} else {
		e.felix[name] = obj.(*api.FelixConfiguration)
	}
	if name == "default" || name == "node."+e.node {
		e.refreshNode()
	}
}

// onKCC follows the KubeControllersConfiguration "default" (Calico accepts
// no other name); automatic host endpoints of every node follow it.
func (e *Engine) onKCC(name string, obj api.Object) {
	if name != "default" {
		return
	}
	if obj == nil {
		e.kcc = nil
	} else {
		e.kcc = obj.(*api.KubeControllersConfiguration)
	}
	nodes := make(map[string]bool, len(e.autoHEPs))
	for n := range e.autoHEPs {
		nodes[n] = true
	}
	for n := range e.k8sNodes {
		nodes[n] = true
	}
	for n := range e.calicoNodes {
		nodes[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(nodes)) {
		e.refreshAuto(n)
	}
}

// refreshAuto recomputes the automatic host endpoints of a node and
// refreshes those that changed.
func (e *Engine) refreshAuto(node string) {
	var heps []*api.HostEndpoint
	c, k := e.calicoNodes[node], e.k8sNodes[node]
	var err error
	if (c != nil || k != nil) && e.kcc != nil {
		heps, err = policy.AutoHostEndpoints(e.kcc, node, c, k) // an invalid configuration creates none
	}
	e.setProblem("kcc/"+node, err)
	old := e.autoHEPs[node]
	if len(heps) == 0 {
		delete(e.autoHEPs, node)
	} else {
		e.autoHEPs[node] = heps
	}
	changed := map[string]bool{}
	for _, h := range old {
		changed[h.Name] = true
		delete(e.autoByName[h.Name], node)
		if len(e.autoByName[h.Name]) == 0 {
			delete(e.autoByName, h.Name)
		}
	}
	for _, h := range heps {
		if byNode := e.autoByName[h.Name]; byNode == nil {
			e.autoByName[h.Name] = map[string]*api.HostEndpoint{node: h}
		} else {
			byNode[node] = h
		}
		if i := slices.IndexFunc(old, func(o *api.HostEndpoint) bool { return o.Name == h.Name }); i >= 0 && reflect.DeepEqual(old[i], h) {
			delete(changed, h.Name)
		} else {
			changed[h.Name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(changed)) {
		e.refreshHEP(name)
	}
}

// refreshHEP derives the host endpoint of a name: an automatic endpoint
// replaces a stored one (when two nodes want one name, the last node by
// name wins).
func (e *Engine) refreshHEP(name string) {
	obj := e.storedHEPs[name]
	if byNode := e.autoByName[name]; len(byNode) > 0 {
		obj = byNode[slices.Max(slices.Collect(maps.Keys(byNode)))]
	}
	var d *policy.Derived
	if obj != nil {
		d = policy.DeriveHostEndpoint(obj)
	}
	e.setEndpoint("hep/"+name, obj, d)
}

// refreshNode derives this node again and notes whether it changed.
func (e *Engine) refreshNode() {
	k, c := e.k8sNodes[e.node], e.calicoNodes[e.node]
	n, probs := policy.DeriveNode(e.node, k, c, e.felix["default"], e.felix["node."+e.node])
	e.nodeProblems = probs
	exists := k != nil || c != nil || len(e.localWL)+len(e.localHEP) > 0
	if exists != e.nodeExists || !sameNode(n, e.nodeModel) {
		e.markDirty("node")
	}
	e.dispatch = nil
	e.nodeModel, e.nodeExists = n, exists
}

// sameNode reports whether two versions of the node render alike: render
// reads its name, interfaces, bindings and Felix settings, not its labels.
func sameNode(a, b *policy.Node) bool {
	return b != nil && a.Name == b.Name && reflect.DeepEqual(a.Interfaces, b.Interfaces) &&
		maps.Equal(a.Bound, b.Bound) && reflect.DeepEqual(a.Felix, b.Felix)
}

func isPolicyKind(k store.Kind) bool {
	return k == api.KindGlobalNetworkPolicy || k == api.KindNetworkPolicy || k == store.KindK8sNetworkPolicy
}

func unreadableID(key store.Key) string {
	return "unreadable/" + string(key.Kind) + "/" + key.Namespace + "/" + key.Name
}
