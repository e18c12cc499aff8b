package policy_test

import (
	"testing"
)

// TestPodAndEndpointAreOneWorkload: a Pod and the WorkloadEndpoint written
// for it (a live datastore of the lab or a Calico cluster holds both) are
// one workload, the endpoint's; the pod's service-account profile still
// exists for the endpoint that names it.
func TestPodAndEndpointAreOneWorkload(t *testing.T) {
	m := model(t, `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, serviceAccountName: builder, containers: [{name: c}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 198.18.1.11, podIPs: [{ip: 198.18.1.11}]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: n1-k8s-web-eth0, namespace: shop, labels: {app: web, tier: front}}
spec:
  orchestrator: k8s
  node: n1
  pod: web
  endpoint: eth0
  interfaceName: cali0123456789a
  ipNetworks: [198.18.1.10/32]
  profiles: [kns.shop, ksa.shop.builder]
`)
	var keys []string
	for _, w := range m.Workloads {
		keys = append(keys, w.Key()+" "+w.Interface)
	}
	if len(m.Workloads) != 2 {
		t.Fatalf("workloads %v, want web (its endpoint) and db", keys)
	}
	for _, w := range m.Workloads {
		tier, _ := w.Labels.Get("tier")
		if w.Key() == "shop/web" && (w.Interface != "cali0123456789a" || tier != "front" || w.Unresolved != "") {
			t.Errorf("shop/web is not its endpoint: %+v", w)
		}
	}
}
