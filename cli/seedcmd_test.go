package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
)

// The seeds' command sequences, with palisade in place of calicoctl and
// kubectl, against an in-memory datastore holding what `palisade server`
// creates at first start.

// Seed 000, "Create Network Policy for Nodes": the heredoc, its two code
// blocks rejoined.
const seed000DefaultNodePolicy = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-node-policy
spec:
  selector: has(kubernetes.io/hostname)
  ingress:
  - action: Allow
    protocol: TCP
    source:
      nets:
        - 127.0.0.1/32
  - action: Allow
    protocol: UDP
    source:
      nets:
        - 127.0.0.1/32
`

const seed000NodeportDeny = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nodeport-policy
spec:
  order: 100
  selector: has(kubernetes.io/hostname)
  applyOnForward: true
  preDNAT: true
  ingress:
  - action: Deny
    protocol: TCP
    destination:
      ports: ["30000:32767"]
  - action: Deny
    protocol: UDP
    destination:
      ports: ["30000:32767"]
`

const seed000NodeportHost1 = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: nodeport-policy
spec:
  order: 100
  selector: has(kubernetes.io/hostname)
  applyOnForward: true
  preDNAT: true
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [30180]
    source:
      nets:
        - 198.19.15.254/32
  - action: Deny
    protocol: TCP
    destination:
      ports: ["30000:32767"]
  - action: Deny
    protocol: UDP
    destination:
      ports: ["30000:32767"]
`

// The seed 001 docs' patch, and seed 000's copy of it with one closing
// brace missing.
const (
	seedPatch       = `{"spec": {"controllers": {"node": {"hostEndpoint": {"autoCreate": "Enabled"}}}}}`
	seed000BadPatch = `{"spec": {"controllers": {"node": {"hostEndpoint": {"autoCreate": "Enabled"}}}}`
)

func TestSeed000Commands(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)

	// cat <<EOF | palisade apply -f -
	want(t, seed000DefaultNodePolicy, 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "",
		"apply", "-f", "-")
	// palisade get heps: no host endpoints yet.
	want(t, "", 0, "NAME   NODE   \n\n", "", "get", "heps")

	// The seed's own patch lacks a brace: a clear JSON error, nothing written.
	before := mustGet(t, st, api.KindKubeControllersConfiguration, "", "default").GetResourceVersion()
	wantContains(t, "", 1, "", "patch is not valid JSON: unexpected end of JSON input (1 '{' and 0 '[' are not closed)",
		"patch", "kubecontrollersconfiguration", "default", "--patch="+seed000BadPatch)
	if rv := mustGet(t, st, api.KindKubeControllersConfiguration, "", "default").GetResourceVersion(); rv != before {
		t.Errorf("a bad patch changed the resource: resourceVersion %s -> %s", before, rv)
	}

	// The docs' patch (seed 001) switches automatic host endpoints on and
	// keeps every other field.
	want(t, "", 0, "Successfully patched 1 'KubeControllersConfiguration' resource\n", "",
		"patch", "kubecontrollersconfiguration", "default", "--patch="+seedPatch)
	kcc := mustGet(t, st, api.KindKubeControllersConfiguration, "", "default").(*api.KubeControllersConfiguration)
	node := kcc.Spec.Controllers.Node
	if !kcc.AutoHostEndpointsEnabled() || node.ReconcilerPeriod == nil || node.ReconcilerPeriod.Duration.String() != "5m0s" ||
		kcc.Spec.HealthChecks != "Enabled" {
		t.Errorf("patched KubeControllersConfiguration: %+v / %+v", kcc.Spec, *node)
	}

	// nodeport-policy, first the deny-all version, then host1's exception.
	want(t, seed000NodeportDeny, 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	first := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "nodeport-policy")
	want(t, seed000NodeportHost1, 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	second := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "nodeport-policy").(*api.GlobalNetworkPolicy)
	if len(second.Spec.Ingress) != 3 || second.Spec.Ingress[0].Action != api.Allow ||
		second.GetResourceVersion() == first.GetResourceVersion() || second.GetUID() != first.GetUID() {
		t.Errorf("second apply: rv %s -> %s, uid %s -> %s, ingress %+v", first.GetResourceVersion(),
			second.GetResourceVersion(), first.GetUID(), second.GetUID(), second.Spec.Ingress)
	}
	want(t, "", 0, "NAME                  TIER      ORDER   SELECTOR                      \n"+
		"default-node-policy   default   <nil>   has(kubernetes.io/hostname)   \n"+
		"nodeport-policy       default   100     has(kubernetes.io/hostname)   \n\n", "", "get", "gnp", "-o", "wide")
}

// autoHEPs does what the node controller would: one wildcard host endpoint
// per Kubernetes node, when the configuration enables them.
func autoHEPs(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	kcc := mustGet(t, st, api.KindKubeControllersConfiguration, "", "default").(*api.KubeControllersConfiguration)
	nodes, _, err := st.List(ctx, store.KindK8sNode, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		heps, err := autohep.ForNode(autohep.FromKubernetesNode(n.(*corev1.Node)), kcc.Spec.Controllers.Node.HostEndpoint)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range heps {
			if _, err := st.Create(ctx, h); err != nil && !store.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
	}
}

func TestSeed001Commands(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	want(t, "", 0, "Successfully applied 3 'Node' resource(s)\n", "", "apply", "-f", "../examples/topology/00-nodes.yaml")
	want(t, "", 0, "Successfully patched 1 'KubeControllersConfiguration' resource\n", "",
		"patch", "kubecontrollersconfiguration", "default", "--patch="+seedPatch)

	// kubectl label nodes --all kubernetes-host=
	want(t, "", 0, "Successfully set label kubernetes-host on nodes control\n"+
		"Successfully set label kubernetes-host on nodes node1\n"+
		"Successfully set label kubernetes-host on nodes node2\n", "", "label", "nodes", "--all", "kubernetes-host=")
	// kubectl label node node1 environment=dev (and node2)
	want(t, "", 0, "Successfully set label environment on node node1\n", "", "label", "node", "node1", "environment=dev")
	want(t, "", 0, "Successfully set label environment on node node2\n", "", "label", "node", "node2", "environment=dev")
	// ... | xargs -I{} kubectl label node {} kubernetes-worker=
	for _, n := range []string{"node1", "node2"} {
		want(t, "", 0, "Successfully set label kubernetes-worker on node "+n+"\n", "", "label", "node", n, "kubernetes-worker=")
	}
	n1 := mustGet(t, st, store.KindK8sNode, "", "node1")
	if l := n1.GetLabels(); l["kubernetes-host"] != "" || l["environment"] != "dev" || l["kubernetes.io/hostname"] != "node1" || len(l) != 4 {
		t.Errorf("node1 labels: %v", l)
	}

	for _, f := range []string{"30-ingress-k8s-masters.yaml", "50-ingress-k8s-workers.yaml"} {
		data, err := os.ReadFile("../examples/seed001/" + f)
		if err != nil {
			t.Fatal(err)
		}
		want(t, string(data), 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	}
	autoHEPs(t, st)
	want(t, "", 0,
		"NAME               NODE      INTERFACE   IPS          PROFILES                      \n"+
			"control-auto-hep   control   *           198.19.0.1   projectcalico-default-allow   \n"+
			"node1-auto-hep     node1     *           198.19.0.2   projectcalico-default-allow   \n"+
			"node2-auto-hep     node2     *           198.19.0.3   projectcalico-default-allow   \n\n", "",
		"get", "heps", "-owide")
}

func TestSeed003ExportEditApply(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	code, out, errOut := run(t, "", "get", "felixconfiguration", "default", "--export", "-o", "yaml")
	wantYAML := "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n" +
		"  name: default\nspec:\n  ipipEnabled: true\n  logSeverityScreen: Info\n  reportingInterval: 0s\n"
	if code != 0 || out != wantYAML {
		t.Fatalf("export: exit %d, err %q\n%s\nwant\n%s", code, errOut, out, wantYAML)
	}
	// The user adds defaultEndpointToHostAction in an editor.
	edited := strings.Replace(out, "spec:\n", "spec:\n  defaultEndpointToHostAction: Accept\n", 1)
	path := filepath.Join(t.TempDir(), "default-felix-config.yaml")
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	want(t, "", 0, "Successfully applied 1 'FelixConfiguration' resource(s)\n", "", "apply", "-f", path)
	fc := mustGet(t, st, api.KindFelixConfiguration, "", "default").(*api.FelixConfiguration)
	if fc.Spec.DefaultEndpointToHostAction != "Accept" || string(fc.Spec.Extra["ipipEnabled"]) != "true" {
		t.Errorf("applied FelixConfiguration: %+v", fc.Spec)
	}
}
