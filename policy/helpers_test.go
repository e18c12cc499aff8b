package policy_test

import (
	"encoding/json"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
)

// topology is a small cluster: two nodes with one pod each, in namespace
// "app", plus namespace "other" with one pod on node-a.
const topology = `
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {kubernetes.io/hostname: node-a, role: worker}}
status: {addresses: [{type: InternalIP, address: 198.19.0.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b, labels: {kubernetes.io/hostname: node-b, role: worker}}
status: {addresses: [{type: InternalIP, address: 198.19.0.2}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: blue}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 198.18.1.1, podIPs: [{ip: 198.18.1.1}, {ip: "fd00::1:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: app, labels: {app: db}}
spec: {nodeName: node-b, containers: [{name: c, image: x}]}
status: {podIP: 198.18.2.1, podIPs: [{ip: 198.18.2.1}, {ip: "fd00::2:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {nodeName: node-a, containers: [{name: c, image: x}]}
status: {podIP: 198.18.1.2}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
`

type flowCase struct {
	from, to, port string
	want           string // allow or deny
	established    bool
	ipv6           bool
}

func model(t *testing.T, manifests ...string) *policy.Model {
	t.Helper()
	var objs []api.Object
	for i, m := range manifests {
		docs, errs := api.Decode("case", []byte(m))
		for _, e := range errs {
			t.Fatalf("manifest %d: %v", i, e)
		}
		for _, d := range docs {
			objs = append(objs, d.Object)
		}
	}
	m, err := policy.NewModel(objs)
	if err != nil {
		t.Fatalf("NewModel: %v", err)
	}
	return m
}

func checkFlows(t *testing.T, m *policy.Model, flows []flowCase) {
	t.Helper()
	for _, fc := range flows {
		src, err := m.ResolvePeer(fc.from)
		if err != nil {
			t.Fatalf("from %s: %v", fc.from, err)
		}
		dst, err := m.ResolvePeer(fc.to)
		if err != nil {
			t.Fatalf("to %s: %v", fc.to, err)
		}
		f, err := policy.NewFlow(src, dst, fc.port)
		if err != nil {
			t.Fatal(err)
		}
		f.Established = fc.established
		if fc.ipv6 {
			f.Family = 6
		}
		v, err := m.Evaluate(f)
		if err != nil {
			t.Fatalf("%s -> %s %s: %v", fc.from, fc.to, fc.port, err)
		}
		if string(v.Verdict) != fc.want {
			b, _ := json.MarshalIndent(v, "", "  ")
			t.Errorf("%s -> %s %s: got %s, want %s\n%s", fc.from, fc.to, fc.port, v.Verdict, fc.want, b)
		}
		allowed, err := m.Allowed(f)
		if err != nil || allowed != (v.Verdict == policy.ResultAllow) {
			t.Errorf("%s -> %s %s: Allowed()=%v,%v disagrees with Evaluate", fc.from, fc.to, fc.port, allowed, err)
		}
	}
}
