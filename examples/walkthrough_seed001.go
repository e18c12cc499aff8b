package examples

// Seed 001: "Protect Kubernetes nodes" (automatic host endpoints, masters and
// workers ingress policies).
func seed001Steps() []Step {
	const dir = "seed001"
	kcc := "10-kubecontrollersconfiguration.yaml"
	labels := "20-node-labels.yaml"
	masters := "30-ingress-k8s-masters.yaml"
	workerLabels := "40-worker-labels.yaml"
	workers := "50-ingress-k8s-workers.yaml"
	failsafes := "60-felixconfiguration-failsafes.yaml"
	return []Step{
		{"10-auto-host-endpoints", withTopology(dir, kcc), []Flow{
			allow(host1, controlIP, "21/TCP", "auto host endpoints carry projectcalico-default-allow and no policy selects them (§6 rule 6)"),
			allow(host1, node1IP, "10250/TCP"),
			allow("node:node1", host1, "80/TCP"),
		}},
		{"20-node-labels", withTopology(dir, kcc, labels), []Flow{
			allow(host1, controlIP, "21/TCP", "labels alone change no verdict"),
		}},
		{"30-ingress-k8s-masters", withTopology(dir, kcc, labels, masters), []Flow{
			allow(host1, controlIP, "6443/TCP", "rule 1: the API server from anywhere (also failsafe tcp:6443)"),
			allow(host2, controlIP, "6443/TCP", "rule 1"),
			deny(host1, controlIP, "10250/TCP", "rule 3 admits only the masters' addresses"),
			deny("node:node1", controlIP, "10250/TCP", "node1 is not a master"),
			allow("node:control", controlIP, "10250/TCP", "rule 3: the source 198.19.0.1 is control-auto-hep's expectedIP (§8.5); a master reaches its own kubelet (§4 path 9)"),
			allow(host1, controlIP, "2380/TCP", "failsafe tcp:2380 is accepted before any policy (§5.1, §5.4): rule 3 cannot keep 2380 between masters"),
			allow("node:node1", controlIP, "2380/TCP", "failsafe tcp:2380 (§5.1)"),
			deny(host1, controlIP, "21/TCP", "control is selected: end-of-tier deny (§6 rule 2)"),
			allow(host1, controlIP, "22/TCP", "failsafe tcp:22: SSH still works, as the seed says (§5.1)"),
			allow(host1, node1IP, "10250/TCP", "workers are not selected yet: default-allow profile"),
			allow("node:control", host1, "443/TCP", "types is [Ingress]: egress still allowed by the profile"),
		}},
		{"40-worker-labels", withTopology(dir, kcc, labels, masters, workerLabels), []Flow{
			allow(host1, node1IP, "10250/TCP", "the kubernetes-worker label alone changes nothing"),
		}},
		{"50-ingress-k8s-workers", withTopology(dir, kcc, labels, masters, workerLabels, workers), []Flow{
			deny(host1, node1IP, "10250/TCP", "only the masters may reach the workers' kubelet"),
			deny(host1, node2IP, "10250/TCP"),
			allow("node:control", node1IP, "10250/TCP", "rule 2: source 198.19.0.1 matches has(node-role.kubernetes.io/master) through control-auto-hep's expectedIPs (§8.5)"),
			allow("node:control", node2IP, "10250/TCP", "rule 2"),
			deny("node:node2", node1IP, "10250/TCP", "node2 is not a master"),
			deny(host1, node1IP, "21/TCP", "end-of-tier deny (§6 rule 2)"),
			allow(host1, node1IP, "22/TCP", "failsafe tcp:22 (§5.1)"),
			allow(host1, node1IP, "6443/TCP", "failsafe tcp:6443, on workers too (§5.1)"),
			allow(host1, controlIP, "6443/TCP", "masters' rule 1"),
			allow(host1, node1IP, "30180/TCP", "a NodePort is forwarded: non-AOF policy does not touch it (§13.7)"),
		}},
		{"60-felixconfiguration-failsafes", withTopology(dir, kcc, labels, masters, workerLabels, workers, failsafes), []Flow{
			deny(host1, controlIP, "2380/TCP", "tcp:2380 is no longer failsafe; rule 3 admits only masters"),
			deny("node:node1", controlIP, "2380/TCP", "node1 is not a master"),
			allow("node:control", controlIP, "2380/TCP", "rule 3: the master's own address"),
			deny(host1, node1IP, "2380/TCP", "workers have no rule for 2380"),
			allow(host1, controlIP, "22/TCP", "tcp:22 is still in the failsafe list"),
			allow(host1, controlIP, "2379/TCP", "tcp:2379 is still in the failsafe list"),
		}},
	}
}
