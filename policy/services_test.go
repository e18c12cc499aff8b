package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const slicePods = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 198.18.1.11, podIPs: [{ip: 198.18.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: legacy, namespace: shop, labels: {app: legacy}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 198.18.1.12, podIPs: [{ip: 198.18.1.12}]}
`

// TestServiceBackendsFromEndpointSlices: a service with EndpointSlices gets
// its backends from them (ready endpoints that are known pods, on the
// slice port of the service port's name), whatever its selector says; one
// without slices falls back to its selector.
func TestServiceBackendsFromEndpointSlices(t *testing.T) {
	svc := func(name, selector string) string {
		return fmt.Sprintf(`
---
apiVersion: v1
kind: Service
metadata: {name: %s, namespace: shop}
spec:
  type: NodePort
  %s
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
`, name, selector)
	}
	slice := func(svcName, port string, endpoints ...string) string {
		return fmt.Sprintf(`
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %s-x1, namespace: shop, labels: {kubernetes.io/service-name: %s}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: %s}]
endpoints: [%s]
`, svcName, svcName, port, strings.Join(endpoints, ", "))
	}
	tests := []struct {
		name      string
		manifests string
		want      []string
	}{
		{"no slices: the selector, on the named target port", svc("web", "selector: {app: web}"),
			[]string{"shop/web-1:8080", "shop/web-2:8080"}},
		{"slices win over the selector; an unready endpoint is left out",
			svc("web", "selector: {app: web}") + slice("web", "9090",
				`{addresses: [198.18.1.10]}`, `{addresses: [198.18.1.11], conditions: {ready: false}}`),
			[]string{"shop/web-1:9090"}},
		{"a service without a selector gets its backends from its slices",
			svc("manual", "") + slice("manual", "7070", `{addresses: [198.18.1.12]}`, `{addresses: [203.0.113.9]}`),
			[]string{"shop/legacy:7070"}},
		{"a slice without the service port's name gives nothing",
			svc("web", "selector: {app: web}") + strings.Replace(slice("web", "9090", `{addresses: [198.18.1.10]}`),
				"name: http", "name: other", 1), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := model(t, slicePods+tc.manifests)
			var got []string
			for _, s := range m.Services {
				for _, p := range s.Ports {
					for _, b := range p.Backends {
						got = append(got, fmt.Sprintf("%s:%d", b.Workload.Key(), b.Port))
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("backends (-want +got):\n%s", diff)
			}
		})
	}
}
