package examples

import "fmt"

// Seed 003: "Protect hosts and VMs" (k8s-worker policy, a host endpoint with
// expectedIPs, failsafe ports, DefaultEndpointToHostAction). The seed's host
// my-host (10.0.0.1) is node1 (198.19.0.2); yaobank/customer runs on node1 and
// yaobank/summary on node2.
func seed003Steps() []Step {
	const dir = "seed003"
	policy := "10-k8s-worker-policy.yaml"
	hep := "20-hostendpoint.yaml"
	felix := "30-felixconfiguration.yaml"

	withHEP := []Flow{
		allow(host1, node1IP, "22/TCP", "rule 1: SSH from the management range (198.19.15.254/32)"),
		allow(host2, node1IP, "22/TCP", "host2 is outside the management range, but tcp:22 is a failsafe inbound port, accepted before any policy (§5.1, §5.4)"),
		allow(host2, node1IP, "0/ICMP", "rule 2: ICMP"),
		allow(host2, node1IP, "10250/TCP", "rule 3: kubelet"),
		deny(host1, node1IP, "80/TCP", "the endpoint is selected: end-of-tier deny (§6 rule 2)"),
		deny(host1, node1IP, "53/UDP", "udp:53 is an outbound failsafe only (§5.1)"),
		deny(host1, node1IP, "67/UDP", "udp:67 is an outbound failsafe only (§5.1)"),
		allow(host1, node2IP, "80/TCP", "node2 has no host endpoint"),
		allow("node:node1", controlIP, "2379/TCP", "egress rule 1: etcd on control (also failsafe tcp:2379)"),
		deny("node:node1", host1, "80/TCP", "egress: end-of-tier deny"),
		deny("node:node1", host1, "22/TCP", "tcp:22 is an inbound failsafe only, and no egress rule allows it"),
		deny("node:node1", host1, "68/UDP", "udp:68 is an inbound failsafe only; egress allows UDP 53 and 67"),
		deny("node:node1", node2IP, "10250/TCP", "node1's own egress is restricted"),
		deny("node:node1", "default/busybox2", "80/TCP", "host to a pod on another node leaves by eth0: node1's egress policy applies (§4 path 2)"),
		allow("node:node1", "yaobank/customer", "80/TCP", "host to its own pods is never policed (§4 path 8)"),
		allow("yaobank/summary", node1IP, "10250/TCP", "a pod on node2 to node1's kubelet: rule 3"),
		deny("yaobank/summary", node1IP, "80/TCP", "end-of-tier deny"),
		allow("yaobank/customer", host1, "80/TCP", "pod traffic forwarded out of eth0: non-AOF policy does not apply (§13.7)"),
		deny("yaobank/customer", "node:node1", "10250/TCP", "pod to its own host: DefaultEndpointToHostAction Drop, whatever the host endpoint's policy (§10, §13.5)"),
	}
	// The seed's failsafe table, each port in its direction (§5.1); tcp:5473 is
	// in Felix's defaults but missing from the seed's table.
	for _, p := range []string{"22/TCP", "68/UDP", "179/TCP", "2379/TCP", "2380/TCP", "5473/TCP", "6443/TCP", "6666/TCP", "6667/TCP"} {
		withHEP = append(withHEP, allow(host1, node1IP, p, fmt.Sprintf("failsafe inbound %s (§5.1)", p)))
	}
	for _, p := range []string{"53/UDP", "67/UDP", "179/TCP", "2379/TCP", "2380/TCP", "5473/TCP", "6443/TCP", "6666/TCP", "6667/TCP"} {
		withHEP = append(withHEP, allow("node:node1", host1, p, fmt.Sprintf("failsafe outbound %s (§5.1)", p)))
	}

	return []Step{
		{"10-k8s-worker-policy", withTopology(dir, policy), []Flow{
			allow(host1, node1IP, "80/TCP", "no host endpoint yet: the policy selects nothing"),
			deny("yaobank/customer", "node:node1", "10250/TCP", "seed: Calico blocks workload to local host by default (DefaultEndpointToHostAction Drop, §10)"),
			allow("yaobank/summary", "node:node1", "10250/TCP", "a pod on another node: node1 is not policed"),
		}},
		{"20-hostendpoint", withTopology(dir, policy, hep), withHEP},
		{"30-felixconfiguration", withTopology(dir, policy, hep, felix), []Flow{
			allow("yaobank/customer", "node:node1", "10250/TCP", "defaultEndpointToHostAction: Accept (§10)"),
			allow("yaobank/customer", "node:node1", "80/TCP", "pod to own host ignores host endpoint policy (§13.5): Accept lets it in although k8s-worker would not"),
			deny(host1, node1IP, "80/TCP", "host endpoint policy unchanged"),
			allow(host1, node1IP, "22/TCP", "rule 1"),
		}},
	}
}
