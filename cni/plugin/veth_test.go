package plugin

import (
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/palisade-net/palisade/internal/cnitest"
	"github.com/palisade-net/palisade/internal/netlab"
)

// TestHostInterfaceFromVethPeer: when prevResult names no host interface,
// ADD finds it as the peer of the pod's veth, from the node's namespace.
func TestHostInterfaceFromVethPeer(t *testing.T) {
	netlab.RequireRoot(t)
	lab := netlab.ForTest(t, "pal-cvp")
	node, err := lab.NewNS("node")
	if err != nil {
		t.Fatal(err)
	}
	pod, err := lab.NewNS("pod")
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.Veth(netlab.End{NS: node, Name: "lxc5f3a9"}, netlab.End{NS: pod, Name: "eth0"}); err != nil {
		t.Fatal(err)
	}
	args := &skel.CmdArgs{ContainerID: "c1", Netns: pod.Path(), IfName: "eth0",
		Args: "K8S_POD_NAMESPACE=app;K8S_POD_NAME=web"}
	res := &types100.Result{Interfaces: []*types100.Interface{{Name: "eth0", Sandbox: pod.Path()}}}
	var host string
	err = cnitest.InNS(node.Path(), func() error {
		a, err := attachment(args, res)
		host = a.HostInterface
		return err
	})
	if err != nil || host != "lxc5f3a9" {
		t.Errorf("host interface %q, %v; want lxc5f3a9", host, err)
	}
	args.IfName = "nope"
	err = cnitest.InNS(node.Path(), func() error { _, err := attachment(args, res); return err })
	if err == nil {
		t.Error("a missing pod interface was not an error")
	}
}
