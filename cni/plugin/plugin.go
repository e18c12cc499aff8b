package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/palisade-net/palisade/cni"
)

// Versions are the CNI spec versions the plugin speaks.
var Versions = version.PluginSupports("0.4.0", "1.0.0", "1.1.0")

// Conf is the plugin's network configuration.
type Conf struct {
	types.NetConf
	// Socket is the agent's socket (default cni.DefaultSocket).
	Socket string `json:"socket,omitempty"`
	// PolicySetupTimeoutSeconds bounds how long ADD waits for the pod's
	// policy (default 10).
	PolicySetupTimeoutSeconds int `json:"policySetupTimeoutSeconds,omitempty"`
}

// ErrNotChained is ADD's error when the plugin runs first in a chain.
var ErrNotChained = errors.New("palisade-cni has no prevResult: palisade must be chained after an interface plugin (such as ptp, bridge or your cluster's CNI) in a .conflist")

func parseConf(data []byte) (*Conf, error) {
	c := &Conf{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("palisade-cni: the network configuration: %w", err)
	}
	if c.Socket == "" {
		c.Socket = cni.DefaultSocket
	}
	if c.PolicySetupTimeoutSeconds <= 0 {
		c.PolicySetupTimeoutSeconds = int(cni.DefaultTimeout / time.Second)
	}
	return c, nil
}

// Funcs returns the CNI commands.
func Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: Add, Del: Del, Check: Check, Status: Status, GC: GC}
}

// k8sArgs are the Kubernetes fields of CNI_ARGS.
type k8sArgs struct {
	types.CommonArgs
	K8S_POD_NAMESPACE          types.UnmarshallableString //nolint:revive // the runtime's names
	K8S_POD_NAME               types.UnmarshallableString //nolint:revive
	K8S_POD_UID                types.UnmarshallableString //nolint:revive
	K8S_POD_INFRA_CONTAINER_ID types.UnmarshallableString //nolint:revive
}

// Add registers the pod's interface with the agent and outputs prevResult
// unchanged.
func Add(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	if err := version.ParsePrevResult(&conf.NetConf); err != nil {
		return fmt.Errorf("palisade-cni: prevResult: %w", err)
	}
	if conf.PrevResult == nil {
		return ErrNotChained
	}
	res, err := types100.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return fmt.Errorf("palisade-cni: prevResult: %w", err)
	}
	a, err := attachment(args, res)
	if err != nil {
		return err
	}
	wait := time.Duration(conf.PolicySetupTimeoutSeconds) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), wait+5*time.Second)
	defer cancel()
	// Not programmed in time is a success: the interface stays isolated
	// (its traffic is dropped) until the agent programs it.
	if _, err := cni.NewClient(conf.Socket).Add(ctx, a, wait); err != nil {
		return fmt.Errorf("palisade-cni: registering %s with the agent: %w", a.Workload(), err)
	}
	return types.PrintResult(conf.PrevResult, conf.CNIVersion)
}

// attachment gathers what the agent needs from the arguments and result.
func attachment(args *skel.CmdArgs, res *types100.Result) (cni.Attachment, error) {
	var ka k8sArgs
	if err := types.LoadArgs(args.Args, &ka); err != nil {
		return cni.Attachment{}, fmt.Errorf("palisade-cni: CNI_ARGS: %w", err)
	}
	a := cni.Attachment{ContainerID: args.ContainerID, IfName: args.IfName,
		Namespace: string(ka.K8S_POD_NAMESPACE), Pod: string(ka.K8S_POD_NAME), UID: string(ka.K8S_POD_UID)}
	if a.Namespace == "" || a.Pod == "" {
		return a, errors.New("palisade-cni: CNI_ARGS lacks K8S_POD_NAMESPACE or K8S_POD_NAME (palisade-cni serves Kubernetes pods)")
	}
	for _, ifc := range res.Interfaces {
		if ifc.Sandbox == "" && ifc.Name != "" {
			a.HostInterface = ifc.Name
			break
		}
	}
	if a.HostInterface == "" {
		name, err := vethPeer(args.Netns, args.IfName)
		if err != nil {
			return a, fmt.Errorf("palisade-cni: finding the pod's host interface: %w", err)
		}
		a.HostInterface = name
	}
	for _, ip := range res.IPs {
		a.IPs = append(a.IPs, ip.Address.IP.String())
	}
	return a, nil
}

// vethPeer finds the host-side peer of the pod's veth ifName in netnsPath.
func vethPeer(netnsPath, ifName string) (string, error) {
	pod, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return "", fmt.Errorf("%s: %w", netnsPath, err)
	}
	defer pod.Close()
	h, err := netlink.NewHandleAt(pod)
	if err != nil {
		return "", err
	}
	defer h.Close()
	l, err := h.LinkByName(ifName)
	if err != nil {
		return "", fmt.Errorf("%s in %s: %w", ifName, netnsPath, err)
	}
	if _, ok := l.(*netlink.Veth); !ok {
		return "", fmt.Errorf("%s in %s is a %s, not a veth", ifName, netnsPath, l.Type())
	}
	// A veth's link attribute is its peer's index, in the peer's namespace
	// (this one: the runtime runs plugins in the host's).
	idx := l.Attrs().ParentIndex
	if idx == 0 {
		return "", fmt.Errorf("%s in %s reports no peer", ifName, netnsPath)
	}
	peer, err := netlink.LinkByIndex(idx)
	if err != nil {
		return "", fmt.Errorf("the peer of %s (index %d) on the host: %w", ifName, idx, err)
	}
	return peer.Attrs().Name, nil
}

// Del forgets the attachment; it always succeeds (the agent may be down,
// the attachment unknown, or this a repeat).
func Del(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = cni.NewClient(conf.Socket).Del(ctx, cni.Key{ContainerID: args.ContainerID, IfName: args.IfName})
	return nil
}

// Check fails unless the agent has the attachment, its host link and its
// rules.
func Check(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cni.NewClient(conf.Socket).Check(ctx, cni.Key{ContainerID: args.ContainerID, IfName: args.IfName}); err != nil {
		return fmt.Errorf("palisade-cni: %w", err)
	}
	return nil
}

// Status fails with code 50 unless the agent answers and is ready.
func Status(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cni.NewClient(conf.Socket).Status(ctx); err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "the palisade agent is not ready", err.Error())
	}
	return nil
}

// GC forwards the runtime's valid attachments; the agent forgets the rest.
func GC(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	valid := []cni.Key{}
	for _, v := range conf.ValidAttachments {
		valid = append(valid, cni.Key{ContainerID: v.ContainerID, IfName: v.IfName})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cni.NewClient(conf.Socket).GC(ctx, valid); err != nil {
		return fmt.Errorf("palisade-cni: gc: %w", err)
	}
	return nil
}
