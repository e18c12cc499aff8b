package lab

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/policy"
)

// kubeProxyTable is the lab's stand-in for kube-proxy in every node
// namespace; palisade's own table (inet palisade) is never touched.
const kubeProxyTable = "palisade-lab-kubeproxy"

// backend is one pod address and port a NodePort leads to.
type backend struct {
	ip   netip.Addr
	port uint16
}

// nodePort is one NodePort on one node, resolved to the backends kube-proxy
// would use there.
type nodePort struct {
	proto    string // "tcp" or "udp"
	port     uint16
	backends []backend
}

// Key is "30180/TCP".
func (n nodePort) Key() string { return fmt.Sprintf("%d/%s", n.port, strings.ToUpper(n.proto)) }

// nodePortsOn resolves the model's NodePort services for one node:
// externalTrafficPolicy Local keeps the node's own backends only. A pod
// known both as a Pod and as a WorkloadEndpoint is one backend.
func nodePortsOn(m *policy.Model, node string) []nodePort {
	var out []nodePort
	for _, s := range m.Services {
		for _, sp := range s.Ports {
			np := nodePort{proto: protoName(sp.Proto), port: sp.NodePort}
			if np.proto == "" {
				continue
			}
			for _, b := range sp.Backends {
				if s.Local && b.Workload.Node != node {
					continue
				}
				for _, ip := range b.Workload.IPs {
					be := backend{ip, b.Port}
					if ip.Is4() && !slices.Contains(np.backends, be) {
						np.backends = append(np.backends, be)
					}
				}
			}
			slices.SortFunc(np.backends, func(a, b backend) int { return a.ip.Compare(b.ip) })
			out = append(out, np)
		}
	}
	return out
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return ""
}

// kubeProxyText is the node's NAT table, as kube-proxy's nftables mode
// would program it: the NodePort on the node's address is DNATed, from
// outside (prerouting) and from the node's own processes (output), to one
// backend in turn (numgen inc, so N consecutive connections reach each of
// the N backends once); connections DNATed to another node are masqueraded
// to this node's address, and so are hairpin connections (a backend that
// reaches itself through the NodePort), as kube-proxy masquerades them. A
// NodePort without backends is dropped. Priorities
// are kube-proxy's, so palisade's preDNAT chain (mangle, -150) sees the
// NodePort first.
func kubeProxyText(nodeIP netip.Addr, nps []nodePort) string {
	var b, chains strings.Builder
	fmt.Fprintf(&b, "table ip %s {\n", kubeProxyTable)
	var dispatch, hairpin []string
	for _, np := range nps {
		match := fmt.Sprintf("ip daddr %s %s dport %d", nodeIP, np.proto, np.port)
		svc := fmt.Sprintf("svc-%s-%d", np.proto, np.port)
		if len(np.backends) == 0 {
			dispatch = append(dispatch, match+" drop")
			continue
		}
		dispatch = append(dispatch, match+" goto "+svc)
		var vmap []string
		for i, be := range np.backends {
			ep := fmt.Sprintf("%s-ep%d", svc, i)
			vmap = append(vmap, fmt.Sprintf("%d : goto %s", i, ep))
			hp := fmt.Sprintf("ct status dnat ip saddr %s ip daddr %s masquerade", be.ip, be.ip)
			if !slices.Contains(hairpin, hp) {
				hairpin = append(hairpin, hp)
			}
			fmt.Fprintf(&chains, "\tchain %s {\n\t\tmeta l4proto %s dnat to %s:%d\n\t}\n", ep, np.proto, be.ip, be.port)
		}
		fmt.Fprintf(&chains, "\tchain %s {\n\t\tnumgen inc mod %d vmap { %s }\n\t}\n", svc, len(np.backends), strings.Join(vmap, ", "))
	}
	for _, c := range []struct{ name, hook, prio string }{
		{"prerouting", "prerouting", "dstnat"}, {"output", "output", "-100"},
	} {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype nat hook %s priority %s; policy accept;\n", c.name, c.hook, c.prio)
		for _, d := range dispatch {
			fmt.Fprintf(&b, "\t\t%s\n", d)
		}
		b.WriteString("\t}\n")
	}
	fmt.Fprintf(&b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"+
		"\t\tct status dnat oifname %q masquerade\n", uplink)
	for _, h := range hairpin {
		fmt.Fprintf(&b, "\t\t%s\n", h)
	}
	b.WriteString("\t}\n")
	b.WriteString(chains.String())
	b.WriteString("}\n")
	return b.String()
}

// syncKubeProxy programs every node's NodePorts from the datastore's
// Services and pods, replacing the table in one transaction when it
// changed.
func (l *Lab) syncKubeProxy(ctx context.Context, m *policy.Model) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kubeProxy == nil {
		l.kubeProxy = map[string]string{}
		l.nodePorts = map[string]map[string]int{}
	}
	for _, n := range l.topo.Nodes {
		nps := nodePortsOn(m, n.Name)
		text := kubeProxyText(n.IP, nps)
		counts := map[string]int{}
		for _, np := range nps {
			counts[np.Key()] = len(np.backends)
		}
		l.nodePorts[n.Name] = counts
		if l.kubeProxy[n.Name] == text {
			continue
		}
		script := fmt.Sprintf("add table ip %s\ndelete table ip %s\n%s", kubeProxyTable, kubeProxyTable, text)
		if _, err := l.nss[NodeNS(n.Name)].Run(ctx, strings.NewReader(script), "nft", "-f", "-"); err != nil {
			return fmt.Errorf("lab: kube-proxy stand-in on %s: %w\n%s", n.Name, err, text)
		}
		l.kubeProxy[n.Name] = text
	}
	return nil
}
