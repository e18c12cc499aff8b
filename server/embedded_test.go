package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/rollback"
	"github.com/palisade-net/palisade/store"
	"github.com/palisade-net/palisade/version"
)

// startInProcess starts a server with an embedded member in a temporary
// directory, without fsync.
func startInProcess(t *testing.T) *Server {
	t.Helper()
	ports := freePorts(t, 1)
	s, err := Start(ctxT(t, time.Minute), Config{
		DataDir:       t.TempDir(),
		Listen:        []string{"127.0.0.1:0"},
		PeerListen:    []string{addr(ports[0])},
		HealthListen:  "127.0.0.1:0",
		UnsafeNoFsync: true,
		Logger:        quietLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// (a) The embedded server: defaults, health endpoints, the controller.
func TestEmbeddedServer(t *testing.T) {
	begin := time.Now()
	s := startInProcess(t)
	eventually(t, 10*time.Second, func() error { return readyAt(s.HealthAddr()) })
	t.Logf("ready %v after Start", time.Since(begin).Round(time.Millisecond))
	st := s.Store()
	ctx := ctxT(t, 30*time.Second)

	t.Run("defaults", func(t *testing.T) { checkDefaults(t, st) })
	t.Run("version recorded", func(t *testing.T) {
		eventually(t, 5*time.Second, func() error {
			resp, err := s.st.Client().Get(ctx, version.ServersPrefix+s.cfg.Name)
			if err == nil && (len(resp.Kvs) == 0 || !strings.Contains(string(resp.Kvs[0].Value), version.Get().Version)) {
				err = errors.New("the server's version is not recorded")
			}
			return err
		})
	})
	t.Run("unconfirmed change rolled back", func(t *testing.T) {
		k := store.Key{Kind: store.Kind(api.KindGlobalNetworkSet), Name: "temp"}
		prior, err := rollback.Capture(ctx, st, []store.Key{k}) // absent
		if err != nil {
			t.Fatal(err)
		}
		gns := &api.GlobalNetworkSet{}
		gns.Name = "temp"
		api.SetTypeMeta(gns)
		if _, err := st.Create(ctx, gns); err != nil {
			t.Fatal(err)
		}
		c := rollback.Change{ID: "t1", Created: time.Now(), Deadline: time.Now(), Prior: prior}
		if err := rollback.Record(ctx, s.st.Client(), c); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, func() error {
			if _, err := st.Get(ctx, k); !store.IsNotFound(err) {
				return errors.New("the leader did not roll the change back")
			}
			return nil
		})
	})
	t.Run("default tier recreated", func(t *testing.T) {
		// Deleted around the CLI (which refuses it): the leader puts it back.
		if _, err := st.Delete(ctx, store.Key{Kind: store.Kind(api.KindTier), Name: api.DefaultTierName}, ""); err != nil {
			t.Fatal(err)
		}
		eventually(t, 3*defaultsEvery, func() error {
			_, err := st.Get(ctx, store.Key{Kind: store.Kind(api.KindTier), Name: api.DefaultTierName})
			return err
		})
	})
	t.Run("health", func(t *testing.T) {
		code, body, err := httpGet("http://" + s.HealthAddr() + "/liveness")
		if err != nil || code != http.StatusOK {
			t.Fatalf("liveness %d %q %v", code, body, err)
		}
		code, body, err = httpGet("http://" + s.HealthAddr() + "/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("metrics %d %v", code, err)
		}
		for _, m := range []string{"palisade_autohep_syncs_total", "palisade_autohep_synced 1", "go_goroutines"} {
			if !strings.Contains(body, m) {
				t.Errorf("metrics lack %s", m)
			}
		}
	})
	t.Run("controller", func(t *testing.T) {
		autoHEPWorks(t, st, "n1")
		if _, err := st.Delete(ctx, nodeKey("n1"), ""); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Second, func() error {
			if _, err := st.Get(ctx, hepKey("n1-auto-hep")); !store.IsNotFound(err) {
				return errors.New("n1-auto-hep not deleted with its node")
			}
			return nil
		})
	})
	begin = time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(begin).Round(time.Millisecond))
	if _, _, err := httpGet("http://" + s.HealthAddr() + "/liveness"); err == nil {
		t.Error("health endpoints still answer after Close")
	}
}

// checkDefaults checks the default resources of a fresh datastore.
func checkDefaults(t *testing.T, st store.Store) {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	o, err := st.Get(ctx, store.Key{Kind: store.Kind(api.KindTier), Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	tier := o.(*api.Tier)
	if tier.Spec.Order == nil || *tier.Spec.Order != 1e6 || tier.Spec.DefaultAction == nil || *tier.Spec.DefaultAction != api.Deny {
		t.Errorf("tier default: %+v", tier.Spec)
	}
	if _, err := st.Get(ctx, store.Key{Kind: store.Kind(api.KindFelixConfiguration), Name: "default"}); err != nil {
		t.Error(err)
	}
	o, err = st.Get(ctx, kccKey)
	if err != nil {
		t.Fatal(err)
	}
	k := o.(*api.KubeControllersConfiguration)
	if k.AutoHostEndpointsEnabled() || k.Spec.Controllers.Node.HostEndpoint.AutoCreate != autohep.Disabled {
		t.Errorf("KubeControllersConfiguration default: %+v", k.Spec.Controllers.Node)
	}
	profiles, _, err := st.List(ctx, store.Kind(api.KindProfile), "")
	if err != nil || len(profiles) != 0 {
		t.Errorf("profiles stored: %d, %v (projectcalico-default-allow is never stored)", len(profiles), err)
	}
}

// Defaults are created only when missing: a changed one is left alone.
func TestEnsureDefaultsKeepsExisting(t *testing.T) {
	st := store.NewMemory()
	ctx := ctxT(t, 10*time.Second)
	k := DefaultResources()[2].(*api.KubeControllersConfiguration)
	k.Spec.Controllers.Node.HostEndpoint.AutoCreate = autohep.Enabled
	if _, err := st.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	created, err := EnsureDefaults(ctx, st)
	if err != nil || strings.Join(created, " ") != "Tier(default) FelixConfiguration(default)" {
		t.Fatalf("created %v, %v", created, err)
	}
	o, _ := st.Get(ctx, kccKey)
	if !o.(*api.KubeControllersConfiguration).AutoHostEndpointsEnabled() {
		t.Fatal("existing KubeControllersConfiguration overwritten")
	}
	if created, err := EnsureDefaults(ctx, st); err != nil || len(created) != 0 {
		t.Fatalf("second run created %v, %v", created, err)
	}
}

// With an unreachable external etcd the server starts, says why it is not
// ready, and stops promptly.
func TestNotReadySaysWhy(t *testing.T) {
	ports := freePorts(t, 1)
	s, err := Start(ctxT(t, 10*time.Second), Config{
		EtcdEndpoints: []string{"http://" + addr(ports[0])},
		HealthListen:  "127.0.0.1:0",
		Logger:        quietLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eventually(t, 10*time.Second, func() error {
		code, body, err := httpGet("http://" + s.HealthAddr() + "/readiness")
		if err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("readiness %d %q %v", code, body, err)
		}
		for _, want := range []string{"datastore unreachable", addr(ports[0]), "default resources", "controllers: electing"} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("readiness body lacks %q:\n%s", want, body)
			}
		}
		t.Logf("readiness:\n%s", body)
		return nil
	})
	var nr *NotReadyError
	if err := s.Ready(); !errors.As(err, &nr) {
		t.Errorf("Ready() = %v", err)
	}
	if code, _, _ := httpGet("http://" + s.HealthAddr() + "/liveness"); code != http.StatusOK {
		t.Errorf("liveness %d with an unreachable external etcd", code)
	}
	begin := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
}

// Configuration errors are typed and name the field.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg   Config
		field string
	}{
		{Config{InitialClusterState: "old"}, "initial-cluster-state"},
		{Config{EtcdEndpoints: []string{"x"}, EtcdCertFile: "c"}, "etcd-cert-file"},
		{Config{HealthListen: "nonsense"}, "health-listen"},
		{Config{ResyncPeriod: -time.Second}, "resync-period"},
	} {
		_, err := Start(context.Background(), c.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%+v: err %v, want a ConfigError on %s", c.cfg, err, c.field)
		}
	}
	if got := toURLs([]string{"127.0.0.1:1,http://h:2", "unix://s"}, true); strings.Join(got, " ") != "https://127.0.0.1:1 http://h:2 unix://s" {
		t.Errorf("toURLs = %v", got)
	}
}

// A unix:// client listener works, and a second server given the first
// one's etcd as an external datastore joins the controller election as a
// standby.
func TestUnixSocketAndExternalEtcd(t *testing.T) {
	ports := freePorts(t, 1)
	dir := t.TempDir()
	sock := "unix://" + filepath.Join(dir, "etcd.sock")
	a, err := Start(ctxT(t, time.Minute), Config{DataDir: filepath.Join(dir, "data"), Listen: []string{sock},
		PeerListen: []string{addr(ports[0])}, HealthListen: "127.0.0.1:0", UnsafeNoFsync: true, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eventually(t, 10*time.Second, func() error { return readyAt(a.HealthAddr()) })
	if eps := a.ClientEndpoints(); len(eps) != 1 || eps[0] != sock {
		t.Fatalf("client endpoints %v, want %s", eps, sock)
	}
	b, err := Start(ctxT(t, time.Minute), Config{EtcdEndpoints: []string{sock}, HealthListen: "127.0.0.1:0", Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	eventually(t, 10*time.Second, func() error {
		code, body, err := httpGet("http://" + b.HealthAddr() + "/readiness")
		if err != nil || code != http.StatusOK || !strings.Contains(body, "standby") {
			return fmt.Errorf("external server readiness %d %q %v", code, body, err)
		}
		return nil
	})
	if role, _ := a.Role(); role != RoleLeader {
		t.Fatalf("embedded server role %s", role)
	}
	autoHEPWorks(t, b.Store(), "unix-node")
	// Close the external server first: clients still connected to an
	// embedded member make its Close wait for etcd's request timeout.
	for _, srv := range []*Server{b, a} {
		begin := time.Now()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(begin); d > 3*time.Second {
			t.Errorf("Close took %v", d)
		}
	}
}
