package agent

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
)

// Addresses of the route-binding test's extra pods: db sits behind a veth
// named against the convention, stray behind a cali veth of no endpoint.
const (
	bindDBA    = "198.18.1.20"
	bindStrayA = "198.18.1.30"
	bindDBVeth = "vethroute0"
	bindStray  = "caliunbound0"
)

func bindManifests() string {
	return e2eManifests(80) + fmt.Sprintf(`
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: n1-k8s-db-eth0, namespace: app, labels: {app: db}}
spec:
  orchestrator: k8s
  node: n1
  pod: db
  endpoint: eth0
  interfaceName: %s
  ipNetworks: [%s/32]
  profiles: [kns.app]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db-web-only, namespace: app}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [80]}}
`, policy.PodInterfaceName("app", "db"), bindDBA)
}

// addPod makes a namespace behind a veth of the node named hostName, with
// a host route to its address and a default route back.
func (e *e2e) addPod(t *testing.T, name, hostName, addr string) *netlab.NS {
	t.Helper()
	ns, err := e.lab.NewNS(name)
	must(t, err)
	pod := netlab.End{NS: ns, Name: "eth0", Addrs: prefixes(addr + "/32")}
	host := netlab.End{NS: e.node, Name: hostName}
	must(t, e.lab.Veth(host, pod))
	must(t, netlab.HostRoutes(host, pod))
	must(t, netlab.Gateway(pod, host, netip.MustParseAddr(e2eGW)))
	must(t, ns.ServeTCP(80, 8080))
	return ns
}

// TestAgentBindsByRoute: a workload endpoint whose conventional interface
// does not exist is bound to the veth its address routes to, and its
// policy is enforced there (ingress, egress and to the host); an interface
// that looks like a workload's but has no endpoint drops everything; the
// agent reports both in its Node, and `dataplane show` prints them.
func TestAgentBindsByRoute(t *testing.T) {
	e := newE2E(t)
	db := e.addPod(t, "db", bindDBVeth, bindDBA)
	stray := e.addPod(t, "stray", bindStray, bindStrayA)
	e.apply(t, bindManifests())
	e.startAgent(t)
	e.ready(t, 30*time.Second)

	eventually(t, 10*time.Second, func() error {
		out, err := e.cli("get", "node", e2eNode, "-o", "yaml")
		if err != nil {
			return err
		}
		for _, want := range []string{`"app/db":"` + bindDBVeth + `"`, `"unbound":["` + bindStray + `"]`} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("the Node's palisade.io/interfaces annotation lacks %s:\n%s", want, out)
			}
		}
		if strings.Contains(out, "name: "+bindDBVeth) {
			return fmt.Errorf("the bound veth is listed as a host interface:\n%s", out)
		}
		return nil
	})
	expect(t,
		check{e.ext, bindDBA, 80, true, "db's policy allows 80 on the route-bound veth"},
		check{e.ext, bindDBA, 8080, false, "db's policy denies 8080 on the route-bound veth"},
		check{db, e2eExtA, 80, true, "db's egress: no egress policy, the namespace profile allows"},
		check{db, e2eNodeA, 80, false, "db to its host: DefaultEndpointToHostAction Drop"},
		check{e.ext, e2ePodA, 80, true, "web, bound by the convention, as before"},
		check{e.ext, bindStrayA, 80, false, "an interface named as a workload's without an endpoint"},
		check{stray, e2eExtA, 80, false, "nothing leaves an unbound workload interface"},
	)
	out, err := e.cli("dataplane", "show", "--node", e2eNode)
	must(t, err)
	for _, want := range []string{
		"# workload app/db: bound by route lookup to interface " + bindDBVeth,
		"# interface " + bindStray + ": no workload endpoint (its traffic is dropped)",
		`iifname "` + bindDBVeth + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dataplane show lacks %q", want)
		}
	}
	out, err = e.cli("explain", "--from", e2eExtA, "--to", bindDBA, "--port", "8080/TCP")
	if err != nil || !strings.Contains(out, "interface "+bindDBVeth) {
		t.Errorf("explain does not judge db on its bound interface: %v\n%s", err, out)
	}

	// The convention's interface appears: it wins, the binding goes.
	conv := policy.PodInterfaceName("app", "db")
	for _, args := range [][]string{{"link", "set", bindDBVeth, "down"}, {"link", "set", bindDBVeth, "name", conv},
		{"link", "set", conv, "up"}} {
		if out, err := e.node.Run(t.Context(), nil, "ip", args...); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Down dropped the host route; the pod's side is as it was.
	must(t, netlab.HostRoutes(netlab.End{NS: e.node, Name: conv}, netlab.End{NS: db, Name: "eth0", Addrs: prefixes(bindDBA + "/32")}))
	eventually(t, 10*time.Second, func() error {
		out, err := e.cli("get", "node", e2eNode, "-o", "yaml")
		if err == nil && strings.Contains(out, `"app/db"`) {
			err = fmt.Errorf("the binding by route stayed after the conventional interface appeared:\n%s", out)
		}
		return err
	})
	// The Node is written before the next transaction commits: wait for
	// the kernel too.
	eventually(t, 5*time.Second, func() error { return probe(e.ext, bindDBA, 80, 300*time.Millisecond) })
	expect(t, check{e.ext, bindDBA, 8080, false, "db's policy, still"})
}
