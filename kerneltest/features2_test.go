package kerneltest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
)

const allowHEP = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {role: node}}
spec: {node: node1, interfaceName: eth0, expectedIPs: [198.19.0.2, "fd00:19::2"], profiles: [projectcalico-default-allow]}
`

const (
	untrackedSymmetric = `
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked}
spec:
  selector: role == 'node'
  applyOnForward: true
  doNotTrack: true
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [80]}}
  - {action: Allow, protocol: UDP, destination: {ports: [5353]}}
  - {action: Deny, source: {nets: [198.19.0.253/32]}}
  - {action: Deny, source: {nets: ["fd00:19::fd/128"]}}
  egress:
  - {action: Allow, protocol: TCP, source: {ports: [80]}}
  - {action: Allow, protocol: UDP, source: {ports: [5353]}}
`
	untrackedOneWay = `
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked}
spec:
  selector: role == 'node'
  applyOnForward: true
  doNotTrack: true
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [80]}}
  - {action: Allow, protocol: UDP, destination: {ports: [5353]}}
`
	untrackedEgress = `
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked-egress}
spec:
  selector: role == 'node'
  applyOnForward: true
  doNotTrack: true
  egress: [{action: Allow}]
`
)

// TestDoNotTrack: untracked policy is stateless, so a local server needs an
// ingress allow and a matching egress allow (§9.2); one way fails for TCP.
// Untracked Deny cannot beat a failsafe (§5.4).
func TestDoNotTrack(t *testing.T) {
	c := newCluster(t)
	c.apply(t, allowHEP+untrackedSymmetric)
	c.check(t, both(
		allow("ext", "node", "80/TCP", "§9.2: symmetric untracked rules"),
		allow("ext", "node", "5353/UDP", "§9.2"),
		allow("ext", "node", "8080/TCP", "§9.2: no match, tracked, profile allows"),
		deny("ext2", "node", "8080/TCP", "§9.2: untracked deny"),
		allow("ext2", "node", "22/TCP", "§5.4: failsafe beats untracked deny"),
	)...)

	c.apply(t, allowHEP+untrackedOneWay)
	c.check(t, both(
		deny("ext", "node", "80/TCP", "§9.2: the SYN-ACK has no conntrack entry: invalid, dropped"),
		allow("ext", "node", "5353/UDP", "§9.2: a UDP reply is a new tracked flow, the profile allows it"),
		allow("ext", "node", "8080/TCP", "tracked as usual"),
	)...)

	// An untracked egress allow also matches replies of tracked
	// connections: the SYN-ACK is NOTRACKed, conntrack never sees it, and
	// the client's ACK is invalid, so TCP breaks; UDP and ICMP survive.
	c.apply(t, allowHEP+untrackedEgress)
	c.check(t, both(
		deny("ext", "node", "80/TCP", "§9.2: an untracked allow of a tracked reply can break the flow"),
		allow("ext", "node", "5353/UDP", "§9.2: request tracked, reply untracked, nothing else needed"),
		allow("ext", "node", "0/ICMP", "same"),
	)...)
}

// TestPodIngressEgress: Kubernetes and Calico namespaced policy on pods
// (§7), host to pod always allowed (§13 item 6).
func TestPodIngressEgress(t *testing.T) {
	c := newCluster(t)
	c.apply(t, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: client}}}]
    ports: [{port: 80}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: client-egress, namespace: other}
spec:
  selector: app == 'client'
  types: [Egress]
  egress:
  - {action: Allow, protocol: TCP, destination: {selector: app == 'web', namespaceSelector: team == 'a', ports: [80, 8080]}}
  - {action: Allow, protocol: UDP, destination: {ports: [53]}}
`)
	c.check(t, both(
		allow("other/client", "app/web", "80/TCP", "both policies allow"),
		deny("other/client", "app/web", "8080/TCP", "web's ingress allows 80 only"),
		deny("other/client", "app/db", "5432/TCP", "client's egress"),
		allow("other/client", "ext", "53/UDP", "client's egress rule 2"),
		deny("other/client", "ext", "443/TCP", "client's egress: end of tier"),
		deny("other/client", "app/web", "0/ICMP", "client's egress"),
		deny("ext", "app/web", "80/TCP", "web's ingress"),
		allow("ext", "app/db", "5432/TCP", "no policy on db"),
		deny("app/db", "app/web", "80/TCP", "web's ingress"),
		allow("app/web", "ext", "443/TCP", "web's policy is ingress only"),
		allow("node", "app/web", "8080/TCP", "§13 item 6: host to own pods"),
		deny("ext", "node", "30080/TCP", "NodePort to web: web's ingress denies"),
	)...)
}

// TestEndpointToHostAction: pod to own host is decided by the pod's egress
// policy and DefaultEndpointToHostAction, never by HEP normal policy
// (§10, §13 item 5). Return gives no verdict; with no other rules in the
// node, the packet is accepted.
func TestEndpointToHostAction(t *testing.T) {
	c := newCluster(t)
	for _, action := range []string{"Drop", "Accept", "Return"} {
		t.Run(action, func(t *testing.T) {
			c.apply(t, wildcardHEP+fmt.Sprintf(`
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {defaultEndpointToHostAction: %s}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: client-dns-only, namespace: other}
spec:
  selector: app == 'client'
  types: [Egress]
  egress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]
`, action))
			ok := action != "Drop"
			why := "§10: " + action
			c.check(t, both(
				flow{from: "app/web", to: "node", port: "80/TCP", fam: 4, want: ok, why: why},
				flow{from: "app/db", to: "node", port: "5353/UDP", fam: 4, want: ok, why: why},
				flow{from: "app/web", to: "node", port: "0/ICMP", fam: 4, want: ok, why: why},
				flow{from: "other/client", to: "node", port: "53/UDP", fam: 4, want: ok, why: why},
				deny("other/client", "node", "80/TCP", "§10: the pod's egress policy runs first"),
				deny("ext", "node", "80/TCP", "the wildcard HEP still denies others"),
				allow("node", "app/web", "80/TCP", "§4 path 8"),
			)...)
		})
	}
}

// TestEstablishedSurvivesPolicyChange: policy changes do not cut
// established flows (§11, §13 item 15); new connections get the new policy.
func TestEstablishedSurvivesPolicyChange(t *testing.T) {
	c := newCluster(t)
	c.apply(t, allowHEP)
	type conn struct {
		f flow
		c net.Conn
	}
	var open []conn
	for _, f := range both(allow("ext", "node", "80/TCP"), allow("other/client", "app/web", "80/TCP")) {
		o := c.judge(context.Background(), f, time.Second)
		if o.err != nil || !o.evalAllowed() {
			t.Fatalf("%s: %v %v", f, o.err, o.verdict)
		}
		ns, err := c.sourceNS(o.pf.Src)
		must(t, err)
		nc, err := ns.DialTCP(context.Background(), netip.AddrPortFrom(o.probe.Src, 0),
			netip.AddrPortFrom(o.probe.Dst, o.probe.DstPort), time.Second)
		must(t, err)
		t.Cleanup(func() { nc.Close() })
		must(t, netlab.Exchange(nc, 'a', time.Second))
		f.srcPort = uint16(nc.LocalAddr().(*net.TCPAddr).Port)
		open = append(open, conn{f: f, c: nc})
	}
	c.apply(t, allowHEP+`
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all-in}
spec:
  selector: role == 'node' || app == 'web'
  types: [Ingress]
`)
	for _, oc := range open {
		pf, err := c.policyFlow(&oc.f)
		must(t, err)
		pf.Established = true
		v, err := c.model.Evaluate(pf)
		must(t, err)
		kerr := netlab.Exchange(oc.c, 'b', 2*time.Second)
		if (kerr == nil) != v.Allowed() || kerr != nil {
			t.Errorf("established %s after the deny: kernel %s, evaluator %s (want allow, §11)",
				oc.f, word(kerr == nil, kerr), v.Verdict)
		}
	}
	c.check(t, both(
		deny("ext", "node", "80/TCP", "a new connection meets the new policy"),
		deny("other/client", "app/web", "80/TCP", "same"),
		allow("ext", "node", "22/TCP", "failsafe"),
	)...)
}

// TestIPv6Families: a HEP polices both families (§1.2 item 7); a rule whose
// nets are all of one family is not rendered for the other (errata §8.3),
// so an IPv4-only Deny does not deny IPv6 (§13 item 13); ICMP rules are
// IPv4 only and ICMPv6 rules IPv6 only.
func TestIPv6Families(t *testing.T) {
	c := newCluster(t)
	c.apply(t, namedHEP+`
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: v6-mostly}
spec:
  selector: role == 'node'
  ingress:
  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.0/24]}, destination: {ports: [8080]}}
  - {action: Allow, protocol: TCP, destination: {ports: [8080]}}
  - {action: Allow, protocol: TCP, source: {nets: ["fd00:19::/64"]}, destination: {ports: [80]}}
  - {action: Allow, protocol: ICMPv6}
  - {action: Allow, protocol: UDP, source: {notNets: [198.19.0.253/32]}, destination: {ports: [5353]}}
  egress:
  - {action: Allow}
`)
	c.check(t,
		allow("ext", "node", "80/TCP", "v6 nets").v6(),
		deny("ext", "node", "80/TCP", "the rule has IPv6 nets only"),
		allow("ext", "node", "8080/TCP", "the IPv4-only deny does not apply to IPv6").v6(),
		deny("ext", "node", "8080/TCP", "IPv4 deny"),
		allow("ext", "node", "0/ICMP", "ICMPv6 allowed").v6(),
		deny("ext", "node", "0/ICMP", "no ICMP (v4) allow"),
		allow("ext", "node", "5353/UDP", "not in notNets"),
		deny("ext2", "node", "5353/UDP", "in notNets"),
		deny("ext2", "node", "5353/UDP", "errata §8.3: an IPv4-only notNets rule matches no IPv6").v6(),
		allow("node", "ext", "443/TCP", "egress allow").v6(),
	)
}

func (f flow) v6() flow { f.fam = 6; return f }
