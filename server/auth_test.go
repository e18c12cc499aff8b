package server

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The documented multi-node set-up, with the real binary: `palisade certs
// init` and `certs node`, a server with client certificates (which turns
// etcd authentication on), the administrator's command line, and a node
// identity that reads policy and writes only its own Node.
func TestCertificateIdentities(t *testing.T) {
	t.Parallel()
	binary(t)
	dir := t.TempDir()
	if out, err := cliRun(t, nil, "certs", "init", "--dir", dir, "--hosts", "127.0.0.1"); err != nil {
		t.Fatalf("certs init: %v\n%s", err, out)
	}
	if out, err := cliRun(t, nil, "certs", "init", "--dir", dir); err == nil || !strings.Contains(out, "file exists") {
		t.Errorf("certs init over existing files: %v\n%s", err, out)
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	ports := freePorts(t, 3)
	p := startServer(t, addr(ports[2]), nil,
		"--data-dir", filepath.Join(t.TempDir(), "data"), "--listen", addr(ports[0]), "--peer-listen", addr(ports[1]),
		"--cert-file", f("server.pem"), "--key-file", f("server-key.pem"), "--trusted-ca-file", f("ca.pem"))
	p.waitReady(30 * time.Second)
	if !strings.Contains(p.log(), "datastore authentication on") {
		t.Errorf("the server did not turn authentication on:\n%s", p.log())
	}
	endpoint := "https://" + addr(ports[0])
	admin := []string{"ETCD_ENDPOINTS=" + endpoint, "ETCD_CA_CERT_FILE=" + f("ca.pem"),
		"ETCD_CERT_FILE=" + f("admin.pem"), "ETCD_KEY_FILE=" + f("admin-key.pem")}
	if out, err := cliRun(t, admin, "certs", "node", "n1", "--dir", dir); err != nil ||
		!strings.Contains(out, "authorized node n1") {
		t.Fatalf("certs node: %v\n%s", err, out)
	}
	out, err := cliRun(t, admin, "get", "tiers")
	if err != nil || !strings.Contains(out, "default") {
		t.Fatalf("admin get tiers: %v\n%s", err, out)
	}

	node, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{endpoint}, CAFile: f("ca.pem"),
		CertFile: f("node-n1.pem"), KeyFile: f("node-n1-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	ctx := ctxT(t, 20*time.Second)
	if _, _, err := node.List(ctx, api.KindTier, ""); err != nil {
		t.Errorf("a node cannot read policy: %v", err)
	}
	own := calicoNode("n1", map[string]string{"rack": "r1"}, "198.19.0.2")
	if _, err := node.Create(ctx, own); err != nil {
		t.Errorf("a node cannot write its own Node: %v", err)
	}
	own.Labels["rack"] = "r2"
	if _, err := node.Update(ctx, own); err != nil {
		t.Errorf("a node cannot update its own Node: %v", err)
	}
	// What an agent does: watch everything.
	events, err := node.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	synced := false
	for ev := range events {
		if ev.Type == store.Synced {
			synced = true
			break
		}
	}
	if !synced {
		t.Error("a node's watch never synced")
	}
	gnp := &api.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "sneaky"}}
	api.SetTypeMeta(gnp)
	for what, err := range map[string]error{
		"a policy":       func() error { _, err := node.Create(ctx, gnp); return err }(),
		"another's Node": func() error { _, err := node.Create(ctx, calicoNode("n2", nil, "198.19.0.3")); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("a node writing %s: %v, want permission denied", what, err)
		}
	}
	// Without a certificate from the CA: refused, as before.
	if out, err := cliRun(t, []string{"ETCD_ENDPOINTS=" + endpoint, "ETCD_CA_CERT_FILE=" + f("ca.pem")}, "get", "tiers"); err == nil {
		t.Errorf("get without a client certificate succeeded:\n%s", out)
	}
}
