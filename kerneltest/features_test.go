package kerneltest

import "testing"

// TestBaselineNoPolicy: with no host endpoint and no policy, nothing is
// policed on host interfaces (§1.1 item 3) and pods get their namespace
// profile, which allows everything (§7.6).
func TestBaselineNoPolicy(t *testing.T) {
	c := newCluster(t)
	c.apply(t, "")
	c.check(t, both(
		allow("ext", "node", "80/TCP", "§1.1: no HEP, not policed"),
		allow("ext", "node", "53/UDP", "§1.1"),
		allow("ext", "node", "0/ICMP", "§1.1"),
		allow("node", "ext", "80/TCP", "§1.1"),
		allow("node", "lo", "80/TCP", "§1.1"),
		allow("ext", "app/web", "80/TCP", "§7.6: kns profile"),
		allow("other/client", "app/db", "5432/TCP", "§7.6"),
		allow("app/web", "ext", "443/TCP", "§7.6"),
		allow("app/web", "ext", "5353/UDP", "§7.6"),
		allow("app/db", "app/web", "0/ICMP", "§7.6"),
		allow("node", "app/web", "8080/TCP", "§4 path 8"),
		allow("ext", "node", "30080/TCP", "NodePort DNAT to app/web:80, nothing polices it"),
		deny("app/web", "node", "80/TCP", "§10: DefaultEndpointToHostAction defaults to Drop"),
	)...)
}

const namedHEP = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {role: node}}
spec: {node: node1, interfaceName: eth0, expectedIPs: [198.19.0.2, "fd00:19::2"]}
`

// TestNamedHostEndpointFailsafes: a named HEP with no profile and no policy
// is a default deny for local traffic on its interface, with the failsafe
// ports open (§6 item 1, §5, §13 item 1).
func TestNamedHostEndpointFailsafes(t *testing.T) {
	c := newCluster(t)
	c.apply(t, namedHEP)
	c.check(t, both(
		allow("ext", "node", "22/TCP", "§5.1: tcp:22 is an inbound failsafe"),
		deny("ext", "node", "21/TCP", "§6 item 1: no policy, no profile"),
		deny("ext", "node", "80/TCP", "§6 item 1"),
		allow("ext", "node", "68/UDP", "§5.1: udp:68 inbound failsafe"),
		deny("ext", "node", "5353/UDP", "§6 item 1"),
		deny("ext", "node", "0/ICMP", "§13 item 1: ICMP is not failsafe"),
		allow("node", "ext", "53/UDP", "§5.1: udp:53 outbound failsafe"),
		allow("node", "ext", "179/TCP", "§5.1: tcp:179 outbound failsafe"),
		deny("node", "ext", "80/TCP", "§6 item 1: egress default deny"),
		allow("node", "lo", "80/TCP", "§4 path 9: a named HEP on eth0 does not police lo"),
		allow("node", "node", "80/TCP", "host to its own address goes over lo"),
		allow("ext", "app/web", "80/TCP", "§6 item 3: forwarded, no AOF policy"),
		allow("app/web", "ext", "443/TCP", "§6 item 3"),
		allow("ext", "node", "30080/TCP", "§13 item 7: NodePort traffic is forwarded"),
	)...)

	c.apply(t, namedHEP+`
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: http-from-ext}
spec:
  selector: role == 'node'
  ingress:
  - {action: Allow, protocol: TCP, source: {nets: [198.19.0.254/32]}, destination: {ports: [80]}}
  - {action: Allow, protocol: TCP, source: {nets: ["fd00:19::fe/128"]}, destination: {ports: [80]}}
`)
	c.check(t, both(
		allow("ext", "node", "80/TCP", "§7.4: rule 1 or 2 allows"),
		deny("ext2", "node", "80/TCP", "§3.1 step 6c: end of tier"),
		deny("ext", "node", "21/TCP", "§3.1 step 6c"),
		allow("ext2", "node", "22/TCP", "§5.4: failsafe before any tier"),
		deny("node", "ext", "80/TCP", "§6 item 1: still no egress allowance"),
	)...)
}

const wildcardHEP = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-all, labels: {role: node}}
spec: {node: node1, interfaceName: "*", expectedIPs: [198.19.0.2, "fd00:19::2"]}
`

// TestWildcardHostEndpoint: a "*" HEP covers every host interface,
// including lo (§6, §13 item 3), but its normal policy never touches pod
// traffic (§3.2).
func TestWildcardHostEndpoint(t *testing.T) {
	c := newCluster(t)
	c.apply(t, wildcardHEP)
	c.check(t, both(
		deny("node", "lo", "80/TCP", "§13 item 3: wildcard HEPs police lo"),
		allow("node", "lo", "179/TCP", "§5.1: 179 is failsafe both ways"),
		deny("node", "lo", "22/TCP", "§5.1: 22 is not an outbound failsafe"),
		deny("node", "node", "80/TCP", "§4 path 9"),
		allow("ext", "node", "22/TCP", "§5.4: failsafes apply to wildcard HEPs"),
		deny("ext", "node", "80/TCP", "§6 item 1"),
		deny("node", "ext", "443/TCP", "§6 item 1"),
		allow("app/web", "app/db", "5432/TCP", "§6 item 3: no AOF policy, forward allowed"),
		allow("app/web", "ext", "443/TCP", "§6 item 3"),
		allow("ext", "app/web", "80/TCP", "§6 item 3"),
		allow("node", "app/web", "80/TCP", "§4 path 8"),
	)...)

	c.apply(t, wildcardHEP+`
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: loopback}
spec:
  selector: role == 'node'
  ingress:
  - {action: Allow, source: {nets: [127.0.0.0/8]}}
  - {action: Allow, source: {nets: ["::1/128"]}}
  egress:
  - {action: Allow, destination: {nets: [127.0.0.0/8]}}
  - {action: Allow, destination: {nets: ["::1/128"]}}
`)
	c.check(t, both(
		allow("node", "lo", "80/TCP", "DOC kubernetes-nodes: allow 127.0.0.0/8"),
		allow("node", "lo", "5353/UDP", "same"),
		deny("node", "node", "80/TCP", "§12.1: host-to-own-nodeIP over lo has source nodeIP"),
		deny("ext", "node", "80/TCP", "end of tier"),
	)...)
}

// TestPreDNATNodePort: preDNAT policy sees the NodePort before kube-proxy's
// DNAT (§12), has no default deny (§12 item 6), and an Allow skips the
// HEP's normal ingress but not the pod's policy (decision 5).
func TestPreDNATNodePort(t *testing.T) {
	c := newCluster(t)
	hep := `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {role: node}}
spec: {node: node1, interfaceName: eth0, expectedIPs: [198.19.0.2, "fd00:19::2"], profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: nodeport}
spec:
  order: 100
  selector: role == 'node'
  applyOnForward: true
  preDNAT: true
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [30080]}, source: {nets: [198.19.0.254/32]}}
  - {action: Allow, protocol: TCP, destination: {ports: [30080]}, source: {nets: ["fd00:19::fe/128"]}}
  - {action: Deny, protocol: TCP, destination: {ports: ["30000:32767"]}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-deny-80}
spec:
  order: 200
  selector: role == 'node'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [80]}}, {action: Allow}]
`
	c.apply(t, hep)
	c.check(t, both(
		allow("ext", "node", "30080/TCP", "§12.1 row 1: preDNAT allow, DNAT to app/web:80"),
		deny("ext2", "node", "30080/TCP", "§12.1 row 2: the range deny"),
		deny("ext2", "node", "80/TCP", "preDNAT: no match, normal policy denies 80"),
		allow("ext2", "node", "8080/TCP", "§12 item 6: no default deny in preDNAT"),
		allow("ext2", "node", "22/TCP", "§12 item 7: failsafe"),
		allow("ext2", "app/web", "80/TCP", "§13 item 8: preDNAT sees the real port"),
	)...)

	// The pod's own ingress policy still applies after a preDNAT allow.
	c.apply(t, hep+`
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-client-only, namespace: app}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, source: {selector: app == 'client', namespaceSelector: all()}}]
`)
	c.check(t, both(
		deny("ext", "node", "30080/TCP", "decision 5: pod ingress policy still applies"),
		allow("other/client", "app/web", "80/TCP", "allowed by web-client-only"),
	)...)
}

// TestApplyOnForward: AOF policy governs forwarded traffic on the HEP it
// selects, per direction (§9.1, decision 2); non-AOF policy does not
// (§13 item 7).
func TestApplyOnForward(t *testing.T) {
	c := newCluster(t)
	hep := `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {role: node}}
spec: {node: node1, interfaceName: eth0, expectedIPs: [198.19.0.2, "fd00:19::2"], profiles: [projectcalico-default-allow]}
`
	c.apply(t, hep+`
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: fwd-http}
spec:
  selector: role == 'node'
  applyOnForward: true
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
`)
	c.check(t, both(
		allow("ext", "app/web", "80/TCP", "§9.1: AOF ingress allows"),
		deny("ext", "app/web", "8080/TCP", "§9.1: end of tier"),
		deny("ext", "app/db", "0/ICMP", "§9.1: end of tier"),
		allow("app/web", "ext", "443/TCP", "decision 2: no AOF egress policy"),
		allow("ext", "node", "80/TCP", "§7.1: an AOF policy is normal policy too"),
		deny("ext", "node", "8080/TCP", "§7.1, end of tier"),
		allow("node", "ext", "8080/TCP", "egress: profile"),
		allow("app/web", "app/db", "5432/TCP", "pod to pod does not cross eth0"),
	)...)

	c.apply(t, hep+`
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: local-deny}
spec:
  selector: role == 'node'
  ingress: [{action: Deny}]
`)
	c.check(t, both(
		allow("ext", "app/web", "8080/TCP", "§13 item 7: normal policy does not touch forwarded traffic"),
		deny("ext", "node", "8080/TCP", "local traffic is denied"),
		allow("ext", "node", "22/TCP", "failsafe"),
	)...)
}
