package lab

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// endpoint is one side of a flow in the lab.
type endpoint struct {
	ns   string     // the namespace its packets start in
	ip   netip.Addr // its address
	node string     // the node it sits on ("" for an outside host)
}

// resolve finds a flow's peer: NAMESPACE/POD, node:NAME or an address of
// a pod, a node or an outside host.
func (l *Lab) resolve(s string) (endpoint, error) {
	if name, ok := strings.CutPrefix(s, "node:"); ok {
		n, ok := l.topo.Node(name)
		if !ok {
			return endpoint{}, fmt.Errorf("no node %q", name)
		}
		return endpoint{ns: NodeNS(n.Name), ip: n.IP, node: n.Name}, nil
	}
	if strings.Contains(s, "/") {
		p, ok := l.topo.Pod(s)
		if !ok {
			return endpoint{}, fmt.Errorf("no pod %q", s)
		}
		return endpoint{ns: PodNS(p.Namespace, p.Name), ip: p.IP, node: p.Node}, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return endpoint{}, fmt.Errorf("%q is not a pod, node:NAME or an address", s)
	}
	for _, n := range l.topo.Nodes {
		if n.IP == ip {
			return endpoint{ns: NodeNS(n.Name), ip: ip, node: n.Name}, nil
		}
	}
	for _, h := range l.topo.Hosts {
		if h.IP == ip {
			return endpoint{ns: NodeNS(h.Name), ip: ip}, nil
		}
	}
	for _, p := range l.topo.Pods {
		if p.IP == ip {
			return endpoint{ns: PodNS(p.Namespace, p.Name), ip: ip, node: p.Node}, nil
		}
	}
	return endpoint{}, fmt.Errorf("%s is not an address of the lab", ip)
}

// attempts is how many connections judge a flow: one, or one per backend
// for a NodePort (the stand-in kube-proxy takes the backends in turn), so
// that, like explain, the kernel allows a NodePort flow only if every
// backend is reachable.
func (l *Lab) attempts(dst endpoint, proto string, port uint16) (n int, nodePort bool) {
	if dst.node == "" || dst.ns != NodeNS(dst.node) {
		return 1, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.nodePorts[dst.node][fmt.Sprintf("%d/%s", port, strings.ToUpper(proto))]
	if !ok {
		return 1, false
	}
	return max(b, 1), true
}

// kernel probes a flow with real packets.
func (l *Lab) kernel(ctx context.Context, f flow) (verdict, detail string, nodes []string) {
	src, err := l.resolve(f.from)
	if err != nil {
		return "error", err.Error(), nil
	}
	dst, err := l.resolve(f.to)
	if err != nil {
		return "error", err.Error(), nil
	}
	nodes = uniq(src.node, dst.node)
	proto, port, err := parsePort(f.port)
	if err != nil {
		return "error", err.Error(), nodes
	}
	p := probe{from: l.nss[src.ns], proto: proto, dst: dst.ip, port: port,
		connect: proto == "tcp" && port == etcdPort && dst.ip == l.controlNode().IP}
	n, _ := l.attempts(dst, proto, port)
	open := 0
	var other []string
	for i := 0; i < n; i++ {
		out, _ := l.runProbe(ctx, p)
		if out == OutOpen {
			open++
		} else {
			other = append(other, string(out))
		}
	}
	verdict = "deny"
	if open == n {
		verdict = "allow"
	}
	switch {
	case n == 1 && open == 1:
		detail = string(OutOpen)
	case n == 1:
		detail = other[0]
	default:
		detail = fmt.Sprintf("open %d/%d", open, n)
		if len(other) > 0 {
			detail += " (" + strings.Join(uniq(other...), ",") + ")"
		}
	}
	return verdict, detail, nodes
}

func uniq(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !containsStr(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkFlows probes every flow of a step and asks explain about each.
// NodePort flows run one at a time (the backends are taken in turn), the
// others in parallel.
func (l *Lab) checkFlows(ctx context.Context, sc Scenario, st step) []FlowResult {
	res := make([]FlowResult, len(st.flows))
	var serial []int
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, f := range st.flows {
		res[i] = FlowResult{Scenario: sc.Name, Step: st.name, From: f.from, To: f.to, Port: f.port, Want: f.want, Why: f.why,
			Extra: f.want == ""}
		if l.isNodePortFlow(f) {
			serial = append(serial, i)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res[i].Kernel, res[i].Detail, res[i].Nodes = l.kernel(ctx, f)
		}()
	}
	wg.Wait()
	for _, i := range serial {
		res[i].Kernel, res[i].Detail, res[i].Nodes = l.kernel(ctx, st.flows[i])
	}
	for i, f := range st.flows {
		res[i].Explain, res[i].ExplainErr = l.explain(f)
		if !res[i].OK() || l.cfg.Verbose {
			res[i].explainText = l.explainText(f)
		}
	}
	return res
}

func (l *Lab) isNodePortFlow(f flow) bool {
	dst, err := l.resolve(f.to)
	if err != nil {
		return false
	}
	proto, port, err := parsePort(f.port)
	if err != nil {
		return false
	}
	_, np := l.attempts(dst, proto, port)
	return np
}
