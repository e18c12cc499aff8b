package k8sconv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-net/palisade/api"
)

// yamlCase is a Kubernetes NetworkPolicy written as YAML and the Calico
// NetworkPolicy (also YAML) that Convert must produce for it.
type yamlCase struct {
	name string
	// note says where the input came from and what was reconstructed.
	note     string
	in       string
	defaults bool // run ApplyDefaults first, as a file loader must
	want     string
}

// specCases are the docs/api.md §6 worked example and the fixture examples it
// quotes from Calico's conversion tests.
var specCases = []yamlCase{
	{
		name: "docs/api.md §6 worked example",
		in: `
metadata: {name: web, namespace: prod}
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: {matchLabels: {role: fe}}
      namespaceSelector: {matchLabels: {team: a}}
    ports:
    - port: 80
    - port: 81
    - protocol: UDP
      port: 53
`,
		want: `
metadata: {name: web, namespace: prod}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: projectcalico.org/orchestrator == 'k8s' && role == 'fe'
      namespaceSelector: team == 'a'
    destination: {ports: ["80:81"]}
  - action: Allow
    protocol: UDP
    source:
      selector: projectcalico.org/orchestrator == 'k8s' && role == 'fe'
      namespaceSelector: team == 'a'
    destination: {ports: [53]}
`,
	},
	{
		name: "fixture: {} port absorbs port 80",
		in: `
metadata: {name: absorb, namespace: default}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 80}, {}]
`,
		want: `
metadata: {name: absorb, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
`,
	},
	{
		name: "fixture: egress all-TCP to pods plus UDP 53 anywhere", defaults: true,
		in: `
metadata: {name: egress-fixture, namespace: default}
spec:
  podSelector: {}
  egress:
  - ports: [{}, {port: 80}]
    to:
    - podSelector: {matchLabels: {k: v}}
  - ports:
    - protocol: UDP
      port: 53
`,
		want: `
metadata: {name: egress-fixture, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s'
  types: [Ingress, Egress]
  egress:
  - action: Allow
    protocol: TCP
    destination: {selector: projectcalico.org/orchestrator == 'k8s' && k == 'v'}
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}
`,
	},
	{
		name: "fixture: DoesNotExist peer with numeric and named ports",
		in: `
metadata: {name: test.policy, namespace: default}
spec:
  podSelector: {matchLabels: {label: value, label2: value2}}
  policyTypes: [Ingress]
  ingress:
  - ports: [{port: 80}, {port: foo}]
    from:
    - podSelector:
        matchExpressions: [{key: toast, operator: DoesNotExist}]
`,
		want: `
metadata: {name: test.policy, namespace: default}
spec:
  selector: projectcalico.org/orchestrator == 'k8s' && label == 'value' && label2 == 'value2'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: projectcalico.org/orchestrator == 'k8s' && ! has(toast)}
    destination: {ports: [80, foo]}
`,
	},
}

func TestSpecExamples(t *testing.T) { runYAMLCases(t, specCases) }

func runYAMLCases(t *testing.T, cases []yamlCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			np := decodeKNP(t, tc.in)
			if tc.defaults {
				np = ApplyDefaults(np)
			}
			got, err := Convert(np)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			want := decodeCalico(t, tc.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Convert mismatch (-want +got) [%s]:\n%s", tc.note, diff)
			}
		})
	}
}

// decodeKNP decodes a Kubernetes NetworkPolicy strictly.
func decodeKNP(t *testing.T, s string) *networkingv1.NetworkPolicy {
	t.Helper()
	np := &networkingv1.NetworkPolicy{}
	if err := yaml.UnmarshalStrict([]byte(s), np); err != nil {
		t.Fatalf("decoding input: %v", err)
	}
	return np
}

// decodeCalico decodes the expected policy and fills in what every
// converted policy has: TypeMeta, tier and order.
func decodeCalico(t *testing.T, s string) *api.NetworkPolicy {
	t.Helper()
	p := &api.NetworkPolicy{}
	if err := yaml.UnmarshalStrict([]byte(s), p); err != nil {
		t.Fatalf("decoding expected output: %v", err)
	}
	p.Kind, p.APIVersion = api.KindNetworkPolicy, api.GroupVersionV3
	p.Spec.Tier = api.DefaultTierName
	order := 1000.0
	p.Spec.Order = &order
	return p
}

// The seed's allow-all policy writes "ingress: {}", an object where a list
// belongs; it cannot be decoded, so the fixture above uses [{}].
func TestSeedAllowAllAsWritten(t *testing.T) {
	const asWritten = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: {}
  egress: {}
`
	err := yaml.UnmarshalStrict([]byte(asWritten), &networkingv1.NetworkPolicy{})
	if err == nil || !strings.Contains(err.Error(), "cannot unmarshal") {
		t.Fatalf("decoding ingress: {} gave %v, want an unmarshal error", err)
	}
}

// Every Kubernetes NetworkPolicy among the shared example manifests
// (examples/seed004, written from the same seed by another package's
// authors) must convert without error. Documents that do not decode, such
// as the seed's verbatim "ingress: {}" policy, are skipped here; they are
// TestSeedAllowAllAsWritten's subject.
func TestExampleManifestsConvert(t *testing.T) {
	files, _ := filepath.Glob("../examples/seed004/*/*.yaml")
	if len(files) == 0 {
		t.Skip("no example manifests")
	}
	converted := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(raw), "\n---") {
			var probe struct{ APIVersion, Kind string }
			if yaml.Unmarshal([]byte(doc), &probe) != nil ||
				probe.APIVersion != "networking.k8s.io/v1" || probe.Kind != "NetworkPolicy" {
				continue
			}
			np := &networkingv1.NetworkPolicy{}
			if err := yaml.UnmarshalStrict([]byte(doc), np); err != nil {
				t.Logf("%s document %d does not decode: %v", f, i, err)
				continue
			}
			if np.Namespace == "" {
				np.Namespace = "default"
			}
			if _, err := Convert(ApplyDefaults(np)); err != nil {
				t.Errorf("%s document %d: %v", f, i, err)
			}
			converted++
		}
	}
	if converted == 0 {
		t.Error("no Kubernetes NetworkPolicy found among the examples")
	}
	t.Logf("converted %d Kubernetes NetworkPolicies from %d files", converted, len(files))
}
