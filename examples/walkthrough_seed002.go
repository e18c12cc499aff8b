package examples

// Seed 002: "Securing Host Endpoints ... in Kubernetes" (foo and bar,
// producer/consumer policies, a host endpoint and preDNAT policy for a NodePort).
//
// Pods (examples/topology/30-default.yaml): foo-0/bar-0 on control, foo-1/bar-1
// on node1, foo-2/bar-2 on node2. The host endpoint is node1's eth0.
func seed002Steps() []Step {
	const dir = "seed002"
	services := "05-services.yaml"
	netpols := "10-networkpolicies.yaml"
	hepVerbatim := "21-hostendpoint-verbatim-labels.yaml"
	hep := "22-hostendpoint.yaml"
	nodePort := "30-bar-nodeport-service.yaml"
	prednat := "40-prednat-policies.yaml"
	return []Step{
		{"05-services", withTopology(dir, services), []Flow{
			allow("default/bar-0", "default/foo-1", "80/TCP", "no policy yet"),
			allow("yaobank/customer", "default/foo-0", "80/TCP", "no policy yet"),
		}},
		{"10-networkpolicies", withTopology(dir, services, netpols), []Flow{
			allow("default/bar-0", "default/foo-1", "80/TCP", "foo-consumer lets bar send to foo; foo-producer lets foo accept bar"),
			allow("default/bar-1", "default/foo-2", "8080/TCP", "neither policy lists ports: any port, not only TCP 80"),
			deny("default/foo-0", "default/foo-1", "80/TCP", "foo accepts only foo=consumer pods"),
			deny("default/bar-0", "default/bar-1", "80/TCP", "bar may only send to foo=producer pods"),
			deny("default/bar-0", "yaobank/customer", "80/TCP", "bar's egress is limited to foo"),
			deny("default/bar-0", "kube-system/coredns", "53/UDP", "bar's egress is limited to foo: no DNS either"),
			allow("yaobank/customer", "default/bar-0", "80/TCP", "bar's ingress is not restricted"),
			deny("yaobank/customer", "default/foo-0", "80/TCP", "foo accepts only bar"),
			deny(host1, "default/foo-0", "80/TCP", "foo accepts only bar"),
			allow("default/foo-0", "yaobank/customer", "80/TCP", "foo's egress is not restricted"),
		}},
		{"21-hostendpoint-verbatim-labels", withTopology(dir, services, netpols, hepVerbatim), []Flow{
			deny(host1, node1IP, "21/TCP", "a named host endpoint without profiles or policy denies local traffic (§6 rule 1, §13.1)"),
			allow(host1, node1IP, "22/TCP", "failsafe tcp:22 (§5.1)"),
			allow(host1, controlIP, "21/TCP", "control has no host endpoint: not policed"),
			deny("node:node1", host1, "80/TCP", "node1's own egress through eth0 is default-deny too (§6 rule 1)"),
			allow("node:node1", host1, "53/UDP", "failsafe outbound udp:53 (§5.1)"),
			allow("default/bar-0", "default/foo-1", "80/TCP", "cross-node pod traffic through eth0 is forwarded: no AOF policy, allowed (§6 rule 3)"),
		}},
		{"30-bar-nodeport-service", withTopology(dir, services, netpols, hepVerbatim, nodePort), []Flow{
			allow(host1, node1IP, "30010/TCP", "forwarded to bar's pods: no AOF policy on the endpoint (§6 rule 3); bar accepts anyone"),
			allow(host2, node1IP, "30010/TCP"),
			allow(host1, controlIP, "30010/TCP", "the NodePort is open on every node"),
		}},
		{"40-prednat-policies-verbatim-labels", withTopology(dir, services, netpols, hepVerbatim, nodePort, prednat), []Flow{
			allow(host1, node1IP, "30010/TCP", "with the seed's labels (role: ingress) has(host-endpoint) selects nothing: host1 is not stopped"),
			allow(host2, node1IP, "30010/TCP", "nothing selected"),
			deny(host2, node1IP, "21/TCP", "still a profile-less endpoint without policy (§6 rule 1)"),
		}},
		{"41-prednat-policies-corrected-hep", withTopology(dir, services, netpols, hep, nodePort, prednat), []Flow{
			allow(host2, node1IP, "30010/TCP", "bar-external-consumer: host2 is in the intranet (198.19.15.252/31 for 10.0.0.0/8)"),
			deny(host1, node1IP, "30010/TCP", "drop-other-ingress: host1 is outside the intranet"),
			deny(host1, controlIP, "30010/TCP", "control has no host endpoint, but kube-proxy may send the connection to bar-1 on node1, entering by node1's eth0 where drop-other-ingress drops it (source host1, or control if masqueraded: neither is in the intranet); a flow is allowed only if every backend is"),
			deny(host1, node2IP, "30010/TCP", "as for control: the backend bar-1 sits behind node1's eth0"),
			deny(host2, controlIP, "30010/TCP", "even from the intranet: towards bar-1 on node1, kube-proxy masquerades the client to control's address (externalTrafficPolicy Cluster; §12.1: SNAT in POSTROUTING), which is not in the intranet, so node1's eth0 drops it"),
			allow(host1, node1IP, "22/TCP", "failsafes are accepted before any preDNAT rule (§12 rule 7)"),
			allow(host1, node1IP, "6443/TCP", "failsafe tcp:6443: the API server stays reachable (§5.1)"),
			allow(host2, node1IP, "21/TCP", "a preDNAT Allow skips the endpoint's normal ingress (§12 rule 4, decision 5): even the profile-less endpoint lets the intranet in"),
			deny(host1, node1IP, "21/TCP", "drop-other-ingress"),
			deny(host1, "default/bar-1", "80/TCP", "bar-1 runs on node1: preDNAT sees everything arriving by eth0, whatever the destination (§12 rule 3)"),
			allow(host2, "default/bar-1", "80/TCP", "intranet: preDNAT Allow; bar accepts anyone"),
			allow(host1, "default/bar-2", "80/TCP", "bar-2 runs on node2, which has no host endpoint"),
			deny("default/bar-0", "default/foo-1", "80/TCP", "pod traffic from control enters node1 by eth0 and its source 198.18.0.31 is not in the intranet: drop-other-ingress (§12 rule 3)"),
			allow("default/bar-1", "default/foo-0", "80/TCP", "leaving node1 by eth0: preDNAT is ingress only; control has no host endpoint"),
			allow("default/bar-1", "default/foo-1", "80/TCP", "both on node1: the packet never crosses eth0, which is all a named endpoint covers (§1.2 item 8, §6)"),
		}},
	}
}
