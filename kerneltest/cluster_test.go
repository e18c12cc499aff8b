package kerneltest

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
)

// The topology: node1 with eth0 to an outside host ("ext", two addresses),
// and the pods of baseYAML behind their cali veths.
const (
	nodeName = "node1"
	nodeV4   = "198.19.0.2"
	nodeV6   = "fd00:19::2"
	ext1V4   = "198.19.0.254"
	ext1V6   = "fd00:19::fe"
	ext2V4   = "198.19.0.253"
	ext2V6   = "fd00:19::fd"
	// Pods route everything to these on-link gateways (never addressed).
	podGW4 = "198.19.255.1"
	podGW6 = "fd00:ff::1"
	// The NodePort kube-proxy's stand-in DNATs to app/web:80.
	nodePort = 30080
)

// Ports every namespace listens on.
var (
	tcpPorts = []uint16{21, 22, 80, 179, 443, 5432, 6443, 8080}
	udpPorts = []uint16{53, 67, 68, 5353, 9999}
)

// baseYAML is what every test's model starts with: the node, namespaces,
// three pods (dual-stack) and a NodePort service. The node's agent bound
// other/client by route lookup to vethclient (a name no interface prefix
// matches), so every test also covers exact-name workload dispatch.
const baseYAML = `
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node1
  labels: {kubernetes.io/hostname: node1}
  annotations: {palisade.io/interfaces: '{"bound":{"other/client":"vethclient"}}'}
spec:
  interfaces: [{name: eth0, addresses: [198.19.0.2, "fd00:19::2"]}]
---
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: b}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
spec: {nodeName: node1, containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}, {ip: "fd00:18:1::10"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: app, labels: {app: db}}
spec: {nodeName: node1, containers: [{name: c, ports: [{name: pg, containerPort: 5432}]}]}
status: {podIP: 198.18.1.11, podIPs: [{ip: 198.18.1.11}, {ip: "fd00:18:1::11"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {nodeName: node1, containers: [{name: c}]}
status: {podIP: 198.18.2.12, podIPs: [{ip: 198.18.2.12}, {ip: "fd00:18:2::12"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-np, namespace: app}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{protocol: TCP, port: 80, targetPort: 80, nodePort: 30080}]
`

// kubeProxy stands in for kube-proxy: its own tables in the node
// namespace, DNATing the NodePort to app/web:80 for packets arriving
// (prerouting) and sent by host processes (output), at kube-proxy's
// priorities, and masquerading what it DNATed (as kube-proxy does for
// externalTrafficPolicy Cluster and for hairpin traffic) after policy has
// seen the original source.
const kubeProxy = `table ip kubeproxy-test {
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 198.19.0.2 tcp dport 30080 dnat to 198.18.1.10:80
	}
	chain nat-output {
		type nat hook output priority -100; policy accept;
		ip daddr 198.19.0.2 tcp dport 30080 dnat to 198.18.1.10:80
	}
	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ct status dnat masquerade
	}
}
table ip6 kubeproxy-test {
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip6 daddr fd00:19::2 tcp dport 30080 dnat to [fd00:18:1::10]:80
	}
	chain nat-output {
		type nat hook output priority -100; policy accept;
		ip6 daddr fd00:19::2 tcp dport 30080 dnat to [fd00:18:1::10]:80
	}
	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ct status dnat masquerade
	}
}
`

// cluster is a built topology and the model currently applied to it.
type cluster struct {
	lab       *netlab.Lab
	node, ext *netlab.NS
	pods      map[string]*netlab.NS // "namespace/pod"
	k         *nft.Kernel
	model     *policy.Model
	rs        *render.Ruleset
	compiled  bool          // apply render.Compile's form of each model
	port      atomic.Uint32 // next client port
	icmpID    atomic.Uint32
	timeout   time.Duration // probe timeout
}

// newCluster builds the namespaces for baseYAML's node and pods.
func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{lab: netlab.ForTest(t, "pal-kt"), pods: map[string]*netlab.NS{}, timeout: 400 * time.Millisecond}
	c.port.Store(20000)
	c.icmpID.Store(1000)
	m := mustModel(t, baseYAML)
	must(t, c.buildHosts())
	i := 0
	for _, w := range m.WorkloadsOn(nodeName) {
		ns, err := c.buildPod(fmt.Sprintf("p%d", i), m.Nodes[nodeName].WorkloadInterface(w), w)
		must(t, err)
		c.pods[w.Key()] = ns
		i++
	}
	for _, ns := range c.all() {
		must(t, ns.ServeTCP(tcpPorts...))
		must(t, ns.ServeUDP(udpPorts...))
	}
	_, err := c.node.Run(context.Background(), strings.NewReader(kubeProxy), "nft", "-f", "-")
	must(t, err)
	c.k, err = nft.NewKernel(nft.Config{NetNS: c.node.Path()})
	must(t, err)
	c.model = m
	return c
}

func (c *cluster) all() []*netlab.NS {
	out := []*netlab.NS{c.node, c.ext}
	for _, p := range c.pods {
		out = append(out, p)
	}
	return out
}

func (c *cluster) buildHosts() error {
	var err error
	if c.node, err = c.lab.NewNS("node"); err != nil {
		return err
	}
	if c.ext, err = c.lab.NewNS("ext"); err != nil {
		return err
	}
	if err := c.node.EnableForwarding(); err != nil {
		return err
	}
	up := netlab.End{NS: c.node, Name: "eth0", Addrs: prefixes(nodeV4+"/24", nodeV6+"/64")}
	out := netlab.End{NS: c.ext, Name: "eth0", Addrs: prefixes(ext1V4+"/24", ext1V6+"/64", ext2V4+"/24", ext2V6+"/64")}
	if err := c.lab.Veth(up, out); err != nil {
		return err
	}
	for _, r := range []netlab.Route{
		{Dst: netip.MustParsePrefix("198.18.0.0/16"), Via: netip.MustParseAddr(nodeV4)},
		{Dst: netip.MustParsePrefix("fd00:18::/32"), Via: netip.MustParseAddr(nodeV6)},
	} {
		if err := c.ext.AddRoute(r); err != nil {
			return err
		}
	}
	return nil
}

// buildPod makes a pod namespace with eth0 holding the workload's
// addresses, and the node side named as the model names it.
func (c *cluster) buildPod(name, iface string, w *policy.Workload) (*netlab.NS, error) {
	ns, err := c.lab.NewNS(name)
	if err != nil {
		return nil, err
	}
	pod := netlab.End{NS: ns, Name: "eth0"}
	for _, a := range w.IPs {
		pod.Addrs = append(pod.Addrs, netip.PrefixFrom(a, a.BitLen()))
	}
	host := netlab.End{NS: c.node, Name: iface}
	if err := c.lab.Veth(host, pod); err != nil {
		return nil, err
	}
	if err := netlab.HostRoutes(host, pod); err != nil {
		return nil, err
	}
	return ns, netlab.Gateway(pod, host, netip.MustParseAddr(podGW4), netip.MustParseAddr(podGW6))
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// decodeModel builds a model from baseYAML-style documents.
func decodeModel(docs string) (*policy.Model, error) {
	ds, errs := api.Decode("test.yaml", []byte(docs))
	if len(errs) > 0 {
		return nil, fmt.Errorf("decode: %v", errs)
	}
	objs := make([]api.Object, 0, len(ds))
	for _, d := range ds {
		objs = append(objs, d.Object)
	}
	return policy.NewModel(objs)
}

func mustModel(t testing.TB, docs string) *policy.Model {
	t.Helper()
	m, err := decodeModel(docs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// apply makes baseYAML plus extra the cluster's model and programs it.
func (c *cluster) apply(t testing.TB, extra string) {
	t.Helper()
	m := mustModel(t, baseYAML+"\n---\n"+extra)
	must(t, c.applyModel(m))
}

func (c *cluster) applyModel(m *policy.Model) error {
	rs, err := render.Node(m, nodeName)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if c.compiled {
		rs = render.Compile(rs)
	}
	if err := c.k.Apply(context.Background(), rs); err != nil {
		return fmt.Errorf("apply: %w\n%s", err, rs.Text())
	}
	c.model, c.rs = m, rs
	return nil
}
