package agent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

func storedNode(t testing.TB, st store.Store) (*api.Node, error) {
	t.Helper()
	o, err := st.Get(context.Background(), nodeKey(testNode))
	if err != nil {
		return nil, err
	}
	return o.(*api.Node), nil
}

// TestRegistersNode: the agent updates its existing Node (labels merged,
// interfaces and addresses from the host, lo and workload interfaces left
// out, other fields kept), through conflicts.
func TestRegistersNode(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1, labels: {x: "y", rack: r0}}
spec:
  orchRefs: [{nodeName: n1, orchestrator: k8s}]
  addresses: [{address: 203.0.113.9, type: ExternalIP}, {address: 10.9.9.9, type: InternalIP}]
  bgp: {ipv4Address: 10.9.9.9/24}
`)...)
	st.FailNext("Update", &store.ConflictError{Key: nodeKey(testNode), Detail: "someone else wrote"})
	cfg := testConfig(t)
	cfg.NodeLabels = map[string]string{"rack": "r1"}
	a := startAgent(t, cfg, st, nft.NewFake(), NewStaticInterfaces(testIfaces()...))
	eventually(t, 2*time.Second, a.Ready)
	var n *api.Node
	eventually(t, 2*time.Second, func() (err error) {
		n, err = storedNode(t, st)
		if err == nil && len(n.Spec.Interfaces) == 0 {
			err = fmt.Errorf("no interfaces yet")
		}
		return err
	})
	want := api.NodeSpec{
		OrchRefs: []api.OrchRef{{NodeName: "n1", Orchestrator: "k8s"}},
		BGP:      &api.NodeBGPSpec{IPv4Address: "198.19.0.2/24", IPv6Address: "fd00:19::2/64"},
		Addresses: []api.NodeAddress{
			{Address: "203.0.113.9", Type: api.NodeAddressExternalIP},
			{Address: "198.19.0.2/24", Type: api.NodeAddressCalicoNodeIP},
			{Address: "fd00:19::2/64", Type: api.NodeAddressCalicoNodeIP},
		},
		Interfaces: []api.NodeInterface{{Name: "eth0", Addresses: []string{"198.19.0.2", "fd00:19::2"}}},
	}
	if d := cmp.Diff(want, n.Spec); d != "" {
		t.Errorf("Node spec (-want +got):\n%s", d)
	}
	wantLabels := map[string]string{"x": "y", "rack": "r1", HostnameLabel: testNode}
	if d := cmp.Diff(wantLabels, n.Labels); d != "" {
		t.Errorf("Node labels (-want +got):\n%s", d)
	}
}

// TestFollowsInterfaces: an address appearing on a new interface reaches
// the stored Node and the ruleset (an IP-only host endpoint binds to it);
// FelixConfiguration's interfacePrefix decides what is a workload.
func TestFollowsInterfaces(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: by-ip, labels: {role: node}}
spec: {node: n1, expectedIPs: [198.19.1.5]}
`)...)
	f := nft.NewFake()
	ifs := NewStaticInterfaces(testIfaces()...)
	a := startAgent(t, testConfig(t), st, f, ifs)
	eventually(t, 2*time.Second, a.Ready)
	if hasMapKey(f, "map-hep-ingress", "eth1") {
		t.Fatal("eth1 dispatched before it exists")
	}
	eth1 := HostInterface{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("198.19.1.5/24")}}
	ifs.Set(append(testIfaces(), eth1)...)
	eventually(t, 2*time.Second, func() error {
		if !hasMapKey(f, "map-hep-ingress", "eth1") {
			return fmt.Errorf("eth1 is not bound to host endpoint by-ip")
		}
		n, err := storedNode(t, st)
		if err != nil {
			return err
		}
		if names := ifaceNames(n); !slices.Equal(names, []string{"eth0", "eth1"}) {
			return fmt.Errorf("stored interfaces %v", names)
		}
		return nil
	})

	ifs.Set(append(testIfaces(), eth1, HostInterface{Name: "tap0"})...)
	put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {interfacePrefix: "tap"}
`)...)
	eventually(t, 2*time.Second, func() error {
		n, err := storedNode(t, st)
		if err != nil {
			return err
		}
		if names := ifaceNames(n); !slices.Equal(names, []string{"cali0123456789a", "eth0", "eth1"}) {
			return fmt.Errorf("stored interfaces %v, want cali0123456789a, eth0, eth1 (tap0 is a workload)", names)
		}
		return nil
	})
}

func ifaceNames(n *api.Node) []string {
	var out []string
	for _, i := range n.Spec.Interfaces {
		out = append(out, i.Name)
	}
	return out
}

func hasMapKey(f *nft.Fake, m, key string) bool {
	rs := f.Ruleset()
	if rs == nil || rs.Map(m) == nil {
		return false
	}
	for _, e := range rs.Map(m).Elements {
		if e.Key == key {
			return true
		}
	}
	return false
}

// TestDesiredNode: the fields the agent owns, from scratch and over an
// existing Node.
func TestDesiredNode(t *testing.T) {
	p := netip.MustParsePrefix
	ln := localNode{name: "n1", labels: map[string]string{HostnameLabel: "n1"}, ifaces: []HostInterface{
		{Name: "eth0", Addrs: []netip.Prefix{p("198.19.0.2/24")}},
		{Name: "eth1", Addrs: []netip.Prefix{p("198.19.1.2/24"), p("fd00:1::2/64")}},
	}}
	n := ln.desired(nil)
	if n.Spec.BGP.IPv4Address != "198.19.0.2/24" || n.Spec.BGP.IPv6Address != "fd00:1::2/64" {
		t.Errorf("new node BGP = %+v", n.Spec.BGP)
	}
	if errs := api.Validate(n); len(errs) > 0 {
		t.Errorf("the desired Node is invalid: %v", errs)
	}
	// A BGP address still on an interface is kept.
	old := &api.Node{Spec: api.NodeSpec{BGP: &api.NodeBGPSpec{IPv4Address: "198.19.1.2"}}}
	if got := ln.desired(old).Spec.BGP.IPv4Address; got != "198.19.1.2" {
		t.Errorf("kept BGP address = %q", got)
	}
	if old.Spec.Interfaces != nil {
		t.Error("desired modified its input")
	}
	// No addresses: no BGP spec at all (an empty one is invalid).
	bare := localNode{name: "n1", ifaces: []HostInterface{{Name: "eth0"}}}
	if got := bare.desired(nil); got.Spec.BGP != nil || len(got.Spec.Addresses) != 0 {
		t.Errorf("address-less node = %+v", got.Spec)
	}
	if !sameNode(n, ln.desired(n)) {
		t.Error("desired is not idempotent")
	}
}
