package examples

// Seed 000: "Network Policy for Hosts and NodePorts" (yaobank lab).
func seed000Steps() []Step {
	const dir = "seed000"
	policy := "10-default-node-policy.yaml"
	kcc := "20-kubecontrollersconfiguration.yaml"
	npDeny := "30-nodeport-policy-deny.yaml"
	npHost1 := "31-nodeport-policy-host1.yaml"
	return []Step{
		{"00-unprotected", withTopology(dir), []Flow{
			allow(host1, controlIP, "21/TCP", "seed: `nc -w 3 198.19.0.1 21` succeeds; no host endpoint, nothing is policed (§1.1 item 3)"),
			allow(host1, controlIP, "30180/TCP", "NodePort to yaobank/customer, which no policy selects"),
			allow(host2, node1IP, "30180/TCP"),
		}},
		{"10-default-node-policy", withTopology(dir, policy), []Flow{
			allow(host1, controlIP, "21/TCP", "the policy selects host endpoints and none exist yet"),
		}},
		{"20-auto-host-endpoints", withTopology(dir, policy, kcc), []Flow{
			deny(host1, controlIP, "21/TCP", "seed: nc now times out; default-node-policy selects control-auto-hep: end-of-tier deny (§12.1)"),
			allow(host1, controlIP, "22/TCP", "failsafe tcp:22 (§5.1)"),
			allow(host1, controlIP, "2379/TCP", "failsafe tcp:2379 (§5.1)"),
			allow(host1, controlIP, "6443/TCP", "failsafe tcp:6443 (§5.1)"),
			deny(host1, controlIP, "10250/TCP", "kubelet is not a failsafe port (§5.1, §12.1)"),
			deny(host1, controlIP, "0/ICMP", "ICMP is not failsafe (§12.1)"),
			deny(host1, node1IP, "21/TCP", "every node's auto host endpoint is selected"),
			deny(host2, node2IP, "21/TCP"),
			deny("node:node1", controlIP, "21/TCP", "only sources in 127.0.0.1/32 are allowed, not node1's address (§12.1)"),
			allow("node:node1", controlIP, "2379/TCP", "agents still reach the datastore: failsafe tcp:2379 out and in (§5.1)"),
			deny("node:control", controlIP, "21/TCP", "host to its own node IP goes through lo with source 198.19.0.1, not 127.0.0.1 (§4 path 9, §12.1)"),
			allow("node:control", host1, "80/TCP", "types is [Ingress]: egress stays allowed by the default-allow profile (§12.1)"),
			allow(host1, controlIP, "30180/TCP", "NodePort traffic DNAT'd to a pod is forwarded: the non-AOF policy does not touch it (§12.1, §13.7)"),
			allow("yaobank/summary", "yaobank/customer", "80/TCP", "pod to pod: no pod policy, no AOF or preDNAT policy on the wildcard endpoints (§4 paths 5, 4)"),
		}},
		{"30-nodeport-policy-deny", withTopology(dir, policy, kcc, npDeny), []Flow{
			deny(host1, controlIP, "30180/TCP", "seed: curl 198.19.0.1:30180 fails; preDNAT Deny TCP 30000:32767 (§12)"),
			deny(host2, controlIP, "30180/TCP"),
			deny(host1, node1IP, "30180/TCP", "every node; customer itself runs on node1"),
			deny(host1, controlIP, "30010/TCP", "bar's NodePort is in the range too"),
			deny(host1, controlIP, "31000/UDP", "rule 2: UDP 30000:32767"),
			allow(host1, controlIP, "22/TCP", "failsafes are accepted before preDNAT rules (§12 rule 7)"),
			deny(host1, controlIP, "21/TCP", "preDNAT has no match and no default deny; default-node-policy then denies (§12 rule 6)"),
			allow(host1, "yaobank/customer", "80/TCP", "straight to the pod's address and port: not a NodePort, preDNAT has no default deny (§12 rule 6)"),
			deny("yaobank/summary", "yaobank/customer", "30500/TCP", "pod to pod on a port in 30000-32767: the wildcard endpoint's preDNAT policy sees pod traffic and the real port (§12.1, §13.4)"),
		}},
		{"31-nodeport-policy-host1", withTopology(dir, policy, kcc, npDeny, npHost1), []Flow{
			allow(host1, controlIP, "30180/TCP", "seed: curl 198.19.0.1:30180 succeeds from host1; rule 1 (§12.1)"),
			allow(host1, node1IP, "30180/TCP", "every node"),
			allow(host1, node2IP, "30180/TCP", "every node"),
			deny(host2, controlIP, "30180/TCP", "seed: fails from any other location; rule 2 (§12.1)"),
			deny(host2, node1IP, "30180/TCP"),
			deny("node:node1", controlIP, "30180/TCP", "the source is node1's address, not 198.19.15.254 (§12.1)"),
			deny("yaobank/summary", controlIP, "30180/TCP", "the source is the pod's address (§12.1)"),
			deny(host1, controlIP, "30180/UDP", "rule 1 is TCP only; rule 3 denies UDP 30000:32767 (§12.1)"),
			deny(host1, controlIP, "30010/TCP", "only 30180 is opened"),
			deny(host1, controlIP, "21/TCP", "default-node-policy still applies"),
			deny(host1, controlIP, "80/TCP", "a host port: preDNAT no match, then default-node-policy (§12.1)"),
			allow(host1, controlIP, "22/TCP", "failsafe (§5.1)"),
			allow(host1, controlIP, "6443/TCP", "failsafe (§5.1)"),
		}},
	}
}
