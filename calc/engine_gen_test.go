package calc

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A seeded generator of small random clusters for the equivalence tests:
// every object comes from a fixed pool of slots (kind, namespace, name),
// so creates, updates, label flips and deletes keep hitting the same
// objects. Nodes n0..n3 are declared by Kubernetes and Calico Nodes; n4 is
// named only by endpoints. Addresses come from small pools so that owners
// share prefixes.

var (
	cgNodes     = []string{"n0", "n1", "n2", "n3", "n4"}
	cgNS        = []string{"ns0", "ns1", "ns2", "ns3"}
	cgSAs       = []string{"sa0", "sa1"}
	cgApps      = []string{"a", "b", "c"}
	cgRoles     = []string{"web", "db"}
	cgTiers     = []string{"", "default", "t1", "t2"}
	cgProfiles  = []string{"prof-a", "prof-b", "kns.ns3", "ksa.ns0.sa1"}
	cgIfaces    = []string{"eth0", "eth1", "lo", "", "*"}
	cgProtos    = []string{"TCP", "UDP", "ICMP", "ICMPv6", ""}
	cgNetsV4    = []string{"10.0.0.0/8", "10.0.0.0/28", "192.0.2.0/24", "0.0.0.0/0", "10.0.0.5/32"}
	cgNetsV6    = []string{"fd00::/64", "2001:db8::/32", "fd00::5/128"}
	cgPortNames = []string{"http", "dns"}
	cgSelectors = []string{"all()", "has(app)", "app == 'a'", "app in {'b', 'c'}", "role == 'web'",
		"!has(app)", "app != 'a'", "env == 'prod' && has(role)", "host == 'yes'",
		"has(kubernetes.io/hostname)", "set == 'ext'", "pcns.team == 'x'", "pcsa.tier == 'gold'",
		"has(projectcalico.org/created-by)", "app == 'a' || role == 'db'", "zone == 'z1'"}
)

// slot is one object identity of the pool.
type slot struct {
	kind     string
	ns, name string
	i        int // index within its kind
}

type cluster struct {
	r     *rand.Rand
	slots []slot
	objs  map[slot]api.Object
}

func newCluster(seed uint64) *cluster {
	c := &cluster{r: rand.New(rand.NewPCG(seed, 0xc1a5)), objs: map[slot]api.Object{}}
	add := func(kind string, nss []string, n int, name func(i int) string) {
		for _, ns := range nss {
			for i := range n {
				c.slots = append(c.slots, slot{kind: kind, ns: ns, name: name(i), i: len(c.slots)})
			}
		}
	}
	global := []string{""}
	idx := func(p string) func(int) string { return func(i int) string { return fmt.Sprintf("%s%d", p, i) } }
	add("k8snode", global, 4, idx("n"))
	add("node", global, 4, idx("n"))
	add("namespace", global, 4, idx("ns"))
	add("sa", cgNS, 2, idx("sa"))
	add("pod", cgNS, 5, idx("p"))
	add("wep", cgNS[:2], 2, idx("w"))
	add("hep", global, 6, idx("h"))
	add("gnp", global, 8, idx("gnp"))
	add("np", cgNS[:2], 3, idx("np"))
	add("knp", cgNS[:2], 2, idx("np")) // Calico's and Kubernetes' policies share names
	add("tier", global, 3, func(i int) string { return []string{"default", "t1", "t2"}[i] })
	add("profile", global, len(cgProfiles), func(i int) string { return cgProfiles[i] })
	add("gns", global, 2, idx("gns"))
	add("netset", cgNS[:2], 1, idx("set"))
	add("kcc", global, 1, func(int) string { return "default" })
	add("felix", global, 3, func(i int) string { return []string{"default", "node.n0", "node.n4"}[i] })
	add("service", cgNS[:1], 1, idx("svc"))
	add("slice", cgNS[:1], 1, idx("svc0-")) // svc0's EndpointSlice
	return c
}

func (c *cluster) chance(p float64) bool { return c.r.Float64() < p }

func pickOf[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// objects returns the current objects, sorted by slot.
func (c *cluster) objects() []api.Object {
	keys := make([]slot, 0, len(c.objs))
	for s := range c.objs {
		keys = append(keys, s)
	}
	slices.SortFunc(keys, func(a, b slot) int { return a.i - b.i })
	out := make([]api.Object, len(keys))
	for i, s := range keys {
		out[i] = c.objs[s]
	}
	return out
}

// change is one generated event: obj set, or the object at key deleted.
type change struct {
	s   slot
	key store.Key
	obj api.Object
}

// apply records a change in the cluster's objects.
func (c *cluster) apply(ch change) {
	if ch.obj == nil {
		delete(c.objs, ch.s)
	} else {
		c.objs[ch.s] = ch.obj
	}
}

// step changes one random slot and returns what changed: a new object,
// a label flip of the existing one, a replay of it, or a delete.
func (c *cluster) step() change {
	s := c.slots[c.r.IntN(len(c.slots))]
	old := c.objs[s]
	// Deleting a tier or profile makes the objects naming it problems (and
	// the batch is skipped), so those deletes are rarer.
	rare := (s.kind == "tier" || s.kind == "profile") && c.chance(0.7)
	switch x := c.r.IntN(10); {
	case old != nil && x == 0 && !rare:
		return change{s: s, key: store.KeyOf(old)}
	case old != nil && x <= 3:
		return change{s: s, obj: flipLabel(c.r, old)}
	case old != nil && x == 4:
		return change{s: s, obj: old} // a replay
	}
	return change{s: s, obj: c.make(s)}
}

// populate returns creations of most slots, in a random order.
func (c *cluster) populate() []change {
	var out []change
	for _, i := range c.r.Perm(len(c.slots)) {
		if s := c.slots[i]; c.chance(0.8) || s.kind == "tier" || s.kind == "profile" {
			out = append(out, change{s: s, obj: c.make(s)})
		}
	}
	return out
}

// shallowCopy copies the object's struct; everything but the labels it
// is given stays shared, and nothing shared is modified.
func shallowCopy(o api.Object) api.Object {
	v := reflect.ValueOf(o).Elem()
	cp := reflect.New(v.Type())
	cp.Elem().Set(v)
	return cp.Interface().(api.Object)
}

// flipLabel returns a copy of o with one label changed, added or removed.
func flipLabel(r *rand.Rand, o api.Object) api.Object {
	cp := shallowCopy(o)
	labels := map[string]string{}
	for k, v := range cp.GetLabels() {
		labels[k] = v
	}
	switch k := pickOf(r, []string{"app", "role", "env", "team", "tier", "set", "zone", "host"}); r.IntN(3) {
	case 0:
		delete(labels, k)
	default:
		labels[k] = pickOf(r, []string{"a", "b", "c", "web", "db", "prod", "x", "y", "gold", "ext", "z1", "yes"})
	}
	cp.SetLabels(labels)
	return cp
}

func (c *cluster) labels(keys ...string) map[string]string {
	out := map[string]string{}
	vals := map[string][]string{"app": cgApps, "role": cgRoles, "env": {"prod", "dev"}, "team": {"x", "y"},
		"tier": {"gold", "silver"}, "set": {"ext", "int"}, "zone": {"z1", "z2"}}
	for _, k := range keys {
		if c.chance(0.6) {
			out[k] = pickOf(c.r, vals[k])
		}
	}
	return out
}

func (c *cluster) ip(v6 bool) string {
	if v6 {
		return fmt.Sprintf("fd00::%d", 1+c.r.IntN(12))
	}
	return fmt.Sprintf("10.0.0.%d", 1+c.r.IntN(40))
}

func meta(s slot, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: s.name, Namespace: s.ns, Labels: labels}
}

// make returns a new random object for a slot; now and then an invalid
// one, which the model leaves out and reports.
func (c *cluster) make(s slot) api.Object {
	o := c.valid(s)
	if c.chance(0.015) {
		breakObject(o)
	}
	return o
}

// breakObject makes an object invalid where the model checks it.
func breakObject(o api.Object) {
	switch x := o.(type) {
	case *api.GlobalNetworkPolicy:
		x.Spec.Selector = "app =="
	case *api.NetworkPolicy:
		x.Spec.Ingress = append(x.Spec.Ingress, api.Rule{Action: api.Allow, Source: api.EntityRule{Nets: []string{"10.0.0.300/8"}}})
	case *api.Profile:
		x.Spec.Egress = append(x.Spec.Egress, api.Rule{Action: "Maybe"})
	case *api.GlobalNetworkSet:
		x.Spec.Nets = append(x.Spec.Nets, "not-a-net")
	case *api.NetworkSet:
		x.Spec.Nets = append(x.Spec.Nets, "10.1/33")
	case *api.FelixConfiguration:
		in := []api.ProtoPort{{Protocol: "SCTP", Port: 1}}
		x.Spec.FailsafeInboundHostPorts = &in
	case *api.KubeControllersConfiguration:
		x.Spec.Controllers.Node.HostEndpoint.CreateDefaultHostEndpoint = "Sometimes"
	}
}

// valid returns a new random object for a slot.
func (c *cluster) valid(s slot) api.Object {
	switch s.kind {
	case "k8snode", "node":
		return c.node(s)
	case "namespace":
		return &corev1.Namespace{ObjectMeta: meta(s, c.labels("team", "env"))}
	case "sa":
		return &corev1.ServiceAccount{ObjectMeta: meta(s, c.labels("tier"))}
	case "pod":
		return c.pod(s)
	case "wep":
		return c.wep(s)
	case "hep":
		return c.hep(s)
	case "gnp":
		return c.gnp(s)
	case "np":
		return c.np(s)
	case "knp":
		return c.knp(s)
	case "tier":
		return c.tier(s)
	case "profile":
		return &api.Profile{ObjectMeta: meta(s, nil), Spec: api.ProfileSpec{
			LabelsToApply: c.labels("app", "env", "zone"), Ingress: c.rules(2, false), Egress: c.rules(1, false)}}
	case "gns":
		return &api.GlobalNetworkSet{ObjectMeta: meta(s, c.labels("set", "app")),
			Spec: api.NetworkSetSpec{Nets: []string{pickOf(c.r, cgNetsV4), pickOf(c.r, cgNetsV6)}}}
	case "netset":
		return &api.NetworkSet{ObjectMeta: meta(s, c.labels("set", "app")),
			Spec: api.NetworkSetSpec{Nets: []string{pickOf(c.r, cgNetsV4)}}}
	case "kcc":
		return c.kcc(s)
	case "felix":
		return c.felix(s)
	case "service":
		return c.service(s)
	case "slice":
		return c.slice(s)
	}
	panic("unknown slot kind " + s.kind)
}

func (c *cluster) node(s slot) api.Object {
	n := s.name[1:]
	labels := c.labels("zone", "env")
	labels["kubernetes.io/hostname"] = s.name
	if s.kind == "k8snode" {
		k := &corev1.Node{ObjectMeta: meta(s, labels)}
		k.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0." + n}}
		if c.chance(0.5) {
			k.Status.Addresses = append(k.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::" + n})
		}
		return k
	}
	x := &api.Node{ObjectMeta: meta(s, labels)}
	if c.chance(0.7) {
		x.Spec.Interfaces = []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0." + n, "fd00::" + n}},
			{Name: "eth1", Addresses: []string{"10.0.1." + n}}}
	}
	if c.chance(0.5) {
		x.Spec.BGP = &api.NodeBGPSpec{IPv4Address: "10.0.0." + n + "/24"}
	}
	if c.chance(0.3) { // the node's agent bound a workload by route lookup
		api.SetNodeInterfaceReport(x, api.InterfaceReport{Bound: map[string]string{
			pickOf(c.r, []string{"ns0/ww0", "ns1/ww1", "ns0/p1", "ns2/p3", "ns3/gone"}): "veth" + n}})
	}
	return x
}

func (c *cluster) pod(s slot) api.Object {
	p := &corev1.Pod{ObjectMeta: meta(s, c.labels("app", "role", "env"))}
	p.Spec.NodeName = pickOf(c.r, cgNodes)
	p.Spec.HostNetwork = c.chance(0.1)
	if c.chance(0.7) {
		p.Spec.ServiceAccountName = pickOf(c.r, cgSAs)
	}
	var ports []corev1.ContainerPort
	if c.chance(0.4) {
		ports = append(ports, corev1.ContainerPort{Name: "http", ContainerPort: pickOf(c.r, []int32{80, 8080})})
	}
	if c.chance(0.2) {
		ports = append(ports, corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP})
	}
	p.Spec.Containers = []corev1.Container{{Name: "c", Ports: ports}}
	if c.chance(0.85) {
		p.Status.PodIP = c.ip(false)
		p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
		if c.chance(0.4) {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: c.ip(true)})
		}
	}
	return p
}

func (c *cluster) wep(s slot) api.Object {
	w := &api.WorkloadEndpoint{ObjectMeta: meta(s, c.labels("app", "role"))}
	w.Spec = api.WorkloadEndpointSpec{Orchestrator: "k8s", Node: pickOf(c.r, cgNodes), Pod: "w" + s.name,
		InterfaceName: fmt.Sprintf("caliw%02d", s.i), IPNetworks: []string{c.ip(false) + "/32"},
		Profiles: []string{api.DefaultAllowProfile}}
	if c.chance(0.3) {
		w.Spec.Profiles = []string{pickOf(c.r, []string{"kns." + s.ns, "prof-a", api.DefaultAllowProfile})}
	}
	if c.chance(0.3) {
		w.Spec.Ports = []api.WorkloadEndpointPort{{Name: "http", Protocol: api.ProtocolFromString("TCP"), Port: 8080}}
	}
	if c.chance(0.4) { // the endpoint of a pod of the pool: one workload with it
		w.Spec.Pod = pickOf(c.r, []string{"p0", "p1", "p2"})
	}
	return w
}

func (c *cluster) hep(s slot) api.Object {
	node := pickOf(c.r, cgNodes)
	n := node[1:]
	h := &api.HostEndpoint{ObjectMeta: meta(s, c.labels("role", "env", "zone")),
		Spec: api.HostEndpointSpec{Node: node, InterfaceName: pickOf(c.r, cgIfaces)}}
	h.Labels["host"] = "yes"
	for _, ip := range []string{"10.0.0." + n, "10.0.1." + n, "fd00::" + n, c.ip(false)} {
		if c.chance(0.35) {
			h.Spec.ExpectedIPs = append(h.Spec.ExpectedIPs, ip)
		}
	}
	if h.Spec.InterfaceName == "" && len(h.Spec.ExpectedIPs) == 0 {
		h.Spec.ExpectedIPs = []string{"10.0.1." + n}
	}
	switch c.r.IntN(4) {
	case 0:
		h.Spec.Profiles = []string{api.DefaultAllowProfile}
	case 1:
		h.Spec.Profiles = []string{pickOf(c.r, []string{"prof-a", "prof-b"})}
	}
	if c.chance(0.3) {
		h.Spec.Ports = []api.EndpointPort{{Name: pickOf(c.r, cgPortNames), Protocol: api.ProtocolFromString("UDP"), Port: 53}}
	}
	return h
}

func (c *cluster) tier(s slot) api.Object {
	o := float64(c.r.IntN(4) * 100)
	t := &api.Tier{ObjectMeta: meta(s, nil), Spec: api.TierSpec{Order: &o}}
	if c.chance(0.3) {
		t.Spec.Order = nil
	}
	if c.chance(0.5) {
		pass := api.Pass
		t.Spec.DefaultAction = &pass
	}
	return t
}

func (c *cluster) order() *float64 {
	if c.chance(0.2) {
		return nil
	}
	o := float64(c.r.IntN(4) * 10)
	return &o
}

func (c *cluster) gnp(s slot) api.Object {
	sp := api.GlobalNetworkPolicySpec{Selector: pickOf(c.r, cgSelectors), Tier: pickOf(c.r, cgTiers), Order: c.order()}
	switch c.r.IntN(6) {
	case 0:
		sp.ApplyOnForward = true
	case 1:
		sp.PreDNAT, sp.ApplyOnForward = true, true
	case 2:
		sp.DoNotTrack, sp.ApplyOnForward = true, true
	}
	if c.chance(0.15) {
		sp.NamespaceSelector = pickOf(c.r, []string{"team == 'x'", "all()"})
	}
	sp.Types, sp.Ingress, sp.Egress = c.types(sp.PreDNAT)
	return &api.GlobalNetworkPolicy{ObjectMeta: meta(s, nil), Spec: sp}
}

func (c *cluster) np(s slot) api.Object {
	sp := api.NetworkPolicySpec{Selector: pickOf(c.r, []string{"", "all()", "app == 'a'", "has(role)"}),
		Tier: pickOf(c.r, cgTiers), Order: c.order()}
	if c.chance(0.1) {
		sp.ServiceAccountSelector = "tier == 'gold'"
	}
	sp.Types, sp.Ingress, sp.Egress = c.types(false)
	return &api.NetworkPolicy{ObjectMeta: meta(s, nil), Spec: sp}
}

func (c *cluster) knp(s slot) api.Object {
	k := &networkingv1.NetworkPolicy{ObjectMeta: meta(s, nil)}
	if c.chance(0.6) {
		k.Spec.PodSelector.MatchLabels = map[string]string{"app": pickOf(c.r, cgApps)}
	}
	peer := networkingv1.NetworkPolicyPeer{}
	switch c.r.IntN(3) {
	case 0:
		peer.PodSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"role": pickOf(c.r, cgRoles)}}
	case 1:
		peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "x"}}
	default:
		peer.IPBlock = &networkingv1.IPBlock{CIDR: "10.0.0.0/24", Except: []string{"10.0.0.8/29"}}
	}
	port := intstr.FromString("http")
	if c.chance(0.5) {
		port = intstr.FromInt32(80)
	}
	tcp := corev1.ProtocolTCP
	k.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{peer},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}}}}
	k.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if c.chance(0.4) {
		k.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{peer}}}
		k.Spec.PolicyTypes = append(k.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	return k
}

func (c *cluster) types(ingressOnly bool) ([]api.PolicyType, []api.Rule, []api.Rule) {
	var types []api.PolicyType
	var in, eg []api.Rule
	if ingressOnly || c.chance(0.7) {
		types = append(types, api.PolicyTypeIngress)
		in = c.rules(c.r.IntN(3), true)
	}
	if !ingressOnly && (len(types) == 0 || c.chance(0.5)) {
		types = append(types, api.PolicyTypeEgress)
		eg = c.rules(c.r.IntN(3), true)
	}
	return types, in, eg
}

func (c *cluster) rules(n int, pass bool) []api.Rule {
	out := make([]api.Rule, 0, n)
	for range n {
		actions := []api.Action{api.Allow, api.Allow, api.Deny, api.Log}
		if pass {
			actions = append(actions, api.Pass)
		}
		r := api.Rule{Action: pickOf(c.r, actions)}
		proto := pickOf(c.r, cgProtos)
		if proto != "" {
			p := api.ProtocolFromString(proto)
			r.Protocol = &p
		}
		ports := proto == "TCP" || proto == "UDP"
		r.Source = c.entity(false)
		r.Destination = c.entity(ports)
		out = append(out, r)
	}
	return out
}

func (c *cluster) entity(ports bool) api.EntityRule {
	var e api.EntityRule
	switch c.r.IntN(5) {
	case 0:
		e.Nets = []string{pickOf(c.r, cgNetsV4), pickOf(c.r, cgNetsV6)}
	case 1:
		e.NotNets = []string{pickOf(c.r, cgNetsV4)}
	}
	switch c.r.IntN(7) {
	case 0, 1:
		e.Selector = pickOf(c.r, cgSelectors)
	case 2:
		e.NotSelector = pickOf(c.r, cgSelectors)
	case 3:
		e.Selector, e.NotSelector = pickOf(c.r, cgSelectors), pickOf(c.r, cgSelectors)
	case 4:
		e.NamespaceSelector = pickOf(c.r, []string{"team == 'x'", "all()", "global()"})
	case 5:
		e.ServiceAccounts = &api.ServiceAccountMatch{Names: []string{pickOf(c.r, cgSAs)}}
	}
	if ports {
		switch c.r.IntN(4) {
		case 0:
			e.Ports = []api.Port{api.SinglePort(80), api.NamedPort(pickOf(c.r, cgPortNames))}
		case 1:
			e.NotPorts = []api.Port{api.NamedPort(pickOf(c.r, cgPortNames))}
		case 2:
			e.Ports = []api.Port{api.PortRange(1000, 2000)}
		}
	}
	return e
}

func (c *cluster) kcc(s slot) api.Object {
	cfg := &api.AutoHostEndpointConfig{AutoCreate: pickOf(c.r, []string{"Enabled", "Enabled", "Disabled"})}
	if c.chance(0.3) {
		cfg.CreateDefaultHostEndpoint = "Disabled"
	}
	if c.chance(0.4) {
		cfg.Templates = []api.AutoHostEndpointTemplate{{GenerateName: "tpl", InterfaceCIDRs: []string{"10.0.1.0/24"},
			Labels: map[string]string{"role": "web"}, NodeSelector: pickOf(c.r, []string{"all()", "zone == 'z1'"})}}
	}
	return &api.KubeControllersConfiguration{ObjectMeta: meta(s, nil), Spec: api.KubeControllersConfigurationSpec{
		Controllers: api.ControllersConfig{Node: &api.NodeControllerConfig{HostEndpoint: cfg}}}}
}

func (c *cluster) felix(s slot) api.Object {
	fc := &api.FelixConfiguration{ObjectMeta: meta(s, nil)}
	fc.Spec.DefaultEndpointToHostAction = pickOf(c.r, []string{"", "Drop", "Accept", "Return"})
	if c.chance(0.3) {
		off := true
		fc.Spec.DisableConntrackInvalidCheck = &off
	}
	if c.chance(0.4) {
		in := []api.ProtoPort{{Protocol: "TCP", Port: 22}, {Protocol: "UDP", Port: 68, Net: "10.0.0.0/8"}}
		fc.Spec.FailsafeInboundHostPorts = &in
	}
	if c.chance(0.2) {
		fc.Spec.InterfacePrefix = "cali,tap"
	}
	return fc
}

// slice is an EndpointSlice of svc0 with some of the pool's addresses, one
// of them perhaps unready.
func (c *cluster) slice(s slot) api.Object {
	name, proto, port := "", corev1.ProtocolTCP, pickOf(c.r, []int32{8080, 9090})
	es := &discoveryv1.EndpointSlice{ObjectMeta: meta(s, map[string]string{discoveryv1.LabelServiceName: "svc0"}),
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}}}
	for range 1 + c.r.IntN(3) {
		ep := discoveryv1.Endpoint{Addresses: []string{c.ip(false)}}
		if c.chance(0.3) {
			ready := false
			ep.Conditions.Ready = &ready
		}
		es.Endpoints = append(es.Endpoints, ep)
	}
	return es
}

func (c *cluster) service(s slot) api.Object {
	return &corev1.Service{ObjectMeta: meta(s, nil), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
		Selector: map[string]string{"app": pickOf(c.r, cgApps)},
		Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30080,
			TargetPort: pickOf(c.r, []intstr.IntOrString{intstr.FromInt32(8080), intstr.FromString("http")})}}}}
}
