package lab

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
	corev1 "k8s.io/api/core/v1"
)

// Names and addresses of the lab network. Everything lives in 198.18.0.0/15:
// nodes and outside hosts on 198.19.0.0/20 (one switch), pods in
// 198.18.<node>.0/24 (examples/topology).
const (
	// SwitchNS is the namespace holding the lab switch (a bridge).
	SwitchNS = "palisade-switch"
	// ScratchNS is an unconnected namespace where the lab loads a rendered
	// ruleset to read it back in the kernel's own words (see converge.go).
	ScratchNS = "palisade-scratch"
	// nsPrefix starts every namespace name of the lab.
	nsPrefix     = "palisade-"
	podNSPrefix  = "palisade-pod-"
	maxNSNameLen = 40
	bridgeName   = "br0"
	uplink       = "eth0"
	labBits      = 20
	// podGateway is the pods' on-link default gateway: like Calico's
	// 169.254.1.1 it is never configured anywhere and no packet is ever
	// addressed to it; it only names the node side of the veth.
	podGateway = "198.19.255.1"
	// topologyDir is the examples directory the lab is built from.
	topologyDir = "topology"
)

// The outside hosts of the seeds (examples/README.md).
var hosts = []Host{
	{Name: "host1", IP: netip.MustParseAddr("198.19.15.254")},
	{Name: "host2", IP: netip.MustParseAddr("198.19.15.253")},
}

// Node is a Kubernetes node of the lab: a namespace with eth0 on the switch.
type Node struct {
	Name    string
	IP      netip.Addr
	PodCIDR netip.Prefix
}

// Host is a machine outside the cluster: a namespace with eth0 on the switch.
type Host struct {
	Name string
	IP   netip.Addr
}

// Pod is a pod of the lab: a namespace behind a cali… veth on its node.
type Pod struct {
	Namespace, Name, Node string
	IP                    netip.Addr
}

// Key is "namespace/name", as flows write pods.
func (p Pod) Key() string { return p.Namespace + "/" + p.Name }

// Topology is the lab's cluster, read from the examples' topology.
type Topology struct {
	Nodes []Node
	Hosts []Host
	Pods  []Pod
	// Objects are the topology's resources (Nodes, Namespaces, Pods,
	// Services) in file order.
	Objects []api.Object
}

// LoadTopology reads examples/topology (embedded in the binary).
func LoadTopology() (*Topology, error) {
	objs, err := decodeFS(examples.FS, topologyDir)
	if err != nil {
		return nil, err
	}
	t := &Topology{Hosts: hosts, Objects: objs}
	for _, o := range objs {
		switch x := o.(type) {
		case *corev1.Node:
			n, err := nodeOf(x)
			if err != nil {
				return nil, err
			}
			t.Nodes = append(t.Nodes, n)
		case *corev1.Pod:
			ip, err := netip.ParseAddr(x.Status.PodIP)
			if err != nil || x.Spec.NodeName == "" || x.Spec.HostNetwork {
				return nil, fmt.Errorf("lab: pod %s/%s needs spec.nodeName and status.podIP", x.Namespace, x.Name)
			}
			t.Pods = append(t.Pods, Pod{Namespace: x.Namespace, Name: x.Name, Node: x.Spec.NodeName, IP: ip})
		}
	}
	if len(t.Nodes) == 0 {
		return nil, fmt.Errorf("lab: the topology has no nodes")
	}
	return t, nil
}

func nodeOf(x *corev1.Node) (Node, error) {
	n := Node{Name: x.Name}
	for _, a := range x.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			n.IP, _ = netip.ParseAddr(a.Address)
		}
	}
	pc, err := netip.ParsePrefix(x.Spec.PodCIDR)
	if !n.IP.IsValid() || err != nil {
		return n, fmt.Errorf("lab: node %s needs an InternalIP and a podCIDR", x.Name)
	}
	n.PodCIDR = pc
	return n, nil
}

// decodeFS decodes every manifest under dir (a file or a directory, files
// in name order) of an fs.FS.
func decodeFS(fsys fs.FS, dir string) ([]api.Object, error) {
	var files []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (path.Ext(p) == ".yaml" || path.Ext(p) == ".yml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []api.Object
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		docs, errs := api.Decode(f, data)
		if len(errs) > 0 {
			return nil, fmt.Errorf("lab: %w", errs[0])
		}
		for _, d := range docs {
			out = append(out, d.Object)
		}
	}
	return out, nil
}

// NodeNS is the namespace of a node or outside host.
func NodeNS(name string) string { return nsPrefix + name }

// PodNS is the namespace of a pod: palisade-pod-<namespace>-<pod>, cut
// to 40 characters with a hash of the full name when longer.
func PodNS(namespace, pod string) string {
	n := podNSPrefix + namespace + "-" + pod
	if len(n) <= maxNSNameLen {
		return n
	}
	sum := sha1.Sum([]byte(namespace + "/" + pod))
	return n[:maxNSNameLen-9] + "-" + hex.EncodeToString(sum[:])[:8]
}

// Namespaces lists every namespace of the lab, the switch first.
func (t *Topology) Namespaces() []string {
	out := []string{SwitchNS, ScratchNS}
	for _, n := range t.Nodes {
		out = append(out, NodeNS(n.Name))
	}
	for _, h := range t.Hosts {
		out = append(out, NodeNS(h.Name))
	}
	for _, p := range t.Pods {
		out = append(out, PodNS(p.Namespace, p.Name))
	}
	return out
}

// Node returns the named node.
func (t *Topology) Node(name string) (Node, bool) {
	for _, n := range t.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Pod returns the pod "namespace/name".
func (t *Topology) Pod(key string) (Pod, bool) {
	for _, p := range t.Pods {
		if p.Key() == key {
			return p, true
		}
	}
	return Pod{}, false
}

// member is a namespace on the switch: a node or an outside host.
type member struct {
	name string
	ip   netip.Addr
}

func (t *Topology) members() []member {
	var out []member
	for _, n := range t.Nodes {
		out = append(out, member{n.Name, n.IP})
	}
	for _, h := range t.Hosts {
		out = append(out, member{h.Name, h.IP})
	}
	return out
}

// wire builds the network inside the namespaces (already created, in nss
// by name): the switch, the uplinks, the pods' veths, routes and
// forwarding.
func (t *Topology) wire(nss map[string]*ns) error {
	sw := nss[SwitchNS]
	if err := sw.AddBridge(bridgeName); err != nil {
		return err
	}
	for _, m := range t.members() {
		if err := wireMember(sw, nss[NodeNS(m.name)], m); err != nil {
			return err
		}
	}
	if err := t.neighbours(nss); err != nil {
		return err
	}
	for _, n := range t.Nodes {
		if err := t.wireNode(nss, n); err != nil {
			return err
		}
	}
	for _, h := range t.Hosts {
		for _, n := range t.Nodes {
			if err := nss[NodeNS(h.Name)].AddRoute(netlab.Route{Dst: n.PodCIDR, Via: n.IP, Dev: uplink}); err != nil {
				return err
			}
		}
	}
	for _, p := range t.Pods {
		if err := wirePod(nss[NodeNS(p.Node)], nss[PodNS(p.Namespace, p.Name)], p); err != nil {
			return err
		}
	}
	return nil
}

// wireMember connects a node or host to the switch by its eth0.
func wireMember(sw, n *ns, m member) error {
	if err := sw.VethTo(m.name, n, uplink); err != nil {
		return err
	}
	if err := sw.Enslave(m.name, bridgeName); err != nil {
		return err
	}
	return n.AddAddr(uplink, netip.PrefixFrom(m.ip, labBits))
}

// neighbours gives every member a permanent ARP entry for every other, so
// that no policy on ARP-less nft tables can cut the switch and no probe
// waits for ARP.
func (t *Topology) neighbours(nss map[string]*ns) error {
	ms := t.members()
	for _, a := range ms {
		mac, err := nss[NodeNS(a.name)].MAC(uplink)
		if err != nil {
			return err
		}
		for _, b := range ms {
			if a.name == b.name {
				continue
			}
			if err := nss[NodeNS(b.name)].AddNeighbor(uplink, a.ip, mac); err != nil {
				return err
			}
		}
	}
	return nil
}

// wireNode turns forwarding on and routes the other nodes' pod ranges.
func (t *Topology) wireNode(nss map[string]*ns, n Node) error {
	nn := nss[NodeNS(n.Name)]
	for _, k := range []string{"net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"} {
		v := "1"
		if k != "net.ipv4.ip_forward" {
			v = "0"
		}
		if err := nn.Sysctl(k, v); err != nil {
			return err
		}
	}
	for _, o := range t.Nodes {
		if o.Name == n.Name {
			continue
		}
		if err := nn.AddRoute(netlab.Route{Dst: o.PodCIDR, Via: o.IP, Dev: uplink}); err != nil {
			return err
		}
	}
	return nil
}

// wirePod makes the pod's eth0 and its node's cali… end, the way Calico's
// CNI plugin does: a /32 on the pod, a default route through an on-link
// gateway, and a /32 route to the pod on the node.
func wirePod(node, pod *ns, p Pod) error {
	ifc := policy.PodInterfaceName(p.Namespace, p.Name)
	if err := node.VethTo(ifc, pod, uplink); err != nil {
		return err
	}
	if err := pod.AddAddr(uplink, netip.PrefixFrom(p.IP, 32)); err != nil {
		return err
	}
	hostMAC, err := node.MAC(ifc)
	if err != nil {
		return err
	}
	podMAC, err := pod.MAC(uplink)
	if err != nil {
		return err
	}
	gw := netip.MustParseAddr(podGateway)
	if err := pod.AddNeighbor(uplink, gw, hostMAC); err != nil {
		return err
	}
	if err := pod.AddRoute(netlab.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: gw, Dev: uplink, OnLink: true}); err != nil {
		return err
	}
	if err := node.AddRoute(netlab.Route{Dst: netip.PrefixFrom(p.IP, 32), Dev: ifc}); err != nil {
		return err
	}
	return node.AddNeighbor(ifc, p.IP, podMAC)
}
