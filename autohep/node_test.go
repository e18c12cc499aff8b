package autohep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
)

func calicoNode() *api.Node {
	return &api.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"calico-only": "x", "shared": "calico"}},
		Spec: api.NodeSpec{
			BGP:                 &api.NodeBGPSpec{IPv4Address: "10.0.0.5/24", IPv6Address: "fd00::5/64", IPv4IPIPTunnelAddr: "192.168.0.1"},
			IPv4VXLANTunnelAddr: "192.168.1.1",
			IPv6VXLANTunnelAddr: "fd01::1",
			Wireguard:           &api.NodeWireguardSpec{InterfaceIPv4Address: "192.168.2.1", InterfaceIPv6Address: "fd02::1"},
			Addresses: []api.NodeAddress{
				{Address: "10.0.0.5/24", Type: api.NodeAddressCalicoNodeIP},
				{Address: "10.0.0.5", Type: api.NodeAddressInternalIP},
				{Address: "54.0.0.5", Type: api.NodeAddressExternalIP},
				{Address: "10.0.0.6", Type: api.NodeAddressInternalIP},
			},
			Interfaces: []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.5"}}},
		},
	}
}

func k8sNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "n1",
			Labels: map[string]string{"kubernetes.io/hostname": "n1", "shared": "k8s"},
			Annotations: map[string]string{
				AnnotationIPv4Address:       "10.0.0.5/24",
				AnnotationIPv6Address:       "10.0.0.9/24", // wrong family: ignored
				AnnotationIPv4IPIPTunnel:    "192.168.0.1",
				AnnotationIPv4VXLANTunnel:   "garbage",
				AnnotationIPv6VXLANTunnel:   "fd01::1",
				AnnotationIPv4WireguardAddr: "192.168.2.1",
				AnnotationIPv6WireguardAddr: "fd02::1",
				AnnotationInterfaces:        `[{"name":"eth0","addresses":["10.0.0.5"]},{"name":"eth1","addresses":["172.16.0.5"]}]`,
				AnnotationMetadata:          `{"labels":{"calico-only":"x","shared":"calico"}}`,
			},
		},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeHostName, Address: "n1"},
			{Type: corev1.NodeExternalIP, Address: "54.0.0.5"},
			{Type: corev1.NodeInternalIP, Address: "10.0.0.5"},
			{Type: corev1.NodeInternalIP, Address: "10.0.0.7"},
		}},
	}
}

func TestFromCalicoNode(t *testing.T) {
	want := NodeInfo{
		Name: "n1", Labels: map[string]string{"calico-only": "x", "shared": "calico"},
		BGPv4: "10.0.0.5/24", BGPv6: "fd00::5/64", IPIPTunnelAddr: "192.168.0.1",
		VXLANv4: "192.168.1.1", VXLANv6: "fd01::1", WireguardV4: "192.168.2.1", WireguardV6: "fd02::1",
		InternalIPs: []string{"10.0.0.5", "10.0.0.6"},
		Interfaces:  []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.5"}}},
	}
	n := calicoNode()
	got := FromCalicoNode(n)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got.Labels["new"] = "y"
	got.Interfaces[0].Addresses[0] = "changed"
	if _, ok := n.Labels["new"]; ok || n.Spec.Interfaces[0].Addresses[0] != "10.0.0.5" {
		t.Error("NodeInfo shares maps or slices with the node")
	}
	if diff := cmp.Diff(NodeInfo{Name: "bare"}, FromCalicoNode(&api.Node{ObjectMeta: metav1.ObjectMeta{Name: "bare"}})); diff != "" {
		t.Errorf("bare node (-want +got):\n%s", diff)
	}
}

func TestFromKubernetesNode(t *testing.T) {
	want := NodeInfo{
		Name:   "n1",
		Labels: map[string]string{"kubernetes.io/hostname": "n1", "shared": "k8s", "calico-only": "x"},
		BGPv4:  "10.0.0.5/24", IPIPTunnelAddr: "192.168.0.1",
		VXLANv6: "fd01::1", WireguardV4: "192.168.2.1", WireguardV6: "fd02::1",
		InternalIPs: []string{"10.0.0.5", "10.0.0.7"},
		Interfaces:  []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.5"}}, {Name: "eth1", Addresses: []string{"172.16.0.5"}}},
	}
	if diff := cmp.Diff(want, FromKubernetesNode(k8sNode())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	bad := k8sNode()
	bad.Annotations[AnnotationInterfaces] = "not json"
	bad.Annotations[AnnotationMetadata] = "{"
	got := FromKubernetesNode(bad)
	if got.Interfaces != nil {
		t.Errorf("interfaces from bad JSON = %v", got.Interfaces)
	}
	if diff := cmp.Diff(map[string]string{"kubernetes.io/hostname": "n1", "shared": "k8s"}, got.Labels); diff != "" {
		t.Errorf("labels with bad metadata (-want +got):\n%s", diff)
	}

	// A plain Kubernetes node without Calico annotations: InternalIPs only.
	plain := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.NodeStatus{
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.1.1.1"}}}}
	hs, err := ForNode(FromKubernetesNode(plain), enabled)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*api.HostEndpoint{hep("p-auto-hep", "p", "*", []string{"10.1.1.1"}, nil, nil)}, hs); diff != "" {
		t.Errorf("plain node endpoints (-want +got):\n%s", diff)
	}
}

func TestMerge(t *testing.T) {
	c := calicoNode()
	c.Spec.IPv4VXLANTunnelAddr = "" // filled from the annotation if it parses (it does not)
	c.Spec.Wireguard = nil          // filled from the annotations
	got := Merge(c, k8sNode())
	want := NodeInfo{
		Name:   "n1",
		Labels: map[string]string{"calico-only": "x", "shared": "k8s", "kubernetes.io/hostname": "n1"},
		BGPv4:  "10.0.0.5/24", BGPv6: "fd00::5/64", IPIPTunnelAddr: "192.168.0.1",
		VXLANv6: "fd01::1", WireguardV4: "192.168.2.1", WireguardV6: "fd02::1",
		InternalIPs: []string{"10.0.0.5", "10.0.0.6", "10.0.0.7"},
		Interfaces:  []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.5"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c.Labels["shared"] != "calico" {
		t.Error("Merge modified the Calico node's labels")
	}

	noIfaces := calicoNode()
	noIfaces.Spec.Interfaces = nil
	if got := Merge(noIfaces, k8sNode()); len(got.Interfaces) != 2 {
		t.Errorf("interfaces not taken from the Kubernetes node: %v", got.Interfaces)
	}
	if diff := cmp.Diff(FromCalicoNode(calicoNode()), Merge(calicoNode(), nil)); diff != "" {
		t.Errorf("Merge(calico, nil) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(FromKubernetesNode(k8sNode()), Merge(nil, k8sNode())); diff != "" {
		t.Errorf("Merge(nil, k8s) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(NodeInfo{}, Merge(nil, nil)); diff != "" {
		t.Errorf("Merge(nil, nil) (-want +got):\n%s", diff)
	}
}

// The lab's three nodes (examples/topology/00-nodes.yaml) with seed 001's
// labels applied (kubernetes-host on all, environment=dev on node1 and
// node2), read as Kubernetes Nodes in the Kubernetes datastore. Without
// Calico annotations only the InternalIP is expected; with IPIP the tunnel
// address follows it, as in the seed's "172.16.101.147,192.168.228.128".
func TestForNodeLabNodes(t *testing.T) {
	type lab struct{ name, ip, tunnel string }
	nodes := []lab{{"control", "198.19.0.1", ""}, {"node1", "198.19.0.2", "198.18.1.1"}, {"node2", "198.19.0.3", "198.18.2.1"}}
	for _, n := range nodes {
		t.Run(n.name, func(t *testing.T) {
			labels := map[string]string{"kubernetes.io/hostname": n.name, "kubernetes-host": ""}
			if n.name == "control" {
				labels["node-role.kubernetes.io/master"] = ""
			} else {
				labels["environment"] = "dev"
			}
			k := &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels, Annotations: map[string]string{}},
				Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: n.ip}, {Type: corev1.NodeHostName, Address: n.name}}},
			}
			ips := []string{n.ip}
			if n.tunnel != "" {
				k.Annotations[AnnotationIPv4Address] = n.ip + "/24"
				k.Annotations[AnnotationIPv4IPIPTunnel] = n.tunnel
				ips = append(ips, n.tunnel)
			}
			got, err := ForNode(FromKubernetesNode(k), enabled)
			if err != nil {
				t.Fatal(err)
			}
			want := []*api.HostEndpoint{hep(n.name+"-auto-hep", n.name, "*", ips, labels, nil)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
