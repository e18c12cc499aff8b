package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
)

// The tables of docs/api.md §8.4, byte for byte ($ there = end of line here).
func TestGetTablesOfTheSpec(t *testing.T) {
	st := newMemory(t)
	put(t, st, `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-auto-hep}
spec: {node: node1, interfaceName: "*", expectedIPs: [10.0.0.5, 192.168.10.0], profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec: {order: 100, selector: all()}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-ingress}
spec: {selector: has(kubernetes-host)}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: allow-web, namespace: prod}
spec: {selector: all()}
`)
	want(t, "", 0, ""+
		"NAME             NODE    INTERFACE   IPS                     PROFILES                      \n"+
		"node1-auto-hep   node1   *           10.0.0.5,192.168.10.0   projectcalico-default-allow   \n"+
		"\n", "", "get", "heps", "-o", "wide")
	want(t, "", 0, ""+
		"NAME           TIER      ORDER   SELECTOR               \n"+
		"allow-dns      default   100     all()                  \n"+
		"host-ingress   default   <nil>   has(kubernetes-host)   \n"+
		"\n", "", "get", "gnp", "-o", "wide")
	want(t, "", 0, ""+
		"NAMESPACE   NAME        TIER      \n"+
		"prod        allow-web   default   \n"+
		"\n", "", "get", "networkpolicy", "-n", "prod")
	// Named gets print one table per resource; a missing one is reported
	// after the output.
	want(t, "", 1, "NAME           TIER      \nhost-ingress   default   \n\nNAME        TIER      \nallow-dns   default   \n\n",
		"resource does not exist: GlobalNetworkPolicy(nope) with error: <nil>\n",
		"get", "GlobalNetworkPolicies", "host-ingress", "nope", "allow-dns")
	want(t, "", 0, "NAME             NODE    \nnode1-auto-hep   node1   \n\n", "", "get", "HostEndpoint")
	want(t, "", 0, "NAME             IPS                     \nnode1-auto-hep   10.0.0.5,192.168.10.0   \n\n", "",
		"get", "hep", "-o", "custom-columns=NAME,IPS")
}

func TestGetEveryKindPrints(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	put(t, st, `
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.prod}
spec: {labelsToApply: {b: "2", a: "1"}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: big}
spec: {nets: [10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.4.0/24, 10.0.5.0/24, 10.0.6.0/24, 10.0.7.0/24]}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: n1-k8s-web-eth0, namespace: prod}
spec: {node: n1, orchestrator: k8s, pod: web, endpoint: eth0, interfaceName: cali1, ipNetworks: [10.1.0.5/32]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod}
spec: {nodeName: n1}
`)
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"profiles", "-o", "wide"}, "NAME                          LABELS    \nkns.prod                      a=1,b=2   \n" +
			"projectcalico-default-allow             \n\n"},
		{[]string{"gnetsets", "-o", "wide"}, "NAME   NETS                                                                               \n" +
			"big    10.0.0.0/24,10.0.1.0/24,10.0.2.0/24,10.0.3.0/24,10.0.4.0/24,10.0.5.0/24,10.0....   \n\n"},
		{[]string{"nodes", "-o", "wide"}, "NAME   ASN       IPV4          IPV6   \nn1     (64512)   10.0.0.1/24          \n\n"},
		{[]string{"tiers"}, "NAME      ORDER   \ndefault   1e+06   \n\n"},
		{[]string{"weps", "-n", "prod"}, "NAMESPACE   WORKLOAD   NODE   NETWORKS      INTERFACE   \n" +
			"prod        web        n1     10.1.0.5/32   cali1       \n\n"},
		{[]string{"felixconfig"}, "NAME      \ndefault   \n\n"},
		{[]string{"kubecontrollersconfigs", "default"}, "NAME      \ndefault   \n\n"},
		{[]string{"pods", "-A"}, "NAMESPACE   NAME   NODE   \nprod        web    n1     \n\n"},
		{[]string{"profile", "projectcalico-default-allow"}, "NAME                          \nprojectcalico-default-allow   \n\n"},
	} {
		want(t, "", 0, tc.out, "", append([]string{"get"}, tc.args...)...)
	}
	want(t, "", 1, "", "failed to get resources: resource type 'somekind' is not supported\n", "get", "somekind")
	want(t, "", 1, "", "failed to get resources: resource type 'kcc' is not supported\n", "get", "kcc")
}

func TestGetFormats(t *testing.T) {
	st := newMemory(t)
	put(t, st, gnp("a", "  order: 100.5\n")+"---\n"+gnp("b", ""))
	want(t, "", 1, "", "need to specify at least one column\n", "get", "gnp", "-o", "custom-columns=")
	want(t, "", 1, "", "need to specify a template\n", "get", "gnp", "-o", "go-template=")
	want(t, "", 1, "", "need to specify a template file\n", "get", "gnp", "-o", "go-template-file=")
	want(t, "", 1, "", "unrecognized output format 'xml'\n", "get", "gnp", "-o", "xml")
	want(t, "", 1, "", "unknown heading BOGUS, valid values are: NAME, ORDER, SELECTOR, TIER\n",
		"get", "gnp", "-o", "custom-columns=NAME,bogus")
	want(t, "", 0, "a:100.5 b:<nil> ", "", "get", "gnp", "-o",
		`go-template={{range .}}{{range .Items}}{{.Name}}:{{.Spec.Order}} {{end}}{{end}}`)

	// YAML: a list is a <Kind>List with the list's resourceVersion.
	_, out, _ := run(t, "", "get", "gnp", "-o", "yaml")
	if !strings.HasPrefix(out, "apiVersion: projectcalico.org/v3\nitems:\n- apiVersion: projectcalico.org/v3\n  kind: GlobalNetworkPolicy\n") ||
		!strings.Contains(out, "\nkind: GlobalNetworkPolicyList\nmetadata:\n  resourceVersion: \"") {
		t.Errorf("list YAML:\n%s", out)
	}
	// Several names: a sequence.
	_, out, _ = run(t, "", "get", "gnp", "a", "b", "-o", "yaml")
	if !strings.HasPrefix(out, "- apiVersion: projectcalico.org/v3\n") || strings.Count(out, "\n- apiVersion") != 1 {
		t.Errorf("two names YAML:\n%s", out)
	}
	// JSON: struct order, two-space indent, newline at the end.
	_, out, _ = run(t, "", "get", "gnp", "a", "-o", "json")
	if !strings.HasPrefix(out, "{\n  \"kind\": \"GlobalNetworkPolicy\",\n  \"apiVersion\": \"projectcalico.org/v3\",\n  \"metadata\": {\n") ||
		!strings.HasSuffix(out, "}\n") {
		t.Errorf("JSON:\n%s", out)
	}
	var v struct{ Spec struct{ Order float64 } }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Spec.Order != 100.5 {
		t.Errorf("JSON does not decode: %v %+v", err, v)
	}
	// get -f: the file's resources, looked up by name.
	want(t, gnp("b", "")+"---\n"+gnp("zz", ""), 1, "NAME   TIER      \nb      default   \n\n",
		"resource does not exist: GlobalNetworkPolicy(zz) with error: <nil>\n", "get", "-f", "-")
	// --export strips only with names.
	_, out, _ = run(t, "", "get", "gnp", "a", "--export", "-o", "yaml")
	if strings.Contains(out, "resourceVersion") || strings.Contains(out, "uid") || strings.Contains(out, "creationTimestamp") {
		t.Errorf("export kept cluster metadata:\n%s", out)
	}
	_, out, _ = run(t, "", "get", "gnp", "--export", "-o", "yaml")
	if !strings.Contains(out, "  - apiVersion") && !strings.Contains(out, "uid") {
		t.Errorf("export of a list stripped metadata:\n%s", out)
	}
	if o := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "a"); o.GetUID() == "" {
		t.Error("export changed the stored object")
	}
}

// TestGetNetpolAlias: issue 3 names `get netpol`; like kubectl, it lists the
// Kubernetes NetworkPolicies palisade stores (calicoctl's own table has no
// netpol, and Calico's are `np`, `pol`, `networkpolicy`).
func TestGetNetpolAlias(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	put(t, st, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: prod}
spec: {podSelector: {}}`)
	for _, alias := range []string{"netpol", "netpols", "knp"} {
		code, out, errOut := run(t, "", "get", alias, "-A")
		if code != 0 || !strings.Contains(out, "deny-all") {
			t.Errorf("get %s -A: exit %d\nstdout:\n%s\nstderr:\n%s", alias, code, out, errOut)
		}
	}
}
