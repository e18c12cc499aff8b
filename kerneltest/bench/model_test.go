package bench

import (
	"fmt"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
)

// The model: node1 with eth0 towards the outside host, the server pod
// bench/server on node1, and remote pods on node2 that the policies' rule
// selectors match (so their sets are not empty).
const (
	nodeName   = "node1"
	nodeV4     = "198.19.0.2"
	extV4      = "198.19.0.254"
	serverV4   = "198.18.1.10"
	podGW4     = "198.19.255.1"
	remotePods = 20
	// benchPort is what the benchmark connects to; denyPort is served too,
	// and no policy allows it (the sanity check that policy is in the path).
	benchPort  = 8080
	deniedPort = 8081
	// sinkPort is the throughput check's byte sink.
	sinkPort = 5001
)

const baseYAML = `
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node1, labels: {kubernetes.io/hostname: node1}}
spec:
  interfaces: [{name: eth0, addresses: [198.19.0.2]}]
---
apiVersion: v1
kind: Namespace
metadata: {name: bench, labels: {team: bench}}
---
apiVersion: v1
kind: Namespace
metadata: {name: far, labels: {team: far}}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: bench, labels: {app: server, tier: api, env: prod}}
spec: {nodeName: node1, containers: [{name: c}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}]}
`

// remoteYAML is remotePods pods on another node, labelled app: svc-N.
func remoteYAML() string {
	var b strings.Builder
	for i := 0; i < remotePods; i++ {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata: {name: svc-%d, namespace: far, labels: {app: svc-%d, tier: api}}
spec: {nodeName: node2, containers: [{name: c}]}
status: {podIP: 198.18.50.%d, podIPs: [{ip: 198.18.50.%d}]}
`, i, i, 10+i, 10+i)
	}
	return b.String()
}

// endpointSelectors vary how policies select the server pod.
var endpointSelectors = []string{
	"app == 'server'",
	"app == 'server' && tier == 'api'",
	"env in {'prod', 'staging'}",
	"has(app) && !has(quarantine)",
}

// policiesYAML is n namespaced policies on the server pod, each with four
// ingress rules (source selectors, CIDRs, ports) that the benchmark's
// traffic (TCP from extV4 to benchPort) does not match, except the last
// rule of the last policy, which allows it. A new connection's first packet
// therefore walks every rule of every policy.
func policiesYAML(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p%03d, namespace: bench}
spec:
  order: %d
  selector: %s
  types: [Ingress]
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: app == 'svc-%d', namespaceSelector: all()}, destination: {ports: [%d]}}
  - {action: Deny, protocol: TCP, source: {nets: [198.18.%d.0/24]}, destination: {ports: [%d, "%d:%d"]}}
  - {action: Allow, protocol: UDP, source: {selector: tier == 'api', namespaceSelector: team == 'far'}, destination: {ports: [53, %d]}}
`, i, 100+i, endpointSelectors[i%len(endpointSelectors)],
			i%remotePods, 9000+i,
			100+i%100, 10000+i, 20000+2*i, 20001+2*i,
			11000+i)
		if i == n-1 {
			fmt.Fprintf(&b, "  - {action: Allow, protocol: TCP, source: {nets: [198.19.0.0/24]}, destination: {ports: [%d, %d]}}\n", benchPort, sinkPort)
		} else {
			fmt.Fprintf(&b, "  - {action: Allow, protocol: TCP, source: {nets: [198.18.%d.0/24], notSelector: app == 'svc-0'}, destination: {ports: [%d]}}\n", 200+i%50, benchPort)
		}
	}
	return b.String()
}

// flowLogsAll turns flow logs on for every decision, allowed ones too.
const flowLogsAll = `---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {flowLogs: All}
`

// benchModel is the model with n policies on the server pod, and extra
// documents.
func benchModel(n int, extra ...string) (*policy.Model, error) {
	docs := baseYAML + remoteYAML() + policiesYAML(n) + strings.Join(extra, "")
	ds, errs := api.Decode("bench.yaml", []byte(docs))
	if len(errs) > 0 {
		return nil, fmt.Errorf("decode: %v", errs)
	}
	objs := make([]api.Object, 0, len(ds))
	for _, d := range ds {
		objs = append(objs, d.Object)
	}
	return policy.NewModel(objs)
}
