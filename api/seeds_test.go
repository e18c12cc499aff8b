package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSeedManifests decodes every manifest found in the seed documents
// (testdata/seeds, one file per seed section; see each file's header for
// how it was taken from the seed).
func TestSeedManifests(t *testing.T) {
	tests := []struct {
		file string
		ids  []string // ID of every decoded object, in order
		errs []string // one substring per expected error, in order
	}{
		{file: "000-host-policies.yaml", ids: []string{
			"GlobalNetworkPolicy(default-node-policy)", "GlobalNetworkPolicy(nodeport-policy)",
			"GlobalNetworkPolicy(nodeport-policy)"}},
		{file: "001-protect-nodes.yaml", ids: []string{
			"GlobalNetworkPolicy(all-nodes-policy)", "GlobalNetworkPolicy(some-nodes-policy)",
			"GlobalNetworkPolicy(ingress-k8s-masters)", "GlobalNetworkPolicy(ingress-k8s-workers)"}},
		{file: "002-host-endpoint-broken.yaml", errs: []string{
			`002-host-endpoint-broken.yaml: document 1 (line 10): HostEndpoint "node1": metadata.spec: ` + RuleUnknownField}},
		{file: "002-host-endpoint-fixed.yaml", ids: []string{"HostEndpoint(node1)"}},
		{file: "002-securing-host-endpoints.yaml",
			ids: []string{"Service(default/foo)", "Service(default/bar)", "NetworkPolicy(default/foo-consumer)",
				"NetworkPolicy(default/foo-producer)", "Service(default/bar)",
				"GlobalNetworkPolicy(bar-external-consumer)", "GlobalNetworkPolicy(drop-other-ingress)"},
			errs: []string{
				`document 1 (line 6): Deployment "foo": unknown resource type (Deployment) and/or version (apps/v1)`,
				`document 2 (line 35): Deployment "bar": unknown resource type (Deployment) and/or version (apps/v1)`,
				`document 7 (line 130): HostEndpoint "node1": metadata.spec: ` + RuleUnknownField}},
		{file: "003-protect-hosts.yaml", ids: []string{"GlobalNetworkPolicy(k8s-worker)",
			"HostEndpoint(my-host-eth0)", "FelixConfiguration(default)"}},
		{file: "003-placeholders.yaml", errs: []string{
			"spec.ingress[0].source.nets[0]: invalid CIDR\n" +
				"003-placeholders.yaml: document 1 (line 23): GlobalNetworkPolicy \"k8s-worker\": " +
				"spec.egress[0].destination.nets[0]: invalid CIDR"}},
		{file: "004-global-default-deny.yaml", ids: []string{"GlobalNetworkPolicy(global-deny-all)",
			"NetworkPolicy(org-1/team-netpol)"}},
		{file: "004-kubernetes-examples.yaml", ids: []string{"NetworkPolicy(cs1/deny-all-egress)",
			"NetworkPolicy(cs1/allow-all-egress)", "NetworkPolicy(default/deny-all)", "NetworkPolicy(default/deny-all)",
			"NetworkPolicy(default/namespace-allow)", "NetworkPolicy(default/namespace-allow)",
			"NetworkPolicy(default/namespace-allow)"}},
		{file: "004-calico-vs-kubernetes.yaml", ids: []string{"NetworkPolicy(default/allow-redis-nodejs)",
			"NetworkPolicy(default/allow-redis-nodejs)", "Namespace(kube-prometheus)",
			"NetworkPolicy(default/allow-metrics-prom)", "NetworkPolicy(default/allow-metrics-prom)",
			"GlobalNetworkPolicy(block-icmp)", "GlobalNetworkPolicy(deny-icmp-kube-02)", "HostEndpoint(kube-02-eth0)",
			"HostEndpoint(vpnclient-eth0)", "GlobalNetworkPolicy(vpn-rules)"}},
		{file: "004-three-basic-policies.yaml", ids: []string{"NetworkPolicy(default/deny-all)",
			"NetworkPolicy(default/isolate-namespace)", "NetworkPolicy(default/db-connection)"}},
		{file: "004-allow-all-objects.yaml", errs: []string{
			`NetworkPolicy "allow-all": spec.ingress: expected a list` + "\n" +
				`004-allow-all-objects.yaml: document 1 (line 15): NetworkPolicy "allow-all": spec.egress: expected a list`}},
		{file: "004-staging-demo.yaml", ids: []string{"NetworkPolicy(default/deny-all)",
			"NetworkPolicy(default/allow-out-to-in)", "Namespace(admin)", "Pod(staging/frontend)",
			"Service(staging/frontend)", "Pod(staging/backend)", "Service(staging/backend)", "Pod(staging/db)",
			"Service(staging/db)", "NetworkPolicy(staging/staging.db)", "NetworkPolicy(staging/staging.backend)",
			"NetworkPolicy(staging/staging.frontend)"}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			docs, errs := decodeFile(t, filepath.Join("testdata/seeds", tc.file))
			if diff := cmp.Diff(tc.ids, docIDs(docs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tc.errs), errs)
			}
			for i, want := range tc.errs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
	files, _ := filepath.Glob("testdata/seeds/*")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("seed fixture %s has no test case", f)
		}
	}
}

func decodeFile(t *testing.T, path string) ([]Document, []error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Decode(filepath.Base(path), data)
}

func docIDs(docs []Document) []string {
	var ids []string
	for _, d := range docs {
		ids = append(ids, ID(d.Object))
	}
	return ids
}

// TestSeed003FelixRoundTrip is seed 003's workflow: export the default
// FelixConfiguration as YAML, add defaultEndpointToHostAction, apply it.
func TestSeed003FelixRoundTrip(t *testing.T) {
	in := `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: default
  resourceVersion: "1234"
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  bpfLogLevel: ""
  floatingIPs: Disabled
  healthPort: 9099
  ipipEnabled: true
  logSeverityScreen: Info
  reportingInterval: 0s
  vxlanEnabled: false
  failsafeInboundHostPorts:
  - {protocol: tcp, port: 22}
  - {protocol: udp, port: 68}
`
	o, err := DecodeOne("live", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	// --export clears server-set metadata.
	o.SetResourceVersion("")
	o.SetCreationTimestamp(o.GetCreationTimestamp())
	exported, err := EncodeYAML(o)
	if err != nil {
		t.Fatal(err)
	}
	edited := string(exported) + "" // the user appends a field under spec
	edited = strings.Replace(edited, "spec:\n", "spec:\n  defaultEndpointToHostAction: Accept\n", 1)
	back, err := DecodeOne("default-felix-config.yaml", []byte(edited))
	if err != nil {
		t.Fatalf("exported and edited FelixConfiguration does not decode: %v\n%s", err, edited)
	}
	fc := back.(*FelixConfiguration)
	if fc.Spec.DefaultEndpointToHostAction != "Accept" {
		t.Errorf("defaultEndpointToHostAction = %q", fc.Spec.DefaultEndpointToHostAction)
	}
	want := map[string]string{"bpfLogLevel": `""`, "floatingIPs": `"Disabled"`, "healthPort": "9099",
		"ipipEnabled": "true", "logSeverityScreen": `"Info"`, "reportingInterval": `"0s"`, "vxlanEnabled": "false"}
	got := map[string]string{}
	for k, v := range fc.Spec.Extra {
		got[k] = string(v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("extra fields after the round trip (-want +got):\n%s", diff)
	}
	if p := *fc.Spec.FailsafeInboundHostPorts; p[0].Protocol != "TCP" || p[1].Protocol != "UDP" {
		t.Errorf("failsafe protocols not upper-cased: %+v", p)
	}
}
