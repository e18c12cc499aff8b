package nft

import (
	"context"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
)

// smallModel is one node with a named host endpoint, a wildcard one, a pod
// and a policy of each stage kind: enough to use every base chain, map and
// set kind render produces.
const smallModel = `
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1, labels: {kubernetes.io/hostname: n1}}
spec:
  interfaces: [{name: eth0, addresses: [198.19.0.2, "fd00:19::2"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}, {ip: "fd00:18:1::10"}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [198.19.0.2]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-all, labels: {role: node}}
spec: {node: n1, interfaceName: "*", profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-in}
spec:
  selector: role == 'node'
  applyOnForward: true
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80, "8000:8100"]}, source: {nets: [198.19.0.0/24]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: prednat}
spec:
  selector: role == 'node'
  applyOnForward: true
  preDNAT: true
  ingress: [{action: Deny, protocol: TCP, destination: {ports: ["30000:32767"]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked}
spec:
  selector: role == 'node'
  applyOnForward: true
  doNotTrack: true
  ingress: [{action: Allow, protocol: UDP, destination: {ports: [5353]}}]
  egress: [{action: Allow, protocol: UDP, source: {ports: [5353]}}]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, source: {selector: role == 'node'}, destination: {ports: [http]}}]
  egress: [{action: Allow}]
`

func renderSmall(t testing.TB) *render.Ruleset {
	t.Helper()
	docs, errs := api.Decode("small.yaml", []byte(smallModel))
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
	rs, err := render.Node(m, "n1")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestKernelAppliesRenderedRuleset applies a real rendered ruleset, twice
// (the second apply replaces the first in place), and reads it back.
func TestKernelAppliesRenderedRuleset(t *testing.T) {
	k, _ := scratch(t)
	rs := renderSmall(t)
	ctx := context.Background()
	if err := k.Check(ctx, rs); err != nil {
		t.Fatalf("check: %v\n%s", err, rs.Text())
	}
	for i := 0; i < 2; i++ {
		if err := k.Apply(ctx, rs); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	got := show(t, k)
	st := rs.Stats()
	if n := strings.Count(got, "\tchain "); n != st.Chains {
		t.Errorf("kernel lists %d chains, the ruleset has %d", n, st.Chains)
	}
	if n := strings.Count(got, "\tset "); n != st.Sets {
		t.Errorf("kernel lists %d sets, the ruleset has %d", n, st.Sets)
	}
	if n := strings.Count(got, "\tmap "); n != st.Maps {
		t.Errorf("kernel lists %d maps, the ruleset has %d", n, st.Maps)
	}
}
