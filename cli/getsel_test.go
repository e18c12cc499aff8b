package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/store"
)

// TestGetSelectorAndName: kubectl's -l and -o name on get.
func TestGetSelectorAndName(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	put(t, st, `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node, zone: a}}
spec: {node: n1, interfaceName: eth0}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n2-eth0, labels: {role: node, zone: b}}
spec: {node: n2, interfaceName: eth0}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, image: x}]}
`)
	want(t, "", 0, "hostendpoint.projectcalico.org/n2-eth0\n", "", "get", "heps", "-l", "role=node,zone!=a", "-o", "name")
	want(t, "", 0, "hostendpoint.projectcalico.org/n1-eth0\nhostendpoint.projectcalico.org/n2-eth0\n", "",
		"get", "heps", "--selector", "zone in (a,b)", "-o", "name")
	want(t, "", 0, "", "", "get", "hep", "n1-eth0", "-l", "zone=b", "-o", "yaml")
	want(t, "", 0, "pod/web\n", "", "get", "pods", "-n", "shop", "-o", "name")
	wantContains(t, "", 1, "", "--selector", "get", "heps", "-l", "zone in (a")
}

// TestDeleteAll: delete KIND --all in a namespace, or with -A in all; a
// refused deletion (the default tier) is reported, the rest deleted.
func TestDeleteAll(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	put(t, st, `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: a, namespace: staging}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: b, namespace: staging}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: c, namespace: prod}
spec: {selector: all()}
`)
	want(t, "", 0, "Successfully deleted 2 'NetworkPolicy' resource(s)\n", "", "delete", "networkpolicy", "--all", "-n", "staging")
	want(t, "", 0, "NAMESPACE   NAME   TIER      \nprod        c      default   \n\n", "", "get", "networkpolicy", "-A")
	want(t, "", 0, "Successfully deleted 1 'NetworkPolicy' resource(s)\n", "", "delete", "networkpolicy", "--all", "-A")
	wantContains(t, "", 1, "", "not both", "delete", "networkpolicy", "x", "--all")
}

// TestCreateNamespace: kubectl's `create namespace NAME`; any other kind
// on create's command line says it takes -f.
func TestCreateNamespace(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	want(t, "", 0, "namespace/staging created\n", "", "create", "namespace", "staging")
	if !exists(t, st, store.KindK8sNamespace, "", "staging") {
		t.Error("the namespace was not stored")
	}
	wantContains(t, "", 1, "", "already exists", "create", "ns", "staging")
	want(t, "", 0, "namespace/staging created\n", "", "create", "ns", "staging", "--skip-exists")
	wantContains(t, "", 1, "", "create takes its resources from -f", "create", "gnp", "foo")
	wantContains(t, "", 1, "", "namespace \"Bad_Name\"", "create", "namespace", "Bad_Name")
}

// TestKubectlPluginName: as kubectl-palisade, help and examples say
// `kubectl palisade`.
func TestKubectlPluginName(t *testing.T) {
	old := ProgramName
	ProgramName = "kubectl palisade"
	t.Cleanup(func() { ProgramName = old })
	out, _ := wantContains(t, "", 0, "kubectl palisade get (KIND", "", "get", "--help")
	if !strings.Contains(out, "  kubectl palisade get heps -o wide") {
		t.Errorf("examples do not say kubectl palisade:\n%s", out)
	}
}

// TestKubernetesDatastoreConfig: a calicoctl configuration for the
// Kubernetes datastore gets the same message as $DATASTORE_TYPE, not a
// complaint about its other fields.
func TestKubernetesDatastoreConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calicoctl.cfg")
	cfg := "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n  datastoreType: kubernetes\n  kubeconfig: /root/.kube/config\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	wantContains(t, "", 1, "", `datastoreType "kubernetes" is not supported: palisade's datastore is etcd (etcdv3)`,
		"get", "heps", "-c", path)
}

// TestKindsHelpAndCompletion: get's help lists the kinds; shell completion
// offers kinds and aliases.
func TestKindsHelpAndCompletion(t *testing.T) {
	wantContains(t, "", 0, "Kinds: GlobalNetworkPolicy, NetworkPolicy", "", "get", "--help")
	out, _ := wantContains(t, "", 0, "globalnetworkpolicy\n", "", "__complete", "get", "glob")
	if strings.Contains(out, "hostendpoint") {
		t.Errorf("completion of glob offers hostendpoint:\n%s", out)
	}
	wantContains(t, "", 0, "netpol\n", "", "__complete", "delete", "netp")
}

// TestKubernetesColumns: kubectl's useful columns for pods, services and
// nodes.
func TestKubernetesColumns(t *testing.T) {
	st := newMemory(t)
	seedDefaults(t, st)
	put(t, st, `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, image: x}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: NodePort, clusterIP: 198.19.128.10, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {zone: a}}
status: {addresses: [{type: InternalIP, address: 198.19.0.2}]}
`)
	want(t, "", 0, "NAMESPACE   NAME   IP            NODE   LABELS    \nshop        web    198.18.1.10   n1     app=web   \n\n", "",
		"get", "po", "-n", "shop", "-o", "wide")
	want(t, "", 0, "NAMESPACE   NAME   TYPE       CLUSTER-IP      PORTS          \nshop        web    NodePort   198.19.128.10   80:30080/TCP   \n\n", "",
		"get", "svc", "-n", "shop", "-o", "wide")
	want(t, "", 0, "NAME   ADDRESSES    LABELS   \nn1     198.19.0.2   zone=a   \n\n", "", "get", "k8snodes", "-o", "wide")
}
