package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

const backupObjects = `
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block}
spec: {tier: security, selector: all(), ingress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec: {selector: app == 'web', ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [198.19.0.2]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: n1-k8s-web-eth0, namespace: app, labels: {app: web}}
spec: {orchestrator: k8s, node: n1, pod: web, endpoint: eth0, interfaceName: cali1, ipNetworks: [198.18.1.10/32], profiles: [kns.app]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: knp.default.deny
  namespace: app
  annotations: {palisade.io/source: "NetworkPolicy app/deny uid=u rv=1"}
spec: {selector: all(), types: [Ingress]}
`

// TestExportImport: an export holds every resource but the mirrored ones,
// without what ties it to its datastore, in an order import writes back;
// import restores it into a fresh datastore and refuses a non-empty one.
func TestExportImport(t *testing.T) {
	src := newMemory(t)
	seedDefaults(t, src)
	put(t, src, backupObjects)
	out, _ := wantContains(t, "", 0, "# palisade datastore export: 9 resources; 1 mirrored from Kubernetes left out", "",
		"datastore", "export")
	for _, bad := range []string{"resourceVersion", "uid:", "creationTimestamp", "knp.default.deny"} {
		if strings.Contains(out, bad) {
			t.Errorf("the export holds %q:\n%s", bad, out)
		}
	}
	if strings.Index(out, "kind: Tier\n") > strings.Index(out, "kind: GlobalNetworkPolicy") {
		t.Errorf("the tier comes after its policy:\n%s", out)
	}

	dst := newMemory(t)
	seedDefaults(t, dst)
	want(t, out, 0, "Successfully imported 9 resource(s)\n", "", "datastore", "import", "-f", "-")
	ctx := context.Background()
	for _, kind := range store.AllKinds() {
		objs, _, err := src.List(ctx, kind, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if strings.HasPrefix(o.GetName(), "knp.") {
				continue
			}
			got, err := dst.Get(ctx, store.KeyOf(o))
			if err != nil {
				t.Errorf("%s not imported: %v", api.ID(o), err)
				continue
			}
			if a, b := specJSON(t, o), specJSON(t, got); a != b {
				t.Errorf("%s differs after import:\n%s\n%s", api.ID(o), a, b)
			}
		}
	}
	wantContains(t, out, 1, "", "the datastore is not empty", "datastore", "import", "-f", "-")

	empty := newMemory(t)
	seedDefaults(t, empty)
	broken := out + "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\nspec: {bogus: 1}\n"
	wantContains(t, broken, 1, "", "nothing imported: 1 document(s) are invalid", "datastore", "import", "-f", "-")
	if exists(t, empty, store.Kind(api.KindTier), "", "security") {
		t.Error("an import with an invalid document wrote something")
	}
}

// specJSON is an object without its datastore metadata, as JSON.
func specJSON(t *testing.T, o api.Object) string {
	t.Helper()
	uid, rv, ts := o.GetUID(), o.GetResourceVersion(), o.GetCreationTimestamp()
	stripForBackup(o)
	data, err := api.EncodeJSON(o)
	o.SetUID(uid)
	o.SetResourceVersion(rv)
	o.SetCreationTimestamp(ts)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSnapshotSave: an etcd snapshot of a real member is written to the
// file (the member's data, with what was put before it).
func TestSnapshotSave(t *testing.T) {
	srv := startEtcd(t, "http://127.0.0.1:0")
	st := etcdCLI(t, srv.ClientEndpoints())
	put(t, st, serverDefaults)
	path := filepath.Join(t.TempDir(), "backup.db")
	out, _ := wantContains(t, "", 0, "Snapshot saved to "+path, "", "datastore", "snapshot", "save", path)
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 4096 || !bytes.Contains(data, []byte("/palisade/resources/v3/projectcalico.org/tiers/default")) {
		t.Errorf("snapshot %s: %d bytes, %v (%s)", path, len(data), err, out)
	}
}
