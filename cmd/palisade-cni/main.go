// Command palisade-cni is palisade's chained CNI plugin: chained after any
// interface plugin, it registers each pod's host interface and addresses
// with the node's palisade agent and waits until the pod's policy is in the
// kernel, so a pod is isolated from its first packet. It carries no etcd or
// Kubernetes client. See package cni/plugin.
package main

import (
	"github.com/containernetworking/cni/pkg/skel"

	"github.com/palisade-net/palisade/cni/plugin"
)

func main() {
	skel.PluginMainFuncs(plugin.Funcs(), plugin.Versions, "palisade-cni: palisade's chained policy plugin")
}
