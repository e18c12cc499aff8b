package render

import (
	"fmt"
	"math/rand/v2"

	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A small seeded generator of single-node models for the differential
// test: one node with eth0 (IPv4 and IPv6), eth1 (IPv4) and tunl0; pods
// on it; named, IP-matched and wildcard host endpoints (some inactive);
// failsafes with and without nets; tiers with Pass and Deny defaults;
// normal, applyOnForward, preDNAT and doNotTrack policies; namespaced
// policies; profiles; network sets; NodePort services.

const genNode = "n1"

var (
	genNodeV4  = "198.19.0.1"
	genNodeV6  = "fd00::1"
	genEth1V4  = "10.1.0.1"
	genExtV4   = []string{"198.19.15.254", "198.19.15.253", "10.9.9.9", "192.0.2.7"}
	genExtV6   = []string{"fd00::99", "2001:db8::5"}
	genNetsV4  = []string{"198.19.15.0/24", "198.19.15.254/32", "10.0.0.0/8", "198.18.1.0/26", "0.0.0.0/1", "192.0.2.0/28", "198.19.0.1/32", "127.0.0.0/8"}
	genNetsV6  = []string{"fd00::/64", "2001:db8::/32", "fd01::/64", "::1/128"}
	genPorts   = []uint16{22, 53, 68, 80, 179, 443, 2379, 4789, 6443, 8080, 10250, 30180, 30999, 40000}
	genApps    = []string{"a", "b", "c"}
	genRoles   = []string{"web", "db"}
	genIfaces  = []string{"eth0", "eth1", "lo", "tunl0"}
	genProtos  = []string{"TCP", "UDP", "ICMP", "ICMPv6", "SCTP", ""}
	genSelects = []string{"", "all()", "has(app)", "app == 'a'", "app in {'b', 'c'}", "role == 'web'",
		"host == 'yes'", "has(host)", "!has(app)", "set == 'ext'", "app != 'a'", "has(kubernetes.io/hostname)"}
)

type gen struct {
	r    *rand.Rand
	objs []api.Object
	pods int
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// genModel returns the objects of one random single-node model.
func genModel(seed uint64) []api.Object { return genModelN(seed, 0) }

// genModelN is genModel with policies global policies (random when 0).
func genModelN(seed uint64, policies int) []api.Object {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	g.node()
	g.felix()
	g.namespaces()
	g.podsAndServices()
	g.hostEndpoints()
	g.networkSets()
	g.tiersAndProfiles()
	n := 1 + g.r.IntN(7)
	if policies > 0 {
		n = policies
	}
	for i := 0; i < n; i++ {
		g.globalPolicy(i)
	}
	for i := 0; i < g.r.IntN(4); i++ {
		g.namespacedPolicy(i)
	}
	if g.chance(0.3) {
		g.bindByRoute()
	}
	return g.objs
}

// bindByRoute reports the first pod as bound by route lookup to an
// interface no prefix matches, as an agent does when its conventional
// interface is absent.
func (g *gen) bindByRoute() {
	for _, o := range g.objs {
		if p, ok := o.(*corev1.Pod); ok {
			api.SetNodeInterfaceReport(g.objs[0].(*api.Node),
				api.InterfaceReport{Bound: map[string]string{p.Namespace + "/" + p.Name: "veth" + p.Name}})
			return
		}
	}
}

func (g *gen) node() {
	g.objs = append(g.objs, &api.Node{ObjectMeta: metav1.ObjectMeta{Name: genNode,
		Labels: map[string]string{"kubernetes.io/hostname": genNode, "host": "yes"}},
		Spec: api.NodeSpec{Interfaces: []api.NodeInterface{
			{Name: "eth0", Addresses: []string{genNodeV4, genNodeV6}},
			{Name: "eth1", Addresses: []string{genEth1V4}},
			{Name: "tunl0"},
		}}})
}

func (g *gen) felix() {
	fc := &api.FelixConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	fc.Spec.DefaultEndpointToHostAction = pick(g.r, []string{"", "Drop", "Accept", "Return", "accept"})
	if g.chance(0.3) {
		off := true
		fc.Spec.DisableConntrackInvalidCheck = &off
	}
	if g.chance(0.5) {
		in := []api.ProtoPort{{Protocol: "TCP", Port: 22}, {Protocol: "UDP", Port: 68}}
		if g.chance(0.5) {
			in = append(in, api.ProtoPort{Protocol: "TCP", Port: 8080, Net: pick(g.r, []string{"198.19.15.0/24", "0.0.0.0/0", "fd00::/64"})})
		}
		out := []api.ProtoPort{{Protocol: "UDP", Port: 53}, {Protocol: "TCP", Port: 443, Net: pick(g.r, []string{"198.19.15.254/32", "2001:db8::/32"})}}
		if g.chance(0.2) {
			out = nil
		}
		fc.Spec.FailsafeInboundHostPorts, fc.Spec.FailsafeOutboundHostPorts = &in, &out
	}
	if g.chance(0.2) {
		fc.Spec.InterfacePrefix = "cali,tap"
	}
	g.objs = append(g.objs, fc)
}

func (g *gen) namespaces() {
	g.objs = append(g.objs,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns1", Labels: map[string]string{"team": "x"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns2", Labels: map[string]string{"team": "y"}}})
}

func (g *gen) podsAndServices() {
	g.pods = 2 + g.r.IntN(4)
	for i := 0; i < g.pods; i++ {
		ips := []corev1.PodIP{{IP: fmt.Sprintf("198.18.1.%d", 10+i)}}
		if g.chance(0.6) {
			ips = append(ips, corev1.PodIP{IP: fmt.Sprintf("fd01::%x", 16+i)})
		}
		labels := map[string]string{"app": pick(g.r, genApps)}
		if g.chance(0.5) {
			labels["role"] = pick(g.r, genRoles)
		}
		var ports []corev1.ContainerPort
		if g.chance(0.6) {
			ports = append(ports, corev1.ContainerPort{Name: "http", ContainerPort: int32(pick(g.r, []uint16{80, 8080}))})
		}
		if g.chance(0.3) {
			ports = append(ports, corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP})
		}
		g.objs = append(g.objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: pick(g.r, []string{"ns1", "ns2"}), Labels: labels},
			Spec:       corev1.PodSpec{NodeName: genNode, Containers: []corev1.Container{{Name: "c", Ports: ports}}},
			Status:     corev1.PodStatus{PodIP: ips[0].IP, PodIPs: ips},
		})
	}
	if g.chance(0.4) {
		g.objs = append(g.objs, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "svc", Namespace: "ns1"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": pick(g.r, genApps)},
				Ports: []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 80, NodePort: 30180, TargetPort: intstr.FromInt32(8080)}}},
		})
	}
}

func (g *gen) hostEndpoints() {
	hep := func(name, iface string, ips []string) *api.HostEndpoint {
		h := &api.HostEndpoint{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"host": "yes"}},
			Spec: api.HostEndpointSpec{Node: genNode, InterfaceName: iface, ExpectedIPs: ips}}
		if g.chance(0.5) {
			h.Labels["role"] = pick(g.r, genRoles)
		}
		if g.chance(0.4) {
			h.Spec.Profiles = []string{api.DefaultAllowProfile}
		} else if g.chance(0.3) {
			h.Spec.Profiles = []string{"prof-a"}
		}
		if g.chance(0.3) {
			h.Spec.Ports = []api.EndpointPort{{Name: "http", Protocol: api.ProtocolFromString("TCP"), Port: 8080}}
		}
		return h
	}
	if g.chance(0.6) {
		g.objs = append(g.objs, hep("h-eth0", "eth0", pickIPs(g, []string{genNodeV4, genNodeV6})))
	}
	if g.chance(0.3) {
		g.objs = append(g.objs, hep("h-z-eth0", "eth0", nil)) // loses to h-eth0 by name
	}
	if g.chance(0.4) {
		g.objs = append(g.objs, hep("h-ipmatch", "", []string{genEth1V4}))
	}
	if g.chance(0.2) {
		g.objs = append(g.objs, hep("h-lo", "lo", []string{"127.0.0.1"}))
	}
	if g.chance(0.5) {
		g.objs = append(g.objs, hep("h-wild", "*", pickIPs(g, []string{genNodeV4, genEth1V4})))
	}
	if g.chance(0.15) {
		g.objs = append(g.objs, hep("h-wild2", "*", nil)) // inactive wildcard
	}
}

func pickIPs(g *gen, ips []string) []string {
	var out []string
	for _, ip := range ips {
		if g.chance(0.7) {
			out = append(out, ip)
		}
	}
	return out
}

func (g *gen) networkSets() {
	g.objs = append(g.objs, &api.GlobalNetworkSet{ObjectMeta: metav1.ObjectMeta{Name: "ext", Labels: map[string]string{"set": "ext"}},
		Spec: api.NetworkSetSpec{Nets: []string{"198.19.15.0/25", pick(g.r, genNetsV4), pick(g.r, genNetsV6)}}})
}

func (g *gen) tiersAndProfiles() {
	order := float64(100)
	t := &api.Tier{ObjectMeta: metav1.ObjectMeta{Name: "security"}, Spec: api.TierSpec{Order: &order}}
	if g.chance(0.5) {
		pass := api.Pass
		t.Spec.DefaultAction = &pass
	}
	g.objs = append(g.objs, t)
	g.objs = append(g.objs, &api.Profile{ObjectMeta: metav1.ObjectMeta{Name: "prof-a"},
		Spec: api.ProfileSpec{Ingress: g.rules(2, false), Egress: g.rules(2, false)}})
}

func (g *gen) globalPolicy(i int) {
	s := api.GlobalNetworkPolicySpec{Selector: pick(g.r, genSelects), Tier: pick(g.r, []string{"", "security"})}
	if g.chance(0.8) {
		o := float64(g.r.IntN(5) * 10)
		s.Order = &o
	}
	switch g.r.IntN(5) {
	case 0:
		s.ApplyOnForward = true
	case 1:
		s.PreDNAT, s.ApplyOnForward = true, true
	case 2:
		s.DoNotTrack, s.ApplyOnForward = true, true
	}
	s.Types, s.Ingress, s.Egress = g.types(s.PreDNAT)
	g.objs = append(g.objs, &api.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gnp-%d", i)}, Spec: s})
}

func (g *gen) namespacedPolicy(i int) {
	s := api.NetworkPolicySpec{Selector: pick(g.r, []string{"", "all()", "app == 'a'", "has(role)"}), Tier: pick(g.r, []string{"", "security"})}
	if g.chance(0.7) {
		o := float64(g.r.IntN(5) * 10)
		s.Order = &o
	}
	s.Types, s.Ingress, s.Egress = g.types(false)
	g.objs = append(g.objs, &api.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("np-%d", i), Namespace: pick(g.r, []string{"ns1", "ns2"})}, Spec: s})
}

func (g *gen) types(ingressOnly bool) ([]api.PolicyType, []api.Rule, []api.Rule) {
	var types []api.PolicyType
	var in, eg []api.Rule
	if ingressOnly || g.chance(0.7) {
		types = append(types, api.PolicyTypeIngress)
		in = g.rules(g.r.IntN(4), true)
	}
	if !ingressOnly && (len(types) == 0 || g.chance(0.5)) {
		types = append(types, api.PolicyTypeEgress)
		eg = g.rules(g.r.IntN(4), true)
	}
	return types, in, eg
}

func (g *gen) rules(n int, pass bool) []api.Rule {
	out := make([]api.Rule, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, g.rule(pass))
	}
	return out
}

func (g *gen) rule(pass bool) api.Rule {
	actions := []api.Action{api.Allow, api.Allow, api.Deny, api.Log}
	if pass {
		actions = append(actions, api.Pass)
	}
	r := api.Rule{Action: pick(g.r, actions)}
	proto := pick(g.r, genProtos)
	if proto != "" {
		p := api.ProtocolFromString(proto)
		r.Protocol = &p
	} else if g.chance(0.2) {
		p := api.ProtocolFromString(pick(g.r, []string{"TCP", "UDP", "ICMP"}))
		r.NotProtocol = &p
	}
	v6 := proto == "ICMPv6" || proto != "ICMP" && g.chance(0.3)
	if proto == "ICMP" || proto == "ICMPv6" {
		g.icmp(&r)
	}
	ports := proto == "TCP" || proto == "UDP" || proto == "SCTP"
	r.Source = g.entity(v6, ports && g.chance(0.3), proto == "")
	r.Destination = g.entity(v6, ports, proto == "")
	if g.chance(0.1) {
		iv := 4
		if v6 {
			iv = 6
		}
		r.IPVersion = &iv
	}
	return r
}

func (g *gen) icmp(r *api.Rule) {
	t := pick(g.r, []int{0, 3, 8, 128, 135})
	f := &api.ICMPFields{Type: &t}
	if g.chance(0.3) {
		c := pick(g.r, []int{0, 1})
		f.Code = &c
	}
	switch g.r.IntN(3) {
	case 0:
		r.ICMP = f
	case 1:
		r.NotICMP = f
	}
}

func (g *gen) entity(v6, ports, namedOnly bool) api.EntityRule {
	var e api.EntityRule
	nets := genNetsV4
	if v6 {
		nets = genNetsV6
	}
	switch g.r.IntN(6) {
	case 0:
		e.Nets = []string{pick(g.r, nets), pick(g.r, nets)}
	case 1:
		e.NotNets = []string{pick(g.r, nets)}
	}
	switch g.r.IntN(5) {
	case 0:
		e.Selector = pick(g.r, genSelects[1:])
	case 1:
		e.NotSelector = pick(g.r, genSelects[2:])
	case 2:
		e.Selector, e.NotSelector = pick(g.r, genSelects[1:]), pick(g.r, genSelects[2:])
	}
	if ports {
		switch g.r.IntN(5) {
		case 0:
			e.Ports = []api.Port{api.SinglePort(pick(g.r, genPorts)), api.PortRange(30000, 32767)}
		case 1:
			e.Ports = []api.Port{api.SinglePort(pick(g.r, genPorts)), api.NamedPort("http")}
		case 2:
			e.NotPorts = []api.Port{api.SinglePort(pick(g.r, genPorts)), api.NamedPort(pick(g.r, []string{"http", "dns"}))}
		case 3:
			e.NotPorts = []api.Port{api.PortRange(1, 1024)}
		}
	} else if namedOnly && g.chance(0.15) {
		e.Ports = []api.Port{api.NamedPort(pick(g.r, []string{"http", "dns"}))}
	}
	return e
}
