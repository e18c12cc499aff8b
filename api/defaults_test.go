package api

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	networkingv1 "k8s.io/api/networking/v1"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDefaultsGolden decodes testdata/defaults/input.yaml (decoding
// defaults every object) and compares the YAML of the result with
// output.golden.yaml.
func TestDefaultsGolden(t *testing.T) {
	docs, errs := decodeFile(t, "testdata/defaults/input.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	objs := make([]Object, len(docs))
	for i, d := range docs {
		objs[i] = d.Object
	}
	got, err := EncodeYAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata/defaults/output.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("defaulted objects differ from %s (-want +got):\n%s", golden, diff)
	}

	// Defaulting is idempotent, and its output decodes to itself.
	for _, o := range objs {
		before, _ := EncodeJSON(o)
		Default(o)
		after, _ := EncodeJSON(o)
		if string(before) != string(after) {
			t.Errorf("Default is not idempotent for %s:\n%s\n%s", ID(o), before, after)
		}
	}
	again, errs := Decode("golden", got)
	if len(errs) > 0 {
		t.Fatalf("golden output does not decode: %v", errs)
	}
	for i, d := range again {
		if diff := cmp.Diff(objs[i], d.Object, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s changed on a second decode (-first +second):\n%s", ID(objs[i]), diff)
		}
	}
}

func TestDefaultTypes(t *testing.T) {
	for _, tc := range []struct {
		in, eg int
		want   []PolicyType
	}{
		{0, 0, []PolicyType{PolicyTypeIngress}},
		{2, 0, []PolicyType{PolicyTypeIngress}},
		{0, 1, []PolicyType{PolicyTypeEgress}},
		{1, 1, []PolicyType{PolicyTypeIngress, PolicyTypeEgress}},
	} {
		p := &GlobalNetworkPolicy{Spec: GlobalNetworkPolicySpec{
			Ingress: make([]Rule, tc.in), Egress: make([]Rule, tc.eg)}}
		Default(p)
		if diff := cmp.Diff(tc.want, p.Spec.Types); diff != "" {
			t.Errorf("%d ingress, %d egress (-want +got):\n%s", tc.in, tc.eg, diff)
		}
		if p.Spec.Tier != DefaultTierName || p.Labels[LabelTier] != DefaultTierName {
			t.Errorf("tier %q label %q", p.Spec.Tier, p.Labels[LabelTier])
		}
	}
}

func TestDefaultKubernetesPolicyTypes(t *testing.T) {
	p := &networkingv1.NetworkPolicy{}
	Default(p)
	if diff := cmp.Diff([]networkingv1.PolicyType{"Ingress"}, p.Spec.PolicyTypes); diff != "" {
		t.Errorf("no egress section (-want +got):\n%s", diff)
	}
	// The API server adds Egress only for at least one egress rule.
	p = &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{}}}
	Default(p)
	if diff := cmp.Diff([]networkingv1.PolicyType{"Ingress"}, p.Spec.PolicyTypes); diff != "" {
		t.Errorf("empty egress section (-want +got):\n%s", diff)
	}
	p = &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}}}
	Default(p)
	if diff := cmp.Diff([]networkingv1.PolicyType{"Ingress", "Egress"}, p.Spec.PolicyTypes); diff != "" {
		t.Errorf("one egress rule (-want +got):\n%s", diff)
	}
}

// TestMiscFixtures decodes the other realistic fixtures.
func TestMiscFixtures(t *testing.T) {
	want := map[string][]string{
		"kcc-auto-hep.yaml":        {"KubeControllersConfiguration(default)"},
		"auto-heps.yaml":           {"HostEndpoint(node1-auto-hep)", "HostEndpoint(control-auto-hep)"},
		"nodes-and-endpoints.json": {"Node(node1)", "WorkloadEndpoint(prod/node1-k8s-web--1-eth0)", "Profile(kns.prod)"},
	}
	for file, ids := range want {
		docs, errs := decodeFile(t, filepath.Join("testdata/misc", file))
		if len(errs) > 0 {
			t.Errorf("%s: %v", file, errs)
		}
		if diff := cmp.Diff(ids, docIDs(docs)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", file, diff)
		}
	}
	docs, _ := decodeFile(t, "testdata/misc/kcc-auto-hep.yaml")
	if kcc := docs[0].Object.(*KubeControllersConfiguration); !kcc.AutoHostEndpointsEnabled() {
		t.Error("auto host endpoints not enabled")
	}
}

func TestEncodeJSON(t *testing.T) {
	o := mustDecodeOne(t, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: a}\nspec: {order: 1000000}\n")
	got, err := EncodeJSON(o)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "kind": "Tier",
  "apiVersion": "projectcalico.org/v3",
  "metadata": {
    "name": "a"
  },
  "spec": {
    "order": 1000000,
    "defaultAction": "Deny"
  }
}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Type meta is filled in for objects built in code.
	got, _ = EncodeJSON(&HostEndpoint{})
	if !strings.HasPrefix(string(got), "{\n  \"kind\": \"HostEndpoint\",\n  \"apiVersion\": \"projectcalico.org/v3\",") {
		t.Errorf("got %s", got)
	}
}

func TestEncodeList(t *testing.T) {
	docs, _ := decodeFile(t, "testdata/misc/auto-heps.yaml")
	l := NewList(KindHostEndpoint, "3112", []Object{docs[1].Object})
	got, err := EncodeYAML(l)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: HostEndpoint
  metadata:
    labels:
      projectcalico.org/created-by: calico-kube-controllers
    name: control-auto-hep
  spec:
    expectedIPs:
    - 198.19.0.1
    interfaceName: '*'
    node: control
    profiles:
    - projectcalico-default-allow
kind: HostEndpointList
metadata:
  resourceVersion: "3112"
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// What get prints, decode reads back.
	back, errs := Decode("list", got)
	if len(errs) > 0 || len(back) != 1 {
		t.Fatalf("re-decode: %v %v", back, errs)
	}
	empty, _ := EncodeJSON(NewList(KindTier, "", nil))
	if !strings.Contains(string(empty), `"items": []`) {
		t.Errorf("empty list: %s", empty)
	}
}

func TestFelixMarshalOrderAndExtra(t *testing.T) {
	o := mustDecodeOne(t, `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  wireguardEnabled: true
  defaultEndpointToHostAction: Accept
  ipipEnabled: true
  bpfLogLevel: Debug
`)
	got, _ := EncodeJSON(o.(*FelixConfiguration).Spec)
	want := `{
  "defaultEndpointToHostAction": "Accept",
  "ipipEnabled": true,
  "bpfLogLevel": "Debug",
  "wireguardEnabled": true
}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Calico field order (-want +got):\n%s", diff)
	}
	var s FelixConfigurationSpec
	if err := s.UnmarshalJSON([]byte(`{"notAField": 1}`)); err == nil {
		t.Error("unknown field accepted by UnmarshalJSON")
	}
}
