package api

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func mustDecodeOne(t *testing.T, in string) Object {
	t.Helper()
	o, err := DecodeOne("test.yaml", []byte(in))
	if err != nil {
		t.Fatalf("DecodeOne: %v", err)
	}
	return o
}

func decodeErr(t *testing.T, in string) *DocumentError {
	t.Helper()
	_, err := DecodeOne("test.yaml", []byte(in))
	var de *DocumentError
	if !errors.As(err, &de) {
		t.Fatalf("want a *DocumentError, got %v", err)
	}
	return de
}

// TestYAML12Scalars: YAML 1.1 booleans and numbers stay text in string
// fields; numeric fields stay numbers.
func TestYAML12Scalars(t *testing.T) {
	o := mustDecodeOne(t, `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: n
  labels:
    a: on
    b: y
    c: no
    d: true
    e: 123
    f: 0x1F
    g: 2024-01-02
spec:
  node: y
  interfaceName: "off"
  ports:
  - {name: yes, port: 80, protocol: TCP}
`)
	hep := o.(*HostEndpoint)
	want := map[string]string{"a": "on", "b": "y", "c": "no", "d": "true", "e": "123", "f": "0x1F", "g": "2024-01-02"}
	if diff := cmp.Diff(want, hep.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if hep.Name != "n" || hep.Spec.Node != "y" || hep.Spec.InterfaceName != "off" {
		t.Errorf("name/node/interface = %q/%q/%q", hep.Name, hep.Spec.Node, hep.Spec.InterfaceName)
	}
	if p := hep.Spec.Ports[0]; p.Name != "yes" || p.Port != 80 {
		t.Errorf("port = %+v", p)
	}
}

func TestNumericNameIsText(t *testing.T) {
	o := mustDecodeOne(t, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: 123}\nspec: {order: 1e3}\n")
	tier := o.(*Tier)
	if tier.Name != "123" || *tier.Spec.Order != 1000 {
		t.Errorf("tier = %q order %v", tier.Name, *tier.Spec.Order)
	}
}

func TestYAML11BooleansInBoolFields(t *testing.T) {
	o := mustDecodeOne(t, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
  preDNAT: yes
  applyOnForward: on
  ingress: [{action: Deny}]
`)
	s := o.(*GlobalNetworkPolicy).Spec
	if !s.PreDNAT || !s.ApplyOnForward {
		t.Errorf("preDNAT/applyOnForward = %v/%v", s.PreDNAT, s.ApplyOnForward)
	}
	de := decodeErr(t, "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {preDNAT: \"yes\"}\n")
	if len(de.Fields) != 1 || de.Fields[0].Field != "spec.preDNAT" || de.Fields[0].Rule != "expected a boolean" {
		t.Errorf("quoted yes in a bool field: %v", de)
	}
}

func TestTypeErrorsHavePaths(t *testing.T) {
	de := decodeErr(t, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: p
  labels: [a]
spec:
  order: high
  types: Ingress
  ingress:
  - action: Allow
    protocol: {tcp: 1}
    ipVersion: 4.5
    destination:
      ports: [80, 70000, "90:80"]
  - action: Allow
    source:
      nets: {a: b}
`)
	got := map[string]string{}
	for _, f := range de.Fields {
		got[f.Field] = f.Rule
	}
	want := map[string]string{
		"metadata.labels":                      "expected an object",
		"spec.order":                           "expected a number",
		"spec.types":                           "expected a list",
		"spec.ingress[0].protocol":             "protocol must be a name or a number: {\"tcp\":1}",
		"spec.ingress[0].ipVersion":            "expected an integer",
		"spec.ingress[0].destination.ports[1]": "invalid port number (70000)",
		"spec.ingress[0].destination.ports[2]": "minimum port number (90) is greater than maximum port number (80) in port range",
		"spec.ingress[1].source.nets":          "expected a list",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
}

func TestUnknownFields(t *testing.T) {
	de := decodeErr(t, `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: ns, labls: {}}
spec:
  selector: all()
  ingress:
  - action: Allow
    source: {selectr: "a == 'b'"}
  Egress: []
extra: 1
`)
	var got []string
	for _, f := range de.Fields {
		if f.Rule != RuleUnknownField {
			t.Errorf("unexpected rule %q", f.Rule)
		}
		got = append(got, f.Field)
	}
	want := []string{"metadata.labls", "spec.ingress[0].source.selectr", "spec.Egress", "extra"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown fields (-want +got):\n%s", diff)
	}
	if !de.HasUnknownField() {
		t.Error("HasUnknownField = false")
	}
}

func TestUnknownFieldsInKubernetesKinds(t *testing.T) {
	de := decodeErr(t, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
  podSelector: {matchLabels: {a: b}, matchLabel: {}}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.0/8, exept: []}}]
    ports: [{port: http, protocl: TCP}]
`)
	var got []string
	for _, f := range de.Fields {
		got = append(got, f.Field)
	}
	want := []string{"spec.podSelector.matchLabel", "spec.ingress[0].from[0].ipBlock.exept", "spec.ingress[0].ports[0].protocl"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown fields (-want +got):\n%s", diff)
	}
}

func TestDuplicateKeys(t *testing.T) {
	de := decodeErr(t, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: a}\nspec: {order: 1, order: 2}\n")
	if len(de.Fields) != 1 || de.Fields[0] != (FieldError{Field: "spec.order", Rule: RuleDuplicateField, Line: 4}) {
		t.Errorf("got %v", de)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	docs, errs := Decode("t.yaml", []byte(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a}
spec:
  ingress:
  - &allow
    action: Allow
    protocol: TCP
    destination: {ports: [22]}
  - <<: *allow
    protocol: UDP
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	in := docs[0].Object.(*GlobalNetworkPolicy).Spec.Ingress
	if len(in) != 2 || in[1].Protocol.String() != "UDP" || in[1].Destination.Ports[0] != SinglePort(22) {
		t.Errorf("ingress = %+v", in)
	}
}

func TestMultiDocumentWithOneBadDocument(t *testing.T) {
	docs, errs := Decode("m.yaml", []byte(`---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: a}
--- # a comment on the separator line is discarded
# an empty document (comments only) is skipped
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: b}
spec: {defaultAction: Allow}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: c}
`))
	if diff := cmp.Diff([]string{"Tier(a)", "Tier(c)"}, docIDs(docs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if len(docs) == 2 && (docs[0].Index != 1 || docs[0].Line != 2 || docs[1].Index != 3 || docs[1].Line != 13) {
		t.Errorf("index/line = %d/%d and %d/%d", docs[0].Index, docs[0].Line, docs[1].Index, docs[1].Line)
	}
	want := `m.yaml: document 2 (line 11): Tier "b": spec.defaultAction: defaultAction must be Deny or Pass`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors = %v, want %q", errs, want)
	}
}

func TestSyntaxErrorLineIsAbsolute(t *testing.T) {
	_, errs := Decode("s.yaml", []byte("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: a}\n---\nkind: Tier\nmetadata:\n  name: [\n"))
	if len(errs) != 1 {
		t.Fatalf("errors = %v", errs)
	}
	de := errs[0].(*DocumentError)
	if de.Index != 2 || de.Line != 7 || !strings.Contains(de.Error(), "yaml: line 7:") {
		t.Errorf("error = %v (line %d)", de, de.Line)
	}
}

func TestListKinds(t *testing.T) {
	docs, errs := Decode("l.yaml", []byte(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicyList
metadata: {resourceVersion: "12"}
items:
- metadata: {name: a}
  spec: {selector: all()}
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata: {name: b}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: prod}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny, namespace: prod}
  spec: {podSelector: {}}
- apiVersion: projectcalico.org/v3
  kind: Tier
  metadata: {name: BAD}
`))
	want := []string{"GlobalNetworkPolicy(a)", "GlobalNetworkPolicy(b)", "Namespace(prod)", "NetworkPolicy(prod/deny)"}
	if diff := cmp.Diff(want, docIDs(docs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `document 2 (line 24): Tier "BAD": metadata.name`) {
		t.Errorf("errors = %v", errs)
	}
}

func TestJSONInput(t *testing.T) {
	docs, errs := Decode("j.json", []byte(`[
	{
		"apiVersion": "projectcalico.org/v3",
		"kind": "GlobalNetworkSet",
		"metadata": {"name": "a", "annotations": {"path": "a\/b\u00e9"}},
		"spec": {"nets": ["10.0.0.0/8"]}
	},
	{
		"kind": "NetworkSet",
		"apiVersion": "projectcalico.org/v3",
		"metadata": {"name": "b"},
		"spec": {"nets": ["10.0.0.1"], "bogus": true}
	}
]`))
	if diff := cmp.Diff([]string{"GlobalNetworkSet(a)"}, docIDs(docs)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	if got := docs[0].Object.GetAnnotations()["path"]; got != "a/bé" {
		t.Errorf("label = %q", got)
	}
	if docs[0].Line != 2 {
		t.Errorf("line = %d", docs[0].Line)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `document 1 (line 12): NetworkSet "b": spec.bogus: `+RuleUnknownField) {
		t.Errorf("errors = %v", errs)
	}
}

func TestCRDV1Input(t *testing.T) {
	o := mustDecodeOne(t, `
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata:
  name: default.allow-web
  namespace: prod
  labels: {team: web}
  annotations:
    projectcalico.org/metadata: '{"name":"allow-web","labels":{"owner":"ops"},"annotations":{"note":"x"}}'
spec:
  ingress:
  - action: Allow
    protocol: tcp
    source: {nets: [10.1.2.3, 10.1.0.0/16, "10.9.9.9/8"]}
    destination: {ports: [80]}
`)
	np := o.(*NetworkPolicy)
	if np.APIVersion != GroupVersionV3 || np.Kind != KindNetworkPolicy {
		t.Errorf("type meta = %s %s", np.APIVersion, np.Kind)
	}
	if np.Name != "allow-web" {
		t.Errorf("name = %q", np.Name)
	}
	wantLabels := map[string]string{"team": "web", "owner": "ops", LabelTier: "default"}
	if diff := cmp.Diff(wantLabels, np.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"note": "x"}, np.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	r := np.Spec.Ingress[0]
	if r.Protocol.String() != "TCP" {
		t.Errorf("protocol = %q", r.Protocol)
	}
	if diff := cmp.Diff([]string{"10.1.2.3/32", "10.1.0.0/16", "10.0.0.0/8"}, r.Source.Nets); diff != "" {
		t.Errorf("nets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]PolicyType{PolicyTypeIngress}, np.Spec.Types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	// No crd.projectcalico.org/v1 CRD exists for these kinds.
	for _, kind := range []string{"Profile", "WorkloadEndpoint", "Node"} {
		_, err := DecodeOne("x", []byte("apiVersion: crd.projectcalico.org/v1\nkind: "+kind+"\nmetadata: {name: a}\n"))
		if !IsUnknownKind(err) {
			t.Errorf("%s in crd.projectcalico.org/v1: err = %v", kind, err)
		}
	}
}

func TestV3RejectsWhatV1Normalises(t *testing.T) {
	de := decodeErr(t, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
  ingress: [{action: Allow, protocol: tcp, source: {nets: [10.1.2.3]}}]
`)
	want := []FieldError{
		{Field: "spec.ingress[0].protocol", Value: "tcp", Rule: protocolRule(&Protocol{Name: "tcp"}), Line: 6},
		{Field: "spec.ingress[0].source.nets[0]", Value: "10.1.2.3",
			Rule: "invalid CIDR: a network in CIDR notation is required (for example 10.1.2.3/32)", Line: 6},
	}
	if diff := cmp.Diff(want, de.Fields); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDefaultPrefixedNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: default.foo}\n", "foo"},
		{"apiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata: {name: default.foo, namespace: n}\nspec: {tier: default}\n", "foo"},
		{"apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: default.foo}\n", "foo"},
		{"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: sec.foo}\nspec: {tier: sec}\n", "sec.foo"},
		{"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: knp.default.foo}\n", "knp.default.foo"},
	} {
		if got := mustDecodeOne(t, tc.in).GetName(); got != tc.want {
			t.Errorf("%q: name = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNamespaceDefaulting(t *testing.T) {
	docs, errs := Decode("n.yaml", []byte(`
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: a}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: g, namespace: x}
`))
	if diff := cmp.Diff([]string{"NetworkSet(default/a)", "Pod(default/p)"}, docIDs(docs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(),
		"metadata.namespace: namespace should not be specified for a non-namespaced resource") {
		t.Errorf("errors = %v", errs)
	}
}

func TestKindAndVersionSelectTheType(t *testing.T) {
	docs, errs := Decode("k.yaml", []byte(`
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: a}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, ok := docs[0].Object.(*corev1.Node); !ok {
		t.Errorf("doc 1 is %T", docs[0].Object)
	}
	if _, ok := docs[1].Object.(*Node); !ok {
		t.Errorf("doc 2 is %T", docs[1].Object)
	}
	if np, ok := docs[2].Object.(*networkingv1.NetworkPolicy); !ok || np.APIVersion != GroupVersionNetV1 {
		t.Errorf("doc 3 is %T", docs[2].Object)
	}
	if _, ok := docs[3].Object.(*NetworkPolicy); !ok {
		t.Errorf("doc 4 is %T", docs[3].Object)
	}
}

func TestMissingKindAndVersion(t *testing.T) {
	de := decodeErr(t, "metadata: {name: a}\n")
	want := []FieldError{{Field: "kind", Rule: "kind is required"}, {Field: "apiVersion", Rule: "apiVersion is required"}}
	if diff := cmp.Diff(want, de.Fields); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err := DecodeOne("x", []byte("apiVersion: projectcalico.org/v3\nkind: Bogus\nmetadata: {name: a}\n"))
	if !IsUnknownKind(err) || !strings.Contains(err.Error(), "unknown resource type (Bogus) and/or version (projectcalico.org/v3)") {
		t.Errorf("err = %v", err)
	}
}

func TestNotAResource(t *testing.T) {
	for _, in := range []string{"hello\n", "- 1\n- [2]\n", "items: {}\nkind: List\napiVersion: v1\n"} {
		_, errs := Decode("x", []byte(in))
		if len(errs) == 0 {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestDecodeOne(t *testing.T) {
	if _, err := DecodeOne("x", []byte("# nothing\n---\n")); !errors.Is(err, ErrNoResources) {
		t.Errorf("empty: %v", err)
	}
	two := "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: a}\n---\n" +
		"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: b}\n"
	if _, err := DecodeOne("x", []byte(two)); !errors.Is(err, ErrMultipleResources) {
		t.Errorf("two: %v", err)
	}
	bad := "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: A}\n---\n" +
		"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: B}\n"
	_, err := DecodeOne("x", []byte(bad))
	if !IsValidation(err) || strings.Count(err.Error(), "metadata.name") != 2 {
		t.Errorf("two bad: %v", err)
	}
}

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\n")
	b.WriteString("x:\n  a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("spec:\n  ingress: [{action: Allow, protocol: TCP, destination: {ports: *a8}}]\n")
	start := time.Now()
	_, errs := Decode("bomb.yaml", []byte(b.String()))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "expands too many aliases") {
		t.Fatalf("errors = %v", errs)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestDocumentErrorFormat(t *testing.T) {
	e := &DocumentError{Source: "f.yaml", Index: 3, Line: 12, Kind: "HostEndpoint", Name: "h",
		Fields: []FieldError{{Field: "spec.node", Rule: "node must be specified"}, {Field: "spec", Rule: "x"}}}
	want := "f.yaml: document 3 (line 12): HostEndpoint \"h\": spec.node: node must be specified\n" +
		"f.yaml: document 3 (line 12): HostEndpoint \"h\": spec: x"
	if e.Error() != want {
		t.Errorf("got %q", e.Error())
	}
	e2 := &DocumentError{Source: "f.yaml", Index: 1, Line: 1, Err: &UnknownKindError{Kind: "K", APIVersion: "v"}}
	if !IsUnknownKind(e2) || e2.Error() != "f.yaml: document 1 (line 1): unknown resource type (K) and/or version (v)" {
		t.Errorf("got %q", e2.Error())
	}
}

func TestCalicoMessage(t *testing.T) {
	one := &DocumentError{Fields: []FieldError{{Field: "spec.node", Value: "", Rule: "node must be specified"}}}
	if got := one.CalicoMessage(); got != "error with field spec.node = '' (node must be specified)" {
		t.Errorf("got %q", got)
	}
	two := &DocumentError{Fields: []FieldError{{Field: "a", Value: "1", Rule: "x"}, {Field: "b", Value: "2", Rule: "y"}}}
	if got := two.CalicoMessage(); got != "error with the following fields:\n-  a = '1' (x)\n-  b = '2' (y)" {
		t.Errorf("got %q", got)
	}
}

// aliasScalarBomb is a document whose aliases repeat one large scalar:
// small on disk, gigabytes once expanded.
func aliasScalarBomb(scalar, aliases int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\n")
	fmt.Fprintf(&b, "  annotations:\n    a: &a %q\n", strings.Repeat("x", scalar))
	b.WriteString("spec:\n  selector: all()\n  ingress:\n  - action: Allow\n    metadata:\n      annotations:\n")
	for i := 0; i < aliases; i++ {
		fmt.Fprintf(&b, "        k%d: *a\n", i)
	}
	return []byte(b.String())
}

func TestAliasScalarBombIsBoundedByBytes(t *testing.T) {
	for _, tc := range []struct {
		name             string
		scalar, aliases  int
		wantField        string
		wantExpandedOver int
	}{
		{"305KB", 100_000, 12_000, "spec.ingress[0].metadata.annotations", 1 << 30},
		{"5MB", 1_000_000, 250_000, "spec.ingress[0].metadata.annotations", 200 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := aliasScalarBomb(tc.scalar, tc.aliases)
			if tc.scalar*tc.aliases < tc.wantExpandedOver {
				t.Fatalf("the bomb is too small to test anything")
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, errs := Decode("bomb.yaml", data)
			runtime.ReadMemStats(&after)
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantField) ||
				!strings.Contains(errs[0].Error(), "aliases expand the document beyond the limit of 32 MiB") {
				t.Fatalf("errors = %.300v", errs)
			}
			// Allocation, not time, is what the budget bounds: the
			// expansion stops at 32 MiB of JSON.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<20 {
				t.Errorf("decoding allocated %d MiB", alloc>>20)
			}
		})
	}
}

// FuzzDecodeMemory checks that no input makes Decode allocate more than a
// fixed budget beyond a multiple of its own size, however it uses aliases.
func FuzzDecodeMemory(f *testing.F) {
	f.Add(aliasScalarBomb(1000, 100))
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: &n x, labels: {a: *n, b: *n}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _ = Decode("fuzz", data)
		runtime.ReadMemStats(&after)
		budget := uint64(200*len(data)) + 1<<30
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > budget {
			t.Fatalf("decoding %d bytes allocated %d MiB (budget %d MiB)", len(data), alloc>>20, budget>>20)
		}
	})
}
