package kerneltest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"sigs.k8s.io/yaml"
)

// The random model generator of the differential test. It writes the
// manifests a user would (YAML, decoded and validated by api.Decode), over
// baseYAML's node and pods: host endpoints, a FelixConfiguration, maybe a
// tier, and a few policies of every kind and stage, with rules drawn from
// pools that hit the topology's addresses and listening ports.

type obj = map[string]any

type gen struct {
	r    *rand.Rand
	tier bool // a custom tier exists
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pickOne[T any](g *gen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// model returns the extra manifests of one random model.
func (g *gen) model() string {
	var docs []obj
	docs = append(docs, g.hostEndpoints()...)
	docs = append(docs, g.felix())
	if g.tier = g.chance(0.3); g.tier {
		docs = append(docs, obj{"apiVersion": "projectcalico.org/v3", "kind": "Tier",
			"metadata": obj{"name": "security"},
			"spec":     obj{"order": 100, "defaultAction": pickOne(g, "Deny", "Pass")}})
	}
	if g.chance(0.5) {
		// Service account labels, seen by selectors as pcsa.* (issue 14).
		docs = append(docs, obj{"apiVersion": "v1", "kind": "ServiceAccount",
			"metadata": obj{"name": "default", "namespace": pickOne(g, "app", "other"), "labels": obj{"role": "svc"}}})
	}
	for i, n := 0, 1+g.r.IntN(4); i < n; i++ {
		docs = append(docs, g.policy(i))
	}
	var b strings.Builder
	for _, d := range docs {
		y, err := yaml.Marshal(d)
		if err != nil {
			panic(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

func (g *gen) hostEndpoints() []obj {
	var out []obj
	hep := func(name, iface, which string) obj {
		spec := obj{"node": nodeName, "interfaceName": iface, "expectedIPs": []string{nodeV4, nodeV6}}
		if g.chance(0.5) {
			spec["profiles"] = []string{"projectcalico-default-allow"}
		}
		return obj{"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
			"metadata": obj{"name": name, "labels": obj{"role": "node", "hep": which}}, "spec": spec}
	}
	switch g.r.IntN(5) {
	case 1:
		out = append(out, hep("node1-eth0", "eth0", "eth0"))
	case 2:
		out = append(out, hep("node1-all", "*", "all"))
	case 3, 4:
		out = append(out, hep("node1-eth0", "eth0", "eth0"), hep("node1-all", "*", "all"))
	}
	return out
}

func (g *gen) felix() obj {
	spec := obj{"defaultEndpointToHostAction": pickOne(g, "Drop", "Accept", "Return")}
	if g.chance(0.2) {
		spec["failsafeInboundHostPorts"] = []obj{
			{"protocol": "TCP", "port": 22},
			{"protocol": "TCP", "port": 80, "net": pickOne(g, "198.19.0.254/32", "fd00:19::/64", "")},
			{"protocol": "UDP", "port": 5353},
		}
	}
	if g.chance(0.2) {
		spec["failsafeOutboundHostPorts"] = []obj{
			{"protocol": "UDP", "port": 53},
			{"protocol": "TCP", "port": 443, "net": pickOne(g, "198.19.0.0/24", "fd00:19::fe/128", "")},
		}
	}
	return obj{"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration",
		"metadata": obj{"name": "default"}, "spec": spec}
}

// policy returns a GlobalNetworkPolicy, a Calico NetworkPolicy or a
// Kubernetes NetworkPolicy.
func (g *gen) policy(i int) obj {
	switch x := g.r.IntN(10); {
	case x < 6:
		return g.globalPolicy(i)
	case x < 9:
		return g.namespacedPolicy(i)
	}
	return g.k8sPolicy(i)
}

func (g *gen) common(spec obj) {
	if g.chance(0.7) {
		spec["order"] = pickOne(g, 10, 100, 100, 500, 1000)
	}
	if g.tier && g.chance(0.4) {
		spec["tier"] = "security"
	}
}

func (g *gen) globalPolicy(i int) obj {
	spec := obj{"selector": pickOne(g, "all()", "role == 'node'", "hep == 'eth0'", "hep == 'all'",
		"app == 'web'", "app in {'web', 'db'}", "has(app)", "!has(app)", "role == 'node' || app == 'client'")}
	g.common(spec)
	name := fmt.Sprintf("gnp-%d", i)
	if spec["tier"] != nil {
		name = "security." + name
	}
	x := g.r.IntN(7)
	if x <= 2 && g.chance(0.3) {
		// all() in the combined selector becomes has(namespace or
		// service account), the policy's own selector included.
		if g.chance(0.5) {
			spec["namespaceSelector"] = pickOne(g, "all()", "team == 'a'", "!has(team)")
		}
		spec["serviceAccountSelector"] = pickOne(g, "all()", "role == 'svc'", "!has(role)")
	}
	switch x {
	case 0, 1:
		g.rules(spec, true)
	case 2:
		spec["applyOnForward"] = true
		g.rules(spec, true)
	case 3, 4:
		spec["applyOnForward"] = true
		spec["preDNAT"] = true
		spec["ingress"] = g.ruleList(true, 1+g.r.IntN(3))
		spec["types"] = []string{"Ingress"}
	default:
		spec["applyOnForward"] = true
		spec["doNotTrack"] = true
		g.rules(spec, true)
	}
	return obj{"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
		"metadata": obj{"name": name}, "spec": spec}
}

func (g *gen) namespacedPolicy(i int) obj {
	ns := pickOne(g, "app", "other")
	spec := obj{"selector": pickOne(g, "all()", "app == 'web'", "app == 'db'", "app == 'client'", "has(app)")}
	if g.chance(0.25) {
		spec["serviceAccountSelector"] = pickOne(g, "all()", "role == 'svc'", "!has(role)")
	}
	g.common(spec)
	g.rules(spec, false)
	name := fmt.Sprintf("np-%d", i)
	if spec["tier"] != nil {
		name = "security." + name
	}
	return obj{"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
		"metadata": obj{"name": name, "namespace": ns}, "spec": spec}
}

// rules fills ingress, egress and types; an empty direction listed in types
// is the deny-all idiom (§7.4).
func (g *gen) rules(spec obj, global bool) {
	in, eg := g.r.IntN(4), g.r.IntN(4)
	if in > 0 {
		spec["ingress"] = g.ruleList(global, in)
	}
	if eg > 0 {
		spec["egress"] = g.ruleList(global, eg)
	}
	if in+eg == 0 || g.chance(0.3) {
		spec["types"] = pickOne(g, []string{"Ingress"}, []string{"Egress"}, []string{"Ingress", "Egress"})
	}
}

func (g *gen) ruleList(global bool, n int) []obj {
	out := make([]obj, n)
	for i := range out {
		out[i] = g.rule(global)
	}
	return out
}

func (g *gen) rule(global bool) obj {
	r := obj{"action": pickOne(g, "Allow", "Allow", "Allow", "Deny", "Deny", "Pass", "Log")}
	var proto string
	switch x := g.r.IntN(20); {
	case x < 7:
		proto = "TCP"
	case x < 11:
		proto = "UDP"
	case x < 13:
		proto = "ICMP"
	case x < 14:
		proto = "ICMPv6"
	case x < 15:
		r["notProtocol"] = pickOne(g, "TCP", "UDP")
	}
	if proto != "" {
		r["protocol"] = proto
	}
	fam := pickOne(g, 0, 0, 4, 6)
	if proto == "ICMP" {
		fam = 4
	} else if proto == "ICMPv6" {
		fam = 6
	}
	if fam != 0 && g.chance(0.3) {
		r["ipVersion"] = fam
	}
	if (proto == "ICMP" || proto == "ICMPv6") && g.chance(0.4) {
		t := pickOne(g, 8, 128, 0)
		if proto == "ICMP" && t == 128 || proto == "ICMPv6" && t == 8 {
			t = 13
		}
		r["icmp"] = obj{"type": t}
	}
	netFam := fam // both sides' nets must be of one family (the API rejects a mix)
	if netFam == 0 {
		netFam = pickOne(g, 4, 6)
	}
	src, dst := g.entity(global, netFam, proto, true), g.entity(global, netFam, proto, false)
	if len(src) > 0 {
		r["source"] = src
	}
	if len(dst) > 0 {
		r["destination"] = dst
	}
	return r
}

var (
	nets4 = []string{"198.19.0.254/32", "198.19.0.253/32", "198.19.0.0/24", "198.18.1.0/24", "198.18.0.0/16", "198.19.0.2/32", "127.0.0.0/8"}
	nets6 = []string{"fd00:19::fe/128", "fd00:19::fd/128", "fd00:19::/64", "fd00:18:1::/64", "fd00:18::/32", "fd00:19::2/128", "::1/128"}
)

// entity is a rule's source or destination: nets of family fam, a
// selector, ports for TCP and UDP.
func (g *gen) entity(global bool, fam int, proto string, source bool) obj {
	e := obj{}
	if g.chance(0.35) {
		pool := nets4
		if fam == 6 {
			pool = nets6
		}
		key := "nets"
		if g.chance(0.3) {
			key = "notNets"
		}
		e[key] = []string{pickOne(g, pool...)}
		if g.chance(0.3) {
			e[key] = append(e[key].([]string), pickOne(g, pool...))
		}
	}
	if g.chance(0.3) {
		key := "selector"
		if g.chance(0.25) {
			key = "notSelector"
		}
		e[key] = pickOne(g, "app == 'web'", "app == 'db'", "app == 'client'", "has(app)", "role == 'node'", "all()")
		if !global && g.chance(0.4) {
			e["namespaceSelector"] = pickOne(g, "all()", "team == 'a'", "team == 'b'")
		}
	}
	if g.chance(0.15) {
		// A service account selector is one more label selector (pcsa.
		// keys, all() kept): it matches network sets and host endpoints too.
		e["serviceAccounts"] = pickOne(g, obj{"selector": "all()"}, obj{"selector": "role == 'svc'"},
			obj{"names": []string{"default"}}, obj{"selector": "!has(role)"})
	}
	if proto == "TCP" || proto == "UDP" {
		if source {
			if g.chance(0.15) {
				e["ports"] = []any{pickOne(g, "20000:40000", "40001:60000", "1:1024")}
			}
		} else if g.chance(0.7) {
			key := "ports"
			if g.chance(0.2) {
				key = "notPorts"
			}
			pool := []any{80, 443, 8080, 22, 21, "8000:8100", "20:30", 5432, "http"}
			if proto == "UDP" {
				pool = []any{53, 5353, 67, 68, 9999, "5000:6000"}
			}
			ps := []any{pickOne(g, pool...)}
			if g.chance(0.3) {
				ps = append(ps, pickOne(g, pool...))
			}
			e[key] = ps
		}
	}
	return e
}

func (g *gen) k8sPolicy(i int) obj {
	ns := pickOne(g, "app", "other")
	spec := obj{"podSelector": obj{"matchLabels": obj{"app": pickOne(g, "web", "db", "client")}}}
	peer := func() obj {
		switch g.r.IntN(4) {
		case 0:
			return obj{"ipBlock": obj{"cidr": pickOne(g, "198.19.0.0/24", "fd00:19::/64", "198.18.0.0/16")}}
		case 1:
			return obj{"namespaceSelector": obj{"matchLabels": obj{"team": pickOne(g, "a", "b")}}}
		}
		return obj{"podSelector": obj{"matchLabels": obj{"app": pickOne(g, "web", "db", "client")}}}
	}
	rule := func(key string) obj {
		r := obj{}
		if g.chance(0.7) {
			r[key] = []obj{peer()}
		}
		if g.chance(0.7) {
			r["ports"] = []obj{{"protocol": pickOne(g, "TCP", "UDP"), "port": pickOne(g, 80, 53, 5432, 8080)}}
		}
		return r
	}
	types := pickOne(g, []string{"Ingress"}, []string{"Egress"}, []string{"Ingress", "Egress"})
	spec["policyTypes"] = types
	for _, t := range types {
		if g.chance(0.8) {
			if t == "Ingress" {
				spec["ingress"] = []obj{rule("from")}
			} else {
				spec["egress"] = []obj{rule("to")}
			}
		}
	}
	return obj{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": obj{"name": fmt.Sprintf("knp-%d", i), "namespace": ns}, "spec": spec}
}

// Flow ends the generator draws from.
var (
	flowSources = []string{"ext", "ext2", "ext", "node", "app/web", "app/db", "other/client"}
	flowDests   = []string{"ext", "ext2", "node", "node", "node", "lo", "app/web", "app/db", "other/client", "nodeport", "nodeport"}
)

// flow draws one flow; ok is false for pairs the topology cannot carry.
func (g *gen) flow() (flow, bool) {
	f := flow{from: pickOne(g, flowSources...), to: pickOne(g, flowDests...), fam: pickOne(g, 4, 6)}
	ext := func(s string) bool { return s == "ext" || s == "ext2" }
	if f.from == f.to || ext(f.from) && ext(f.to) || f.to == "lo" && f.from != "node" {
		return f, false
	}
	switch x := g.r.IntN(10); {
	case f.to == "nodeport":
		f.to, f.port = "node", fmt.Sprintf("%d/TCP", nodePort)
	case x < 5:
		f.port = fmt.Sprintf("%d/TCP", pickOne(g, tcpPorts...))
	case x < 8:
		f.port = fmt.Sprintf("%d/UDP", pickOne(g, udpPorts...))
	default:
		f.port = "0/ICMP"
	}
	return f, true
}
