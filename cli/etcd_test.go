package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// startEtcd runs an embedded etcd member for the test on clientURL
// (http://127.0.0.1:0 or a unix:// socket).
func startEtcd(t testing.TB, clientURL string) *store.Embedded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := store.StartEmbedded(ctx, store.EmbedConfig{
		Name: "cli", DataDir: filepath.Join(t.TempDir(), "etcd"),
		ListenClient: []string{clientURL}, ListenPeer: []string{"http://127.0.0.1:0"},
		UnsafeNoFsync: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// etcdCLI runs commands against a real etcd through the real client, with
// the endpoints in $ETCD_ENDPOINTS (as users set it).
func etcdCLI(t testing.TB, endpoints []string) store.Store {
	t.Helper()
	oldEnv, oldDelay := getenv, retryDelay
	env := map[string]string{"ETCD_ENDPOINTS": strings.Join(endpoints, ",")}
	getenv = func(k string) string { return env[k] }
	retryDelay = 10 * time.Millisecond
	t.Cleanup(func() { getenv, retryDelay = oldEnv, oldDelay })
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestEndToEndEmbeddedEtcd runs the seeds' commands against a real
// embedded etcd over TCP, and a few over a unix socket.
func TestEndToEndEmbeddedEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	srv := startEtcd(t, "http://127.0.0.1:0")
	st := etcdCLI(t, srv.ClientEndpoints())
	applied := func(n int, kind string) string {
		return fmt.Sprintf("Successfully applied %d '%s' resource(s)\n", n, kind)
	}
	want(t, serverDefaults, 0, "Successfully applied 3 resource(s)\n", "", "apply", "-f", "-")
	want(t, seed000DefaultNodePolicy, 0, applied(1, "GlobalNetworkPolicy"), "", "apply", "-f", "-")
	want(t, "", 0, "NAME   NODE   \n\n", "", "get", "heps")
	want(t, "", 0, "Successfully patched 1 'KubeControllersConfiguration' resource\n", "",
		"patch", "kubecontrollersconfiguration", "default", "--patch="+seedPatch)
	want(t, seed000NodeportDeny, 0, applied(1, "GlobalNetworkPolicy"), "", "apply", "-f", "-")
	want(t, seed000NodeportHost1, 0, applied(1, "GlobalNetworkPolicy"), "", "apply", "-f", "-")
	want(t, "", 0, applied(3, "Node"), "", "apply", "-f", "../examples/topology/00-nodes.yaml")
	wantContains(t, "", 0, "Successfully set label kubernetes-host on nodes node2\n", "", "label", "nodes", "--all", "kubernetes-host=")
	autoHEPs(t, st)
	wantContains(t, "", 0, "node1-auto-hep     node1     *           198.19.0.2   projectcalico-default-allow   \n", "",
		"get", "heps", "-o", "wide")

	// resourceVersion is the etcd modification revision; a stale one conflicts.
	p := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "nodeport-policy")
	stale := strings.Replace(seed000NodeportDeny, "name: nodeport-policy",
		"name: nodeport-policy\n  resourceVersion: \""+p.GetResourceVersion()+"\"", 1)
	want(t, stale, 0, "Successfully replaced 1 'GlobalNetworkPolicy' resource(s)\n", "", "replace", "-f", "-")
	wantContains(t, stale, 1, "", "update conflict: GlobalNetworkPolicy(nodeport-policy)", "replace", "-f", "-")

	// Concurrent writers: applies and labels, none lost.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if c, _, e := run(t, seed000NodeportHost1, "apply", "-f", "-"); c != 0 {
				t.Errorf("concurrent apply: %s", e)
			}
		}()
		go func() {
			defer wg.Done()
			if c, _, e := run(t, "", "label", "gnp", "nodeport-policy", fmt.Sprintf("k%d=v", i)); c != 0 {
				t.Errorf("concurrent label: %s", e)
			}
		}()
	}
	wg.Wait()
	if l := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "nodeport-policy").GetLabels(); len(l) != 5 {
		t.Errorf("labels after concurrent writes: %v", l)
	}

	// Seed 003 round trip, then delete.
	_, out, _ := run(t, "", "get", "felixconfiguration", "default", "--export", "-o", "yaml")
	edited := strings.Replace(out, "spec:\n", "spec:\n  defaultEndpointToHostAction: Accept\n", 1)
	want(t, edited, 0, applied(1, "FelixConfiguration"), "", "apply", "-f", "-")
	want(t, "", 0, "Successfully deleted 2 'GlobalNetworkPolicy' resource(s)\n", "",
		"delete", "gnp", "nodeport-policy", "default-node-policy")
	wantContains(t, "", 0, "Verdict: ALLOW", "", "explain", "--from", "198.19.15.254", "--to", "node:control", "--port", "21/TCP")

	// The same over a unix socket, given with --etcd-endpoints.
	sock := startEtcd(t, "unix://"+filepath.Join(t.TempDir(), "etcd.sock"))
	ep := sock.ClientEndpoints()[0]
	want(t, gnp("over-unix", ""), 0, applied(1, "GlobalNetworkPolicy"), "", "apply", "-f", "-", "--etcd-endpoints", ep)
	want(t, "", 0, "NAME        TIER      \nover-unix   default   \n\n", "", "get", "gnp", "--etcd-endpoints", ep)
}

// policies1000 is one file with 1,000 GlobalNetworkPolicies.
func policies1000() []byte {
	var b bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: policy-%04d
spec:
  order: %d
  selector: app == 'app-%d' && has(kubernetes.io/hostname)
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: role == 'frontend'
      nets: [10.%d.0.0/16]
    destination:
      ports: [80, 443, "8000:8100"]
  - action: Deny
    protocol: UDP
  egress:
  - action: Allow
`, i, i, i%50, i%250)
	}
	return b.Bytes()
}

// BenchmarkApply1000Policies is `palisade apply -f policies.yaml` with
// 1,000 policies in one file: creates into an empty datastore, and updates
// when they all exist, in memory and on an embedded etcd.
func BenchmarkApply1000Policies(b *testing.B) {
	path := filepath.Join(b.TempDir(), "policies.yaml")
	if err := os.WriteFile(path, policies1000(), 0o644); err != nil {
		b.Fatal(err)
	}
	apply := func(b *testing.B) {
		if code := Run([]string{"apply", "-f", path}, nil, io.Discard, os.Stderr); code != 0 {
			b.Fatalf("apply exited %d", code)
		}
	}
	b.Run("memory/create", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			withStore(b, store.NewMemory())
			b.StartTimer()
			apply(b)
		}
	})
	if testing.Short() {
		return
	}
	srv := startEtcd(b, "http://127.0.0.1:0")
	st := etcdCLI(b, srv.ClientEndpoints())
	b.Run("etcd/create", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if _, err := st.(*store.Etcd).Client().Delete(context.Background(), store.Prefix, clientv3.WithPrefix()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			apply(b)
		}
	})
	b.Run("etcd/update", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			apply(b)
		}
	})
}
