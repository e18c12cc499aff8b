package autohep

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
)

var enabled = &api.AutoHostEndpointConfig{AutoCreate: Enabled}

// hep builds an expected endpoint; labels get the created-by label.
func hep(name, node, iface string, ips []string, labels, annotations map[string]string) *api.HostEndpoint {
	l := map[string]string{CreatedByLabel: CreatedByValue}
	for k, v := range labels {
		l[k] = v
	}
	return &api.HostEndpoint{
		TypeMeta:   metav1.TypeMeta{Kind: "HostEndpoint", APIVersion: "projectcalico.org/v3"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l, Annotations: annotations},
		Spec: api.HostEndpointSpec{
			Node: node, InterfaceName: iface, ExpectedIPs: ips,
			Profiles: []string{"projectcalico-default-allow"},
		},
	}
}

func TestName(t *testing.T) {
	long := strings.Repeat("n", 250)
	tests := []struct{ node, suffix, want string }{
		{"node1", "", "node1-auto-hep"},
		{"node1", "tmpl", "node1-tmpl-auto-hep"},
		{"node1", "tmpl-eth0", "node1-tmpl-eth0-auto-hep"},
		{strings.Repeat("a", 244), "", strings.Repeat("a", 244) + "-auto-hep"}, // exactly 253
		// Golden values computed independently (Python hashlib/base64).
		{long, "", "fsetawr4cyeogg79xle7sas6qytoq8j2wa55iiu0owe-auto-hep"},
		{"node-" + strings.Repeat("x", 240), "tmpl-eth0", "zbhxl2lxibnoqylfvktqqiehrynar7eubaqarcv0-auto-hep"},
	}
	for _, tc := range tests {
		if got := Name(tc.node, tc.suffix); got != tc.want {
			t.Errorf("Name(%d chars, %q) = %q, want %q", len(tc.node), tc.suffix, got, tc.want)
		}
	}
}

func TestExpectedIPs(t *testing.T) {
	tests := []struct {
		name string
		node NodeInfo
		want []string
	}{
		{"empty", NodeInfo{}, nil},
		{"order of §7.3", NodeInfo{
			BGPv4: "10.0.0.5/24", BGPv6: "fd00::5/64", IPIPTunnelAddr: "192.168.1.1", VXLANv4: "192.168.2.1",
			VXLANv6: "fd01::1", WireguardV4: "192.168.3.1", WireguardV6: "fd02::1",
			InternalIPs: []string{"10.0.1.5"},
			Interfaces:  []api.NodeInterface{{Name: "eth1", Addresses: []string{"172.16.0.5"}}},
		}, []string{"10.0.0.5", "fd00::5", "192.168.1.1", "192.168.2.1", "fd01::1", "192.168.3.1", "fd02::1", "10.0.1.5", "172.16.0.5"}},
		{"typical IPIP cluster: node IP then tunnel", NodeInfo{
			BGPv4: "172.16.101.147/20", IPIPTunnelAddr: "192.168.228.128", InternalIPs: []string{"172.16.101.147"},
		}, []string{"172.16.101.147", "192.168.228.128"}},
		{"tunnel and BGP addresses not de-duplicated among themselves", NodeInfo{
			BGPv4: "10.0.0.5/24", IPIPTunnelAddr: "10.0.0.5", WireguardV4: "10.0.0.5",
		}, []string{"10.0.0.5", "10.0.0.5", "10.0.0.5"}},
		{"InternalIP and interface addresses de-duplicated", NodeInfo{
			BGPv4: "10.0.0.5/24", InternalIPs: []string{"10.0.0.5", "10.0.0.6", "10.0.0.6"},
			Interfaces: []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.6", "10.0.0.7"}}, {Name: "eth1", Addresses: []string{"10.0.0.7"}}},
		}, []string{"10.0.0.5", "10.0.0.6", "10.0.0.7"}},
		{"unparseable dropped, IPv6 canonical, CIDR-form uses address", NodeInfo{
			BGPv4: "not-an-ip", IPIPTunnelAddr: "300.1.1.1", VXLANv6: "FD00:0:0::0001",
			InternalIPs: []string{"", "fe80::1%eth0", "10.9.9.9/16", "::ffff:10.1.1.1"},
		}, []string{"fd00::1", "10.9.9.9", "10.1.1.1"}},
		{"interfaces only", NodeInfo{Interfaces: []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.1"}}}},
			[]string{"10.0.0.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ExpectedIPs(tc.node)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Seed 001 ("Protect Kubernetes nodes"): enabling autoCreate on an AWS IPIP
// cluster yields one wildcard endpoint per node whose IPS column reads
// "<node IP>,<tunnel address>".
func TestForNodeSeed001(t *testing.T) {
	nodes := []struct{ name, ip, tunnel string }{
		{"ip-172-16-101-147.us-west-2.compute.internal", "172.16.101.147", "192.168.228.128"},
		{"ip-172-16-101-54.us-west-2.compute.internal", "172.16.101.54", "192.168.107.128"},
		{"ip-172-16-101-79.us-west-2.compute.internal", "172.16.101.79", "192.168.91.64"},
		{"ip-172-16-101-9.us-west-2.compute.internal", "172.16.101.9", "192.168.71.192"},
		{"ip-172-16-102-63.us-west-2.compute.internal", "172.16.102.63", "192.168.108.192"},
	}
	for _, n := range nodes {
		t.Run(n.name, func(t *testing.T) {
			node := &api.Node{
				ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{
					"kubernetes.io/hostname": n.name, "kubernetes-host": "",
				}},
				Spec: api.NodeSpec{
					BGP: &api.NodeBGPSpec{IPv4Address: n.ip + "/20", IPv4IPIPTunnelAddr: n.tunnel},
					Addresses: []api.NodeAddress{
						{Address: n.ip + "/20", Type: api.NodeAddressCalicoNodeIP},
						{Address: n.ip, Type: api.NodeAddressInternalIP},
						{Address: "54.1.2.3", Type: api.NodeAddressExternalIP},
					},
				},
			}
			got, err := ForNode(FromCalicoNode(node), enabled)
			if err != nil {
				t.Fatal(err)
			}
			want := []*api.HostEndpoint{hep(n.name+"-auto-hep", n.name, "*", []string{n.ip, n.tunnel},
				map[string]string{"kubernetes.io/hostname": n.name, "kubernetes-host": ""}, nil)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if ips := strings.Join(got[0].Spec.ExpectedIPs, ","); ips != n.ip+","+n.tunnel {
				t.Errorf("IPS column = %q", ips)
			}
		})
	}
}

func TestForNodeSwitches(t *testing.T) {
	node := NodeInfo{Name: "n1", Labels: map[string]string{"a": "b"}, InternalIPs: []string{"10.0.0.1"}}
	tmpl := api.AutoHostEndpointTemplate{GenerateName: "int", InterfaceCIDRs: []string{"10.0.0.0/8"}}
	def := hep("n1-auto-hep", "n1", "*", []string{"10.0.0.1"}, map[string]string{"a": "b"}, nil)
	tpl := hep("n1-int-auto-hep", "n1", "", []string{"10.0.0.1"}, map[string]string{"a": "b"}, nil)
	tests := []struct {
		name string
		cfg  *api.AutoHostEndpointConfig
		want []*api.HostEndpoint
	}{
		{"nil config", nil, nil},
		{"autoCreate unset", &api.AutoHostEndpointConfig{}, nil},
		{"autoCreate Disabled", &api.AutoHostEndpointConfig{AutoCreate: Disabled, Templates: []api.AutoHostEndpointTemplate{tmpl}}, nil},
		{"default only", enabled, []*api.HostEndpoint{def}},
		{"createDefault Enabled", &api.AutoHostEndpointConfig{AutoCreate: Enabled, CreateDefaultHostEndpoint: Enabled}, []*api.HostEndpoint{def}},
		{"createDefault Disabled, no templates", &api.AutoHostEndpointConfig{AutoCreate: Enabled, CreateDefaultHostEndpoint: Disabled}, nil},
		{"createDefault Disabled with template", &api.AutoHostEndpointConfig{AutoCreate: Enabled, CreateDefaultHostEndpoint: Disabled,
			Templates: []api.AutoHostEndpointTemplate{tmpl}}, []*api.HostEndpoint{tpl}},
		{"default and template, sorted", &api.AutoHostEndpointConfig{AutoCreate: Enabled,
			Templates: []api.AutoHostEndpointTemplate{tmpl}}, []*api.HostEndpoint{def, tpl}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForNode(node, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestForNodeTemplates(t *testing.T) {
	node := NodeInfo{
		Name:           "n1",
		Labels:         map[string]string{"role": "edge", "zone": "a"},
		BGPv4:          "10.0.0.5/24",
		IPIPTunnelAddr: "192.168.0.1",
		InternalIPs:    []string{"10.0.0.5", "172.16.0.5"},
		Interfaces: []api.NodeInterface{
			{Name: "eth0", Addresses: []string{"10.0.0.5"}},
			{Name: "eth1", Addresses: []string{"172.16.0.5", "172.16.9.9"}},
			{Name: "lo", Addresses: []string{"127.0.0.1"}},
		},
	}
	nodeLabels := func(extra ...string) map[string]string {
		l := map[string]string{"role": "edge", "zone": "a"}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	tests := []struct {
		name string
		tmpl api.AutoHostEndpointTemplate
		want []*api.HostEndpoint
	}{
		{"CIDRs select candidate IPs; no interface name",
			api.AutoHostEndpointTemplate{GenerateName: "internal", InterfaceCIDRs: []string{"10.0.0.0/16", "172.16.0.0/16"}},
			[]*api.HostEndpoint{hep("n1-internal-auto-hep", "n1", "", []string{"10.0.0.5", "172.16.0.5", "172.16.9.9"}, nodeLabels(), nil)}},
		{"BGP and tunnel duplicates survive the filter",
			api.AutoHostEndpointTemplate{GenerateName: "t", InterfaceCIDRs: []string{"192.168.0.0/16"}},
			[]*api.HostEndpoint{hep("n1-t-auto-hep", "n1", "", []string{"192.168.0.1"}, nodeLabels(), nil)}},
		{"no candidate IPs and no pattern: no endpoint",
			api.AutoHostEndpointTemplate{GenerateName: "none", InterfaceCIDRs: []string{"203.0.113.0/24"}}, nil},
		{"nodeSelector does not match",
			api.AutoHostEndpointTemplate{GenerateName: "x", InterfaceCIDRs: []string{"10.0.0.0/8"}, NodeSelector: "role == 'core'"}, nil},
		{"nodeSelector matches; template labels win over node labels, created-by wins over both",
			api.AutoHostEndpointTemplate{GenerateName: "x", InterfaceCIDRs: []string{"10.0.0.0/8"}, NodeSelector: "role == 'edge' && has(zone)",
				Labels: map[string]string{"zone": "override", "extra": "1", CreatedByLabel: "someone"}, Annotations: map[string]string{"note": "hi"}},
			[]*api.HostEndpoint{hep("n1-x-auto-hep", "n1", "", []string{"10.0.0.5"}, nodeLabels("zone", "override", "extra", "1"), map[string]string{"note": "hi"})}},
		{"interfacePattern: one endpoint per matching interface, candidates then its addresses",
			api.AutoHostEndpointTemplate{GenerateName: "eth", InterfaceCIDRs: []string{"10.0.0.0/8"}, InterfacePattern: "^eth"},
			[]*api.HostEndpoint{
				hep("n1-eth-eth0-auto-hep", "n1", "eth0", []string{"10.0.0.5"}, nodeLabels(), nil),
				hep("n1-eth-eth1-auto-hep", "n1", "eth1", []string{"10.0.0.5", "172.16.0.5", "172.16.9.9"}, nodeLabels(), nil),
			}},
		{"interfacePattern without CIDRs: interface addresses only; pattern is unanchored",
			api.AutoHostEndpointTemplate{GenerateName: "p", InterfacePattern: "o"},
			[]*api.HostEndpoint{hep("n1-p-lo-auto-hep", "n1", "lo", []string{"127.0.0.1"}, nodeLabels(), nil)}},
		{"interfacePattern matching nothing",
			api.AutoHostEndpointTemplate{GenerateName: "p", InterfacePattern: "^wg"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &api.AutoHostEndpointConfig{AutoCreate: Enabled, CreateDefaultHostEndpoint: Disabled,
				Templates: []api.AutoHostEndpointTemplate{tc.tmpl}}
			got, err := ForNode(node, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Every endpoint must own its maps and slices: the controller may edit one
// without touching the others or the inputs.
func TestForNodeResultsDoNotAlias(t *testing.T) {
	node := NodeInfo{Name: "n", Labels: map[string]string{"a": "1"}, InternalIPs: []string{"10.0.0.1"},
		Interfaces: []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.2"}}, {Name: "eth1", Addresses: []string{"10.0.0.3"}}}}
	ann := map[string]string{"k": "v"}
	cfg := &api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{
		{GenerateName: "t", InterfaceCIDRs: []string{"10.0.0.0/8"}, InterfacePattern: "eth", Annotations: ann},
	}}
	got, err := ForNode(node, cfg)
	if err != nil || len(got) != 3 {
		t.Fatalf("ForNode = %d endpoints, %v", len(got), err)
	}
	got[1].Spec.ExpectedIPs[0] = "changed"
	got[1].Labels["a"] = "changed"
	got[1].Annotations["k"] = "changed"
	if got[2].Spec.ExpectedIPs[0] == "changed" || got[0].Spec.ExpectedIPs[0] == "changed" {
		t.Error("expectedIPs shared between endpoints")
	}
	if node.Labels["a"] != "1" || got[2].Labels["a"] != "1" || ann["k"] != "v" || got[2].Annotations["k"] != "v" {
		t.Error("labels or annotations shared")
	}
}

func TestForNodeRejectsBadConfig(t *testing.T) {
	ok := api.AutoHostEndpointTemplate{GenerateName: "ok", InterfaceCIDRs: []string{"10.0.0.0/8"}}
	tests := []struct {
		name string
		cfg  api.AutoHostEndpointConfig
		want string
	}{
		{"autoCreate value", api.AutoHostEndpointConfig{AutoCreate: "enabled"}, "autoCreate"},
		{"createDefault value", api.AutoHostEndpointConfig{AutoCreate: Enabled, CreateDefaultHostEndpoint: "no"}, "createDefaultHostEndpoint"},
		{"no name", api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{{InterfaceCIDRs: []string{"10.0.0.0/8"}}}},
			"Template name must be specified"},
		{"long name", api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{{GenerateName: strings.Repeat("a", 253), InterfaceCIDRs: []string{"10.0.0.0/8"}}}},
			"shorter than 253"},
		{"duplicate name", api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{ok, ok}}, "must be unique"},
		{"neither CIDRs nor pattern", api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{{GenerateName: "x"}}},
			"InterfaceCIDRs or InterfacePattern must be specified"},
		{"bad CIDR", api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{{GenerateName: "x", InterfaceCIDRs: []string{"10.0.0.0/33"}}}},
			"invalid CIDR"},
		{"bad pattern", api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{{GenerateName: "x", InterfacePattern: "("}}},
			"interfacePattern"},
		{"bad nodeSelector", api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{{GenerateName: "x", InterfacePattern: "e", NodeSelector: "a = 'b'"}}},
			"expected =="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForNode(NodeInfo{Name: "n"}, &tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if got != nil {
				t.Errorf("endpoints = %v, want none with an error", got)
			}
		})
	}
}
