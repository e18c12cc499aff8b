package lint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
)

const cluster = `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: default}
spec: {order: 1000000}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: empty}
spec: {order: 10}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {failsafeInboundHostPorts: []}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {interfaces: [{name: eth0, addresses: [198.19.0.2]}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: node-https}
spec:
  selector: role == 'node'
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [443]}}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  selector: app == 'web'
  ingress:
  - {action: Allow, protocol: TCP, source: {nets: [198.18.0.0/16]}, destination: {ports: ["80:90"]}}
  - {action: Allow, protocol: TCP, source: {nets: [198.18.1.0/24]}, destination: {ports: [85]}}
  - {action: Deny, protocol: UDP, destination: {ports: [85]}}
  - {action: Allow, protocol: TCP, destination: {ports: [metrics]}}
  - {action: Pass, source: {selector: team == 'blue'}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: nothing}
spec: {selector: app == 'db', ingress: [{action: Allow}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ingress-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]
`

func TestCheck(t *testing.T) {
	docs, errs := api.Decode("cluster.yaml", []byte(cluster))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var objs []api.Object
	for _, d := range docs {
		objs = append(objs, d.Object)
	}
	m, err := policy.NewModel(objs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Check(m, objs) {
		got = append(got, f.String())
	}
	want := []string{
		"error: HostEndpoint(n1-eth0): has ingress policy, node n1's inbound failsafes are off and no policy allows TCP 22: " +
			"this can cut off SSH to the node (restore failsafeInboundHostPorts or allow 22)",
		"warning: GlobalNetworkPolicy(nothing): selects no endpoint (selector app == \"db\")",
		"warning: NetworkPolicy(shop/ingress-only): has 1 egress rule(s) that its types ignore (they are never evaluated)",
		"warning: NetworkPolicy(shop/web) ingress rule 1: never reached: ingress rule 0 (Allow) matches every packet it does",
		"warning: NetworkPolicy(shop/web) ingress rule 3: names port \"metrics\", which no endpoint defines (the rule matches no port)",
		"warning: NetworkPolicy(shop/web) ingress rule 4: Pass in the last tier: the packet goes straight to the endpoint's profiles",
		"warning: NetworkPolicy(shop/web) ingress rule 4: selects on label \"team\", which no endpoint, network set or namespace has",
		"warning: Tier(empty): holds no policy",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, g := range got {
		if strings.Contains(g, "ingress rule 2") {
			t.Errorf("the UDP rule is not shadowed by the TCP ones: %s", g)
		}
	}
}
