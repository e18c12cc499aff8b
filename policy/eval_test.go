package policy_test

import "testing"

const autoHEPs = `
apiVersion: projectcalico.org/v3
kind: KubeControllersConfiguration
metadata: {name: default}
spec: {controllers: {node: {hostEndpoint: {autoCreate: Enabled}}}}`

const namedHEPNoProfile = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-a-eth0, labels: {hep: eth0}}
spec: {node: node-a, interfaceName: eth0, expectedIPs: [198.19.0.1]}`

func TestNoPolicyEverythingAllowed(t *testing.T) {
	m := model(t, topology)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "node:node-a", "21/TCP", "allow", false, false},
		{"app/web", "app/db", "5432/TCP", "allow", false, false},
		{"other/client", "app/web", "8080/TCP", "allow", false, false},
		// §10: pod to its own host is dropped by default (DefaultEndpointToHostAction Drop).
		{"app/web", "node:node-a", "22/TCP", "deny", false, false},
		{"app/web", "node:node-b", "22/TCP", "allow", false, false},
		{"node:node-a", "app/web", "8080/TCP", "allow", false, false},
	})
}

// §6 item 1 and §5: a named HEP with no policy and no profile denies local
// traffic except failsafes; forwarded traffic is not touched (§6 item 3).
func TestNamedHostEndpointDefaultDenyAndFailsafes(t *testing.T) {
	m := model(t, topology, namedHEPNoProfile)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "node:node-a", "21/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "22/TCP", "allow", false, false},
		{"198.19.15.254", "node:node-a", "68/UDP", "allow", false, false},
		{"198.19.15.254", "node:node-a", "2379/TCP", "allow", false, false},
		{"198.19.15.254", "node:node-a", "22/UDP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "8/ICMP", "deny", false, false},
		// Outbound: the host's own egress is denied except outbound failsafes.
		{"node:node-a", "198.19.15.254", "443/TCP", "deny", false, false},
		{"node:node-a", "198.19.15.254", "53/UDP", "allow", false, false},
		// Forwarded to a pod: no AOF policy, so allowed; the pod's policy decides.
		{"198.19.15.254", "app/web", "8080/TCP", "allow", false, false},
		// A named HEP on eth0 does not police lo (§4 path 9).
		{"node:node-a", "127.0.0.1", "21/TCP", "allow", false, false},
		// node-b has no HEP, so node-a's egress to it is denied by node-a's HEP.
		{"node:node-a", "node:node-b", "21/TCP", "deny", false, false},
		{"node:node-b", "node:node-a", "21/TCP", "deny", false, false},
		{"node:node-b", "node:node-a", "22/TCP", "allow", false, false},
		// Established traffic passes the conntrack rule (§11).
		{"198.19.15.254", "node:node-a", "21/TCP", "allow", true, false},
	})
}

// Seed 000 / §12.1: auto HEPs carry projectcalico-default-allow until a
// policy selects them; the default-node-policy then denies at end of tier.
func TestAutoHostEndpointsAndNodePolicy(t *testing.T) {
	nodePolicy := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: default-node-policy}
spec:
  selector: has(kubernetes.io/hostname)
  ingress:
  - {action: Allow, protocol: TCP, source: {nets: [127.0.0.1/32]}}
  - {action: Allow, protocol: UDP, source: {nets: [127.0.0.1/32]}}`
	before := model(t, topology, autoHEPs)
	checkFlows(t, before, []flowCase{
		{"198.19.15.254", "node:node-a", "21/TCP", "allow", false, false},
		{"node:node-a", "198.19.15.254", "443/TCP", "allow", false, false},
	})
	m := model(t, topology, autoHEPs, nodePolicy)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "node:node-a", "21/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "22/TCP", "allow", false, false},
		{"198.19.15.254", "node:node-a", "2379/TCP", "allow", false, false},
		{"198.19.15.254", "node:node-a", "6443/TCP", "allow", false, false},
		{"198.19.15.254", "node:node-a", "10250/TCP", "deny", false, false},
		// Egress stays allowed by the profile: no policy selects it for egress.
		{"node:node-a", "198.19.15.254", "443/TCP", "allow", false, false},
		// Wildcard HEPs police lo: localhost allowed by rule 0, but
		// host-to-own-node-IP (source the node IP) is not (§12.1).
		{"node:node-a", "127.0.0.1", "21/TCP", "allow", false, false},
		{"node:node-a", "node:node-a", "21/TCP", "deny", false, false},
		// Forwarded NodePort traffic is not touched by this non-AOF policy.
		{"198.19.15.254", "198.19.0.1", "30080/TCP", "allow", false, false},
		// Pod to its own host: DefaultEndpointToHostAction, not HEP policy.
		{"app/web", "node:node-a", "21/TCP", "deny", false, false},
	})
}

// §12.1 worked example: preDNAT NodePort policy with auto HEPs.
func TestPreDNATNodePort(t *testing.T) {
	nodeport := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: nodeport-policy}
spec:
  order: 100
  selector: has(kubernetes.io/hostname)
  applyOnForward: true
  preDNAT: true
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [30080]}, source: {nets: [198.19.15.254/32]}}
  - {action: Deny,  protocol: TCP, destination: {ports: ["30000:32767"]}}
  - {action: Deny,  protocol: UDP, destination: {ports: ["30000:32767"]}}`
	m := model(t, topology, autoHEPs, nodeport)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "198.19.0.1", "30080/TCP", "allow", false, false},
		// Through node-b to the backend on node-a (masqueraded by kube-proxy).
		{"198.19.15.254", "198.19.0.2", "30080/TCP", "allow", false, false},
		{"198.19.15.253", "198.19.0.1", "30080/TCP", "deny", false, false},
		{"198.19.15.253", "198.19.0.1", "31000/UDP", "deny", false, false},
		{"198.19.15.254", "198.19.0.1", "30080/UDP", "deny", false, false},
		{"198.19.15.253", "198.19.0.1", "22/TCP", "allow", false, false},
		// No preDNAT match: normal ingress, no normal policy, profile allows.
		{"198.19.15.253", "node:node-a", "80/TCP", "allow", false, false},
		// Wildcard preDNAT covers pod veths: a pod to its node's NodePort.
		{"other/client", "198.19.0.1", "30080/TCP", "deny", false, false},
		// preDNAT sees the real port for pod-to-pod traffic in the range.
		{"other/client", "app/web", "30500/TCP", "deny", false, false},
		{"other/client", "app/web", "8080/TCP", "allow", false, false},
		// Established replies and packets are unaffected.
		{"198.19.15.253", "198.19.0.1", "30080/TCP", "allow", true, false},
	})
}

// §10: DefaultEndpointToHostAction Drop, Accept and Return.
func TestDefaultEndpointToHostAction(t *testing.T) {
	for _, tc := range []struct{ action, want string }{
		{"Drop", "deny"}, {"Accept", "allow"}, {"Return", "allow"}, {"accept", "allow"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			fc := `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {defaultEndpointToHostAction: ` + tc.action + `}`
			m := model(t, topology, fc)
			checkFlows(t, m, []flowCase{{"app/web", "node:node-a", "10250/TCP", tc.want, false, false}})
		})
	}
}

// §13 item 6: host to its own pods is never blocked, even by a deny-all.
func TestHostToOwnPodsNeverBlocked(t *testing.T) {
	deny := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec: {selector: all(), types: [Ingress, Egress]}`
	m := model(t, topology, deny)
	checkFlows(t, m, []flowCase{
		{"node:node-a", "app/web", "8080/TCP", "allow", false, false},
		{"node:node-b", "app/web", "8080/TCP", "deny", false, false},
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
	})
}

// §7.4 Pass: to the next tier, then profiles: allow for pods (kns), deny
// for a HEP without profiles (§13 item 12).
func TestPassAndTiers(t *testing.T) {
	tiers := `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.pass-web}
spec:
  tier: security
  selector: app == 'web' || has(hep)
  ingress: [{action: Pass, protocol: TCP, destination: {ports: [8080, 21]}}, {action: Deny}]`
	m := model(t, topology, namedHEPNoProfile, tiers)
	checkFlows(t, m, []flowCase{
		{"other/client", "app/web", "8080/TCP", "allow", false, false},
		{"other/client", "app/web", "9090/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "21/TCP", "deny", false, false},
	})
	// A later default-tier policy decides passed traffic.
	allow := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-ftp}
spec: {selector: has(hep), ingress: [{action: Allow, protocol: TCP, destination: {ports: [21]}}]}`
	m = model(t, topology, namedHEPNoProfile, tiers, allow)
	checkFlows(t, m, []flowCase{{"198.19.15.254", "node:node-a", "21/TCP", "allow", false, false}})
}

// §7.3: equal order ties break on "<name>/<namespace>/<kind>".
func TestOrderAndTieBreak(t *testing.T) {
	pols := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: b-allow}
spec: {order: 10, selector: app == 'web', ingress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a-deny}
spec: {order: 10, selector: app == 'web', ingress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: first}
spec: {order: 5, selector: app == 'web', ingress: [{action: Allow, protocol: UDP}]}`
	m := model(t, topology, pols)
	checkFlows(t, m, []flowCase{
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
		{"other/client", "app/web", "53/UDP", "allow", false, false},
	})
}

// §9.2: doNotTrack is stateless: replies need the symmetric rule.
func TestDoNotTrackNeedsSymmetricRules(t *testing.T) {
	oneWay := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked-in}
spec:
  selector: has(hep)
  doNotTrack: true
  applyOnForward: true
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8000]}}]
  egress: [{action: Allow, protocol: UDP, source: {ports: [53]}}]`
	back := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked-out}
spec:
  selector: has(hep)
  doNotTrack: true
  applyOnForward: true
  egress: [{action: Allow, protocol: TCP, source: {ports: [8000]}}]`
	hep := `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-a-eth0, labels: {hep: eth0}}
spec: {node: node-a, interfaceName: eth0, profiles: [projectcalico-default-allow]}`
	m := model(t, topology, hep, oneWay)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "node:node-a", "8000/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "8001/TCP", "allow", false, false},
	})
	m = model(t, topology, hep, oneWay, back)
	checkFlows(t, m, []flowCase{{"198.19.15.254", "node:node-a", "8000/TCP", "allow", false, false}})
}

// Errata §8.3: IPv4-only nets in a Deny rule do not deny IPv6; ICMP by
// name is IPv4 only.
func TestIPFamilies(t *testing.T) {
	pols := `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: deny-v4, namespace: app}
spec:
  selector: app == 'db'
  ingress:
  - {action: Deny, source: {notNets: [10.0.0.0/8]}}
  - {action: Allow}`
	m := model(t, topology, pols)
	checkFlows(t, m, []flowCase{
		{"app/web", "app/db", "5432/TCP", "deny", false, false},
		{"app/web", "app/db", "5432/TCP", "allow", false, true},
	})
}

// §8.4: named ports resolve through the destination endpoint's ports.
func TestNamedPorts(t *testing.T) {
	pol := `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-http, namespace: app}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [http]}}]`
	m := model(t, topology, pol)
	checkFlows(t, m, []flowCase{
		{"other/client", "app/web", "8080/TCP", "allow", false, false},
		{"other/client", "app/web", "80/TCP", "deny", false, false},
		{"other/client", "app/web", "8080/UDP", "deny", false, false},
	})
}

// §9.1: applyOnForward policy on a wildcard HEP reaches pod traffic, and
// forwarded traffic is allowed per direction when no AOF policy applies.
func TestApplyOnForwardWildcard(t *testing.T) {
	aof := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: aof}
spec:
  selector: has(kubernetes.io/hostname)
  applyOnForward: true
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080, 22]}}]`
	m := model(t, topology, autoHEPs, aof)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "app/web", "8080/TCP", "allow", false, false},
		{"198.19.15.254", "app/web", "9090/TCP", "deny", false, false},
		// Pod to pod on one node meets the wildcard's AOF ingress too.
		{"other/client", "app/web", "9090/TCP", "deny", false, false},
		// AOF policies also govern local traffic (§7.1).
		{"198.19.15.254", "node:node-a", "21/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "22/TCP", "allow", false, false},
	})
}

// §7.5 and errata: a Kubernetes egress-only policy keeps its egress
// enforcement (policyTypes defaulted by the API server).
func TestKubernetesNetworkPolicy(t *testing.T) {
	knp := `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out, namespace: other}
spec:
  podSelector: {}
  egress: [{to: [{namespaceSelector: {matchLabels: {team: blue}}}]}]`
	m := model(t, topology, knp)
	checkFlows(t, m, []flowCase{
		{"app/web", "app/db", "5432/TCP", "allow", false, false},
		{"app/web", "app/db", "5433/TCP", "deny", false, false},
		{"other/client", "app/db", "5432/TCP", "deny", false, false},
		{"other/client", "app/web", "8080/TCP", "allow", false, false},
		{"other/client", "198.19.15.254", "443/TCP", "deny", false, false},
	})
}

// §5.2: failsafes from FelixConfiguration; [] disables; a net limits the
// family (errata §5.2 item 3).
func TestFailsafeOverrides(t *testing.T) {
	fc := `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  failsafeInboundHostPorts: [{protocol: tcp, port: 22, net: 198.19.15.0/24}]
  failsafeOutboundHostPorts: []`
	m := model(t, topology, namedHEPNoProfile, fc)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "node:node-a", "22/TCP", "allow", false, false},
		{"198.19.14.1", "node:node-a", "22/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "2379/TCP", "deny", false, false},
		{"node:node-a", "198.19.15.254", "53/UDP", "deny", false, false},
	})
}

// §1.2 item 2: a HEP with no interfaceName binds to the interface holding
// one of its expectedIPs; item 4: of two HEPs on one interface the
// alphabetically smallest wins; item 5: the wildcard covers the rest.
func TestIPMatchedAndWildcardPrecedence(t *testing.T) {
	heps := `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: b-by-ip, labels: {which: ip}}
spec: {node: node-a, expectedIPs: [198.19.0.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: c-by-name, labels: {which: name}}
spec: {node: node-a, interfaceName: eth0, profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: z-all, labels: {which: all}}
spec: {node: node-a, interfaceName: "*", profiles: [projectcalico-default-allow]}`
	m := model(t, topology, heps)
	checkFlows(t, m, []flowCase{
		// b-by-ip wins on eth0 (smaller name) and has no profile: deny.
		{"198.19.15.254", "node:node-a", "21/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "22/TCP", "allow", false, false},
		// lo is covered by the wildcard, which allows.
		{"node:node-a", "127.0.0.1", "21/TCP", "allow", false, false},
	})
}

// A pod cannot block access to itself (Kubernetes NetworkPolicy docs): its
// traffic to its own address stays in its network namespace.
func TestPodToItselfNeverPoliced(t *testing.T) {
	deny := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec: {selector: all(), types: [Ingress, Egress]}`
	m := model(t, topology, deny)
	checkFlows(t, m, []flowCase{
		{"app/web", "198.18.1.1", "8080/TCP", "allow", false, false},
		{"app/web", "app/db", "8080/TCP", "deny", false, false},
	})
}

// §3.3 F-IN step 2: ICMPv6 router and neighbour discovery from a workload
// to its host passes before the workload's egress policy.
func TestWorkloadNeighbourDiscoveryToHost(t *testing.T) {
	deny := `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: no-egress, namespace: app}
spec: {selector: all(), types: [Egress]}`
	fc := `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {defaultEndpointToHostAction: Accept}`
	nodeV6 := `
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {kubernetes.io/hostname: node-a}}
status: {addresses: [{type: InternalIP, address: 198.19.0.1}, {type: InternalIP, address: "fd00::ff:1"}]}`
	m := model(t, topology, nodeV6, deny, fc)
	checkFlows(t, m, []flowCase{
		{"app/web", "node:node-a", "135/ICMPv6", "allow", false, true},
		{"app/web", "node:node-a", "128/ICMPv6", "deny", false, true},
	})
}

// §9.2: an untracked allow NOTRACKs a packet, so later stages see no
// conntrack state: the reply of a tracked connection that an untracked
// rule allows is judged afresh by the pod's policy (decision 6).
func TestUntrackedAllowOnReplyLosesConntrack(t *testing.T) {
	objs := `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-in, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-a-eth0, labels: {hep: eth0}}
spec: {node: node-a, interfaceName: eth0, profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked-from-peer}
spec:
  selector: has(hep)
  doNotTrack: true
  applyOnForward: true
  ingress: [{action: Allow, source: {nets: [198.19.15.7/32]}}]`
	m := model(t, topology, objs)
	checkFlows(t, m, []flowCase{
		{"app/web", "198.19.15.7", "80/TCP", "deny", false, false},
		{"app/web", "198.19.15.8", "80/TCP", "allow", false, false},
	})
}

// §9.2: an untracked allow that matches only the reply of a tracked TCP
// connection breaks it (conntrack never sees the SYN-ACK, so the client's
// ACK is invalid), unless the invalid check is off; UDP survives.
func TestUntrackedReplyBreaksTrackedTCP(t *testing.T) {
	objs := `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-a-eth0, labels: {hep: eth0}}
spec: {node: node-a, interfaceName: eth0, profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked-from-peer}
spec:
  selector: has(hep)
  doNotTrack: true
  applyOnForward: true
  ingress: [{action: Allow, source: {nets: [198.19.15.7/32]}}]`
	m := model(t, topology, objs)
	checkFlows(t, m, []flowCase{
		{"node:node-a", "198.19.15.7", "443/TCP", "deny", false, false},
		{"node:node-a", "198.19.15.7", "53/UDP", "allow", false, false},
		{"node:node-a", "198.19.15.8", "443/TCP", "allow", false, false},
	})
	off := `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {disableConntrackInvalidCheck: true}`
	m = model(t, topology, objs, off)
	checkFlows(t, m, []flowCase{{"node:node-a", "198.19.15.7", "443/TCP", "allow", false, false}})
}
