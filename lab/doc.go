// Package lab is `palisade lab`: the seed documents' cluster built out of
// network namespaces on one machine, running real palisade (a server with
// embedded etcd on control and `palisade agent` on every node), and a walk
// through every seed with real packets (issue 5).
//
// # Topology
//
// The cluster is examples/topology (embedded in the binary), so the lab and
// the examples' offline tests describe the same thing:
//
//	palisade-switch                 a bridge (br0) joining every eth0 below
//	palisade-control   198.19.0.1   node, pods 198.18.0.0/24, the server
//	palisade-node1     198.19.0.2   node, pods 198.18.1.0/24
//	palisade-node2     198.19.0.3   node, pods 198.18.2.0/24
//	palisade-host1     198.19.15.254  outside host (the seeds' standalone host)
//	palisade-host2     198.19.15.253  outside host
//	palisade-pod-<namespace>-<pod>  a pod: eth0 with its /32, behind the
//	                                cali… veth policy.PodInterfaceName names
//	palisade-scratch                unconnected; see "Convergence"
//
// Nodes and hosts share 198.19.0.0/20 with permanent neighbour entries; nodes
// forward and route each other's pod ranges; the hosts route the pod ranges to
// the nodes. Pods route everything through an on-link gateway (198.19.255.1,
// never configured, like Calico's 169.254.1.1). Every address is in
// 198.18.0.0/15; IPv6 is off. Nothing outside the palisade-* namespaces is
// touched: the root namespace's firewall, routes and sysctls stay as they are.
//
// # What runs where
//
//   - control: `palisade server`, clients on 198.19.0.1:2379 (the agents) and
//     on the unix socket <dir>/etcd.sock (the machine's own CLI; `palisade lab
//     env`), peers on 127.0.0.1:12380, health on 127.0.0.1:9097.
//   - every node: `palisade agent --node NAME --etcd-endpoints
//     http://198.19.0.1:2379 --health-listen 127.0.0.1:9091`, reaching the
//     datastore over the lab network like a real cluster (or, with
//     --enforcer standin, the lab's minimal stand-in, StandIn).
//   - every node and host and pod: `palisade lab responder`, answering TCP
//     (echo) and UDP (echo, from the address asked) on every port the
//     scenarios probe; the kernel answers ICMP echo. Control leaves 2379 to
//     etcd (a probe of it only completes the TCP handshake).
//
// Processes are started detached (their own session) with their output in
// <dir>/logs, and recorded in <dir>/procs.jsonl (pid and start time) as they
// start; each also carries PALISADE_LAB_DIR=<dir> in its environment, so
// Down finds them even when a crash lost the record. Down ends only processes
// whose pid and start time match a record or that carry the marker, removes
// the namespaces (those of the state file and the topology's fixed names) and
// the state directory.
//
// # The Kubernetes pieces the lab plays itself
//
//   - CNI: every pod of the datastore with a node and an address gets the
//     WorkloadEndpoint Calico's CNI plugin would write (<node>-k8s-<pod>-eth0,
//     the pod's labels plus projectcalico.org/namespace, orchestrator and
//     serviceaccount, profiles kns.<ns> and ksa.<ns>.<sa>, its cali…
//     interface); the lab keeps them in step with the pods' labels, as
//     calico-kube-controllers does. The Pods, Namespaces, Services and Nodes
//     of the topology are in the datastore too, so `palisade explain` on the
//     live datastore sees what the agents see.
//   - kube-proxy: table ip palisade-lab-kubeproxy in every node namespace
//     DNATs each NodePort on the node's address (prerouting and output, at
//     kube-proxy's priorities, after palisade's preDNAT chain) to its backends
//     in turn (numgen inc), and masquerades what it sends to another node and
//     hairpin connections (a backend reaching itself through the NodePort).
//     A flow to a NodePort is probed once per backend, and is allowed only if
//     every backend answered: the rule explain applies.
//
// # With a real apiserver (--kube, kube.go)
//
// Config.Kube starts `palisade lab apiserver` in the machine's namespace:
// an embedded etcd and kube-apiserver on loopback (internal/kubeapi), a
// proxy listening on 127.0.0.1:16443 inside palisade-control for the
// server (`--kubeconfig <dir>/kube/kubeconfig-control
// --kube-force-delete`), and <dir>/kube/kubeconfig for the machine's
// kubectl. The topology's Kubernetes objects are the apiserver's; the lab
// writes only the Calico ones to the datastore, and the mirror writes the
// rest (its objects, marked palisade.io/source, are left to it by reset).
// The lab is the kubelet (pod and node status) and the namespace
// controller (it finalizes namespaces it deletes). Steps apply and delete
// Kubernetes files with kubectl; kubeSeedCommands replace the palisade
// stand-ins of the seeds' kubectl commands with the commands themselves.
// After every change the lab waits until mirror.Pending (the apiserver's
// objects listed afresh, converted as the mirror converts them, against
// the datastore) is empty, so the mirror has caught up before the lab
// converges and probes.
//
// # The controller
//
// `lab up` starts `palisade lab controller` (controller.go), which every
// 300 ms does what a cluster's kubelet, CNI plugin and kube-proxy do when a
// user changes the cluster by hand: pods the topology knows are scheduled
// to their node (a Binding with --kube) and reported running with the
// topology's address, running pods get their WorkloadEndpoints, NodePorts
// follow the Services. It skips a pass while a run (or a test's Settle or
// Reset) holds <dir>/run.lock, which does the same itself, so a run never
// races it; a run waits up to 10 s for the controller's pass to end.
//
// # Scenarios
//
// One per seed (seed000 ... seed004). The steps, their files and the
// expected verdicts are the examples' walkthroughs (examples.Walkthrough,
// examples/walkthrough*.go), which `go test ./examples` also checks with
// explain. A step's commands are derived from the files: files added
// since the previous step are applied, except those that stand for a seed's
// command (seedCommands: `palisade patch kubecontrollersconfiguration`,
// `palisade label nodes|pods`, the exported and edited FelixConfiguration,
// and the seeds' broken documents shown failing before the corrected file);
// files dropped are deleted, or the lab resets to the unprotected state when
// they changed topology objects. Each scenario starts from the unprotected
// state (datastore reset, conntrack flushed in every lab namespace).
//
// After a step's commands the lab syncs its CNI and kube-proxy, checks that
// every agent is ready (connected to the datastore), waits for convergence,
// then probes every flow from the source's namespace (TCP connect and a
// one-byte echo, UDP echo, ICMP echo; 600 ms; a fresh source port and ICMP
// id per probe so no probe meets another's conntrack entry) and asks
// `palisade explain -o json` (in-process, on the live datastore) for its
// verdict. Kernel and explain must both give the expected verdict; a
// failure prints the flow, why it is expected, the explanation and the
// rulesets of the nodes it crosses. With Config.Extra (--extra N) every step
// also probes N flows the seeds do not list (seeded by the step's name, so
// the same ones every run), on which kernel and explain must agree.
//
// # Convergence
//
// The lab renders each node's ruleset from the datastore (render.Node on the
// same model the agent builds), loads it into palisade-scratch and reads it
// back with nft, which gives the kernel's own text; a node has converged when
// its table reads the same. This needs nothing from the agent but the
// ruleset it is meant to apply.
package lab
