package examples

// Seed 004: a collection of articles on network policy. Its policies conflict
// when applied together (several deny-alls, one name used three times), so the
// walkthrough is split into independent sets, one directory each; the steps of
// a set build on each other only where the seed's text does.
//
// Placement (examples/topology): busybox1, trusted, nodejs, mysql on node1;
// busybox2, redis, php, web on node2; coredns on control; cs1/app-1 on node1,
// cs1/app-2 and cs2/app-1 on node2; staging frontend/backend/db on
// control/node1/node2.
func seed004Steps() []Step {
	var steps []Step
	for _, set := range [][]Step{
		seed004GlobalDeny(), seed004KubernetesExamples(), seed004Redis(), seed004Metrics(),
		seed004ICMP(), seed004VPN(), seed004Basics(), seed004Busybox(), seed004Staging(),
	} {
		steps = append(steps, set...)
	}
	return steps
}

// "Network Policy Enforcement": a global default deny, and a namespace opening
// port 80 for itself.
func seed004GlobalDeny() []Step {
	const dir = "seed004/10-global-deny"
	gdeny := "10-global-deny-all.yaml"
	team := "20-team-netpol.yaml"
	return []Step{
		{"global-deny/10-global-deny-all", withTopology(dir, gdeny), []Flow{
			deny("default/busybox1", "default/busybox2", "80/TCP", "global-deny-all: end-of-tier deny in both directions"),
			allow("default/busybox1", "kube-system/coredns", "53/UDP", "egress rule 2 (DNS) and ingress rule 1 (kube-system accepts all)"),
			deny("default/busybox1", "kube-system/coredns", "53/TCP", "only UDP 53 may leave"),
			deny("default/busybox1", "kube-system/coredns", "9153/TCP", "only UDP 53 may leave"),
			deny("kube-system/coredns", "default/busybox1", "80/TCP", "kube-system may send anything, but busybox1 accepts nothing"),
			allow("kube-system/coredns", host1, "443/TCP", "egress rule 1: everything from kube-system"),
			allow(host1, "kube-system/coredns", "53/UDP", "ingress rule 1: kube-system accepts any source"),
			deny(host1, "yaobank/customer", "80/TCP", "only kube-system accepts traffic"),
			deny("yaobank/summary", host1, "80/TCP", "pods outside kube-system may only send DNS"),
			allow("node:node1", "default/busybox1", "80/TCP", "a host's processes always reach its own pods (§4 path 8, §13.6)"),
			deny("node:node2", "default/busybox1", "80/TCP", "from another node the pod's ingress policy applies"),
		}},
		{"global-deny/20-team-netpol", withTopology(dir, gdeny, team), []Flow{
			allow(host1, "org-1/web", "80/TCP", "team-netpol: TCP 80 from anywhere"),
			allow("kube-system/coredns", "org-1/web", "80/TCP", "team-netpol; kube-system may send"),
			deny(host1, "org-1/web", "443/TCP", "only port 80 is opened"),
			deny("default/busybox1", "org-1/web", "80/TCP", "busybox1's own egress is still denied by global-deny-all"),
			deny("org-1/web", "org-1/api", "80/TCP", "team-netpol lists Egress without rules and global-deny-all allows only DNS out (§7.4)"),
			allow("org-1/web", "kube-system/coredns", "53/UDP", "no rule of team-netpol matches, so global-deny-all's DNS rule (order 2000) decides (§7.4)"),
			deny("org-1/api", host1, "80/TCP", "org-1's egress is DNS only"),
		}},
	}
}

// The Kubernetes NetworkPolicy examples 1 to 7 and the "Allow/Deny everything"
// fragments. Every example is a step of its own (3 and 4 share the name
// deny-all, 5 to 7 the name namespace-allow).
func seed004KubernetesExamples() []Step {
	const dir = "seed004/20-k8s-examples"
	return []Step{
		{"k8s-examples/1-reject-all", withTopology(dir, "01-deny-all-cs1.yaml"), []Flow{
			deny("cs1/app-1", "cs1/app-2", "80/TCP", "both directions isolated in cs1"),
			deny("default/busybox1", "cs1/app-1", "80/TCP", "cs1 accepts nothing"),
			deny("cs1/app-1", "default/busybox1", "80/TCP", "cs1 sends nothing"),
			deny("cs1/app-1", "kube-system/coredns", "53/UDP", "cs1 sends nothing, DNS included"),
			allow("default/busybox1", "default/busybox2", "80/TCP", "other namespaces are not affected"),
		}},
		{"k8s-examples/2-allow-all", withTopology(dir, "01-deny-all-cs1.yaml", "02-allow-all-cs1.yaml"), []Flow{
			allow("cs1/app-1", "cs1/app-2", "80/TCP", "allow-all-egress allows both directions; allows add up (§7.4)"),
			allow("default/busybox1", "cs1/app-1", "80/TCP"),
			allow("cs1/app-1", host1, "443/TCP"),
		}},
		{"k8s-examples/3-scope-of-action", withTopology(dir, "03-deny-all-access.yaml"), []Flow{
			deny("default/busybox1", "default/trusted", "80/TCP", "trusted carries access=true: isolated"),
			deny("default/trusted", "default/busybox1", "80/TCP", "trusted's egress is isolated too"),
			allow("default/busybox1", "default/busybox2", "80/TCP", "pods without access=true are not selected"),
		}},
		{"k8s-examples/4-restrict-ip", withTopology(dir, "04-restrict-ip.yaml"), []Flow{
			allow("default/busybox1", "cs1/app-1", "80/TCP", "198.18.1.70 is in the allowed block (the seed's 192.168.0.0/16); cs1 has no policy"),
			deny("default/busybox1", "cs1/app-2", "0/ICMP", "seed: ping to the excepted address fails (198.18.2.70 for 192.168.94.134)"),
			deny("default/busybox1", "cs1/app-2", "80/TCP", "the excepted address, any protocol"),
			allow("default/busybox1", "kube-system/coredns", "53/UDP", "coredns's address is in the block"),
			deny("default/busybox1", "default/busybox2", "80/TCP", "every pod of default is isolated for ingress"),
			deny("default/busybox1", host1, "80/TCP", "outside the allowed block"),
			deny("cs1/app-1", "default/busybox1", "80/TCP", "default accepts nothing"),
		}},
		{"k8s-examples/5-namespace-allow-cs1", withTopology(dir, "05-namespace-allow-cs1.yaml"), []Flow{
			allow("cs1/app-1", "default/busybox1", "80/TCP", "namespace cs1 carries name=cs1"),
			deny("cs2/app-1", "default/busybox1", "80/TCP", "cs2 is not name=cs1"),
			deny("default/busybox2", "default/busybox1", "80/TCP", "namespace default has no name=cs1 label"),
			allow("default/busybox1", "cs2/app-1", "80/TCP", "egress is not restricted"),
		}},
		{"k8s-examples/6-namespace-allow-cs1-cs2", withTopology(dir, "06-namespace-allow-cs1-cs2.yaml"), []Flow{
			allow("cs1/app-1", "default/busybox1", "80/TCP", "name in (cs1, cs2)"),
			allow("cs2/app-1", "default/busybox1", "80/TCP", "name in (cs1, cs2)"),
			deny("yaobank/customer", "default/busybox1", "80/TCP", "yaobank has no name label"),
			deny("default/busybox1", "cs1/app-1", "80/TCP", "Egress is listed without egress rules: default sends nothing"),
			deny("default/busybox1", "kube-system/coredns", "53/UDP", "no egress at all, DNS included"),
		}},
		{"k8s-examples/7-pod-label", withTopology(dir, "07-namespace-allow-access.yaml"), []Flow{
			allow("default/trusted", "default/busybox1", "80/TCP", "trusted carries access=true"),
			deny("default/busybox2", "default/busybox1", "80/TCP", "busybox2 has no access label"),
			deny("cs2/app-1", "default/busybox1", "80/TCP", "access=true but in cs2: a podSelector alone means the policy's own namespace (docs/api.md §6.3)"),
		}},
		{"k8s-examples/fragment-deny-ingress", withTopology(dir, "11-fragment-deny-ingress.yaml"), []Flow{
			deny("default/busybox2", "default/busybox1", "80/TCP", "ingress: [] blocks all incoming traffic"),
			allow("default/busybox1", "yaobank/customer", "80/TCP", "egress untouched"),
		}},
		{"k8s-examples/fragment-allow-ingress", withTopology(dir, "11-fragment-deny-ingress.yaml", "12-fragment-allow-ingress.yaml"), []Flow{
			allow("default/busybox2", "default/busybox1", "80/TCP", "ingress: [{}] allows everything; allows add up"),
		}},
		{"k8s-examples/fragment-deny-egress", withTopology(dir, "13-fragment-deny-egress.yaml"), []Flow{
			deny("default/busybox1", "yaobank/customer", "80/TCP", "Egress without rules blocks all outgoing traffic"),
			allow("yaobank/customer", "default/busybox1", "80/TCP", "ingress untouched"),
		}},
		{"k8s-examples/fragment-allow-egress", withTopology(dir, "13-fragment-deny-egress.yaml", "14-fragment-allow-egress.yaml"), []Flow{
			allow("default/busybox1", "yaobank/customer", "80/TCP", "egress: [{}] allows everything"),
		}},
	}
}

// "Isolation inside the environment": Redis reachable from Node.js only, as a
// Kubernetes and as a Calico policy (alternatives with one name).
func seed004Redis() []Step {
	const dir = "seed004/30-redis"
	flows := []Flow{
		allow("default/nodejs", "default/redis", "6379/TCP", "the one allowed client"),
		deny("default/php", "default/redis", "6379/TCP", "PHP is cut off from Redis"),
		deny("default/nodejs", "default/redis", "80/TCP", "only TCP 6379"),
		allow("default/php", "default/nodejs", "80/TCP", "Node.js is not selected: no isolation"),
		allow("default/redis", "default/php", "80/TCP", "Redis's egress is not restricted (Ingress only; for the Calico policy types is inferred, decision 7)"),
	}
	return []Step{
		{"redis/kubernetes-policy", withTopology(dir, "10-allow-redis-nodejs-k8s.yaml"), flows},
		{"redis/calico-policy", withTopology(dir, "20-allow-redis-nodejs-calico.yaml"), flows},
	}
}

// "Isolation through environments": metrics on TCP 9100 only from namespaces
// labelled module=prometheus, as a Kubernetes and as a Calico policy.
func seed004Metrics() []Step {
	const dir = "seed004/40-metrics"
	flows := []Flow{
		allow("kube-prometheus/prometheus", "default/busybox1", "9100/TCP", "namespace kube-prometheus carries module=prometheus"),
		allow("kube-prometheus/prometheus", "default/redis", "9100/TCP", "every pod of default is selected"),
		deny("kube-prometheus/prometheus", "default/busybox1", "80/TCP", "only TCP 9100"),
		deny("default/busybox2", "default/busybox1", "9100/TCP", "namespace default is not module=prometheus"),
		deny("yaobank/customer", "default/busybox1", "9100/TCP"),
		allow("default/busybox1", "yaobank/customer", "80/TCP", "egress not restricted (for the Calico policy types is inferred as [Ingress], decision 7)"),
		allow("yaobank/customer", "yaobank/summary", "80/TCP", "other namespaces untouched"),
	}
	return []Step{
		{"metrics/kubernetes-policy", withTopology(dir, "00-kube-prometheus-namespace.yaml", "10-allow-metrics-prom-k8s.yaml"), flows},
		{"metrics/calico-policy", withTopology(dir, "00-kube-prometheus-namespace.yaml", "20-allow-metrics-prom-calico.yaml"), flows},
	}
}

// "Using Calico's extended set of objects": block ICMP, then the host endpoint
// exception for kube-02 (node2).
func seed004ICMP() []Step {
	const dir = "seed004/50-icmp"
	block := "10-block-icmp.yaml"
	exception := "20-icmp-exception-kube-02.yaml"
	allowRest := "30-allow-non-icmp.yaml"
	return []Step{
		{"icmp/10-block-icmp", withTopology(dir, block), []Flow{
			deny("default/busybox1", "default/busybox2", "0/ICMP", "block-icmp"),
			deny("default/busybox1", "default/busybox2", "80/TCP", "block-icmp selects every endpoint in both directions with only Deny rules: what it does not deny is denied at the end of the tier (§3.1 step 6c, §7.4), not only ICMP as the seed expects"),
			allow("node:node1", node2IP, "0/ICMP", "seed: nodes still reach each other over ICMP; no host endpoints, nodes are not policed"),
			allow("node:node1", "default/busybox1", "0/ICMP", "a host always reaches its own pods (§4 path 8, §13.6)"),
			deny("node:node2", "default/busybox1", "0/ICMP", "from another node, busybox1's ingress policy applies"),
			deny("default/busybox1", node2IP, "0/ICMP", "pod to node: the pod's egress"),
			deny(host1, "default/busybox2", "0/ICMP"),
		}},
		{"icmp/20-icmp-exception-kube-02", withTopology(dir, block, exception), []Flow{
			allow(host1, node2IP, "0/ICMP", "deny-icmp-kube-02 (order 0) allows ICMP into node2's eth0, before block-icmp (order 200)"),
			allow("node:node1", node2IP, "0/ICMP", "the exception"),
			allow("node:node2", node1IP, "0/ICMP", "the exception's egress rule; node1 has no host endpoint"),
			deny(host1, node2IP, "80/TCP", "the profile-less endpoint is now selected: end-of-tier deny (§6 rule 2)"),
			allow(host1, node2IP, "22/TCP", "failsafe tcp:22 (§5.1)"),
			deny("node:node2", host1, "80/TCP", "egress: end-of-tier deny"),
			allow("node:node2", host1, "53/UDP", "failsafe outbound udp:53 (§5.1)"),
			allow(host1, node1IP, "80/TCP", "node1 has no host endpoint"),
			deny("default/busybox1", "default/busybox2", "0/ICMP", "pods are still blocked"),
		}},
		{"icmp/30-allow-non-icmp", withTopology(dir, block, allowRest), []Flow{
			deny("default/busybox1", "default/busybox2", "0/ICMP", "block-icmp (order 200) comes first"),
			allow("default/busybox1", "default/busybox2", "80/TCP", "allow-non-icmp (order 300)"),
			allow(host1, "yaobank/customer", "80/TCP", "allow-non-icmp"),
		}},
	}
}

// "The case with VPN": a wildcard host endpoint on kube-02 (node2) without
// profiles and a preDNAT policy. host2 plays the VPN client; Redis runs on
// node2 (as does php), Node.js on node1.
func seed004VPN() []Step {
	return []Step{
		{"vpn/10-vpn", withTopology("seed004/60-vpn", "10-vpn.yaml"), []Flow{
			deny(host2, node2IP, "6379/TCP", "vpn-rules rule 1 (preDNAT)"),
			deny(host2, "default/redis", "6379/TCP", "preDNAT sees traffic to the pods behind node2 too (§12 rule 3)"),
			deny("default/nodejs", "default/redis", "6379/TCP", "from node1, the packet enters node2 through its wildcard endpoint (§3.2)"),
			deny("default/php", "default/redis", "6379/TCP", "same node: a wildcard endpoint's preDNAT policy also covers pod interfaces (§3.2, §13.4)"),
			allow(host2, node2IP, "53/UDP", "rule 2: a preDNAT Allow skips normal ingress (§12 rule 4)"),
			allow(host2, node2IP, "67/UDP", "rule 2"),
			deny(host2, node2IP, "53/TCP", "no preDNAT rule matches; then no normal policy and no profile (§6 rule 1)"),
			deny(host2, node2IP, "80/TCP", "no profile: default deny for node2's own processes (§6 rule 1)"),
			allow(host2, node2IP, "22/TCP", "failsafe tcp:22 (§5.1)"),
			allow(host2, "default/redis", "80/TCP", "forwarded to a pod with no AOF policy (§6 rule 3); Redis has no pod policy"),
			allow(host2, "default/nodejs", "6379/TCP", "Node.js runs on node1, which has no host endpoint"),
			deny("node:node2", host1, "80/TCP", "node2's own egress: no policy, no profile (§6 rule 1)"),
			allow("node:node2", host1, "53/UDP", "failsafe outbound udp:53 (§5.1)"),
			deny("node:node1", node2IP, "10250/TCP", "no profile (§6 rule 1)"),
		}},
	}
}

// "Network policies" article: deny all, allow all, namespace isolation, and
// the db-connection anatomy example, all in namespace default.
func seed004Basics() []Step {
	const dir = "seed004/70-basics"
	return []Step{
		{"basics/10-deny-all", withTopology(dir, "10-deny-all.yaml"), []Flow{
			deny("default/busybox1", "default/busybox2", "80/TCP", "both directions isolated"),
			deny("default/busybox1", "yaobank/customer", "80/TCP"),
			deny("yaobank/customer", "default/busybox1", "80/TCP"),
		}},
		{"basics/21-allow-all", withTopology(dir, "10-deny-all.yaml", "21-allow-all.yaml"), []Flow{
			allow("default/busybox1", "default/busybox2", "80/TCP", "allow-all overrides deny-all: allows add up (§7.4)"),
			allow("yaobank/customer", "default/busybox1", "80/TCP"),
		}},
		{"basics/30-isolate-namespace", withTopology(dir, "30-isolate-namespace.yaml"), []Flow{
			allow("default/busybox1", "default/busybox2", "80/TCP", "namespace default carries nsname=default"),
			deny("default/busybox1", "yaobank/customer", "80/TCP", "yaobank is not nsname=default"),
			deny("yaobank/customer", "default/busybox1", "80/TCP"),
			deny("default/busybox1", "kube-system/coredns", "53/UDP", "DNS is cut too"),
			deny(host1, "default/busybox1", "80/TCP", "only pods of nsname=default namespaces"),
		}},
		{"basics/40-db-connection", withTopology(dir, "40-db-connection.yaml"), []Flow{
			allow("default/web", "default/mysql", "3360/TCP", "peer 3: role=frontend in default"),
			deny("default/web", "default/mysql", "3306/TCP", "the manifest opens 3360; the text's 3306 is not opened"),
			allow("allowedns/client", "default/mysql", "3360/TCP", "peer 2: namespace labelled nsname=allowedns"),
			allow(host2, "default/mysql", "3360/TCP", "peer 1: in the ipBlock (198.19.15.0/24 for 172.17.0.0/16)"),
			deny(host1, "default/mysql", "3360/TCP", "the ipBlock's exception (198.19.15.254/32 for 172.17.1.0/24)"),
			deny("default/busybox1", "default/mysql", "3360/TCP", "no peer matches"),
			deny("staging/frontend", "default/mysql", "3360/TCP", "role=frontend but in staging: a podSelector alone means the policy's namespace (docs/api.md §6.3)"),
			allow("default/mysql", host1, "8000/TCP", "egress to the ipBlock (198.19.15.252/30 for 10.0.0.0/24) on TCP 8000"),
			deny("default/mysql", host1, "80/TCP", "only TCP 8000"),
			deny("default/mysql", "kube-system/coredns", "53/UDP", "no DNS in the egress rules"),
			allow("default/web", "default/busybox1", "80/TCP", "only role=db is selected"),
		}},
	}
}

// "Demo time": busybox1 and busybox2 with deny-all, then allow-out-to-in.
func seed004Busybox() []Step {
	const dir = "seed004/80-busybox"
	return []Step{
		{"busybox/10-deny-all", withTopology(dir, "10-deny-all.yaml"), []Flow{
			deny("default/busybox2", "default/busybox1", "0/ICMP", "seed: 100% packet loss"),
			deny("default/busybox1", "default/busybox2", "0/ICMP"),
		}},
		{"busybox/30-allow-out-to-in", withTopology(dir, "10-deny-all.yaml", "20-pod-labels.yaml", "30-allow-out-to-in.yaml"), []Flow{
			allow("default/busybox2", "default/busybox1", "0/ICMP", "seed: busybox2 (test=out) pings busybox1 (test=in)"),
			deny("default/busybox1", "default/busybox2", "0/ICMP", "busybox1 may only send to test=in; busybox2 accepts only test=out"),
			allow("default/busybox2", "default/busybox1", "80/TCP", "no ports listed: every port and protocol"),
			deny("default/busybox2", "yaobank/customer", "80/TCP", "egress only to test=in pods of default"),
			deny("default/busybox2", "kube-system/coredns", "53/UDP", "egress only to test=in pods of default"),
		}},
	}
}

// "A more realistic example": the staging truth table.
func seed004Staging() []Step {
	return []Step{
		{"staging/10-staging-policies", withTopology("seed004/90-staging", "10-staging-policies.yaml"), []Flow{
			allow("staging/curl", "staging/frontend", "80/TCP", "seed: frontend is reachable from any pod of staging"),
			deny("staging/curl", "staging/backend", "80/TCP", "seed: curl to backend times out"),
			deny("staging/curl", "staging/db", "5432/TCP"),
			allow("staging/frontend", "staging/backend", "80/TCP", "backend accepts frontend"),
			deny("staging/frontend", "staging/db", "5432/TCP", "db accepts backend only"),
			allow("staging/backend", "staging/db", "5432/TCP", "db accepts backend"),
			allow("staging/backend", "staging/frontend", "80/TCP", "frontend accepts any pod of staging"),
			deny("staging/db", "staging/backend", "80/TCP"),
			allow("admin/curl", "staging/backend", "80/TCP", "seed: backend is reachable from the admin namespace"),
			allow("admin/curl", "staging/frontend", "80/TCP", "admin is role=admin"),
			allow("admin/pclient", "staging/db", "5432/TCP", "seed: pclient lists the databases"),
			deny("admin/curl", "staging/db", "80/TCP", "db accepts TCP 5432 only"),
			deny("admin/curl", "staging/backend", "5432/TCP", "backend accepts TCP 80 only"),
			deny("default/busybox1", "staging/frontend", "80/TCP", "neither staging nor admin"),
			deny(host1, "staging/frontend", "80/TCP", "neither staging nor admin"),
			allow("staging/db", host1, "443/TCP", "the policies are Ingress only"),
		}},
	}
}
