package store_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/pki"
	"github.com/palisade-net/palisade/store"
	"github.com/palisade-net/palisade/store/storetest"
)

// TestEmbeddedRestart: a member closed and started again on the same data
// directory keeps its data and revisions.
func TestEmbeddedRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	cfg := func(c *store.EmbedConfig) { c.DataDir = dir }
	srv := startEtcd(t, cfg)
	s := newEtcd(t, store.EtcdConfig{Endpoints: srv.ClientEndpoints()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := s.Create(ctx, wep("ns1", "survivor"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	srv.Close()
	select {
	case err, ok := <-srv.Err():
		if ok && err != nil {
			t.Errorf("Err after Close: %v", err)
		}
	default:
	}

	srv2 := startEtcd(t, cfg)
	s2 := newEtcd(t, store.EtcdConfig{Endpoints: srv2.ClientEndpoints()})
	got, err := s2.Get(ctx, store.KeyOf(created))
	if err != nil {
		t.Fatal(err)
	}
	if got.GetResourceVersion() != created.GetResourceVersion() || got.GetUID() != created.GetUID() {
		t.Errorf("after restart: %s %s, want %s %s", got.GetResourceVersion(), got.GetUID(),
			created.GetResourceVersion(), created.GetUID())
	}
}

func TestEmbeddedConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]store.EmbedConfig{
		"no data dir":     {},
		"tls on http":     {DataDir: dir, ClientTLS: store.TLSFiles{CertFile: "c", KeyFile: "k"}},
		"https no cert":   {DataDir: dir, ListenClient: []string{"https://127.0.0.1:0"}},
		"cert no key":     {DataDir: dir, ListenClient: []string{"https://127.0.0.1:0"}, ClientTLS: store.TLSFiles{CertFile: "c"}},
		"auth without CA": {DataDir: dir, ListenClient: []string{"https://127.0.0.1:0"}, ClientTLS: store.TLSFiles{CertFile: "c", KeyFile: "k", ClientCertAuth: true}},
		"bad scheme":      {DataDir: dir, ListenClient: []string{"ftp://127.0.0.1:0"}},
		"unix peer":       {DataDir: dir, ListenPeer: []string{"unix:///tmp/peer.sock"}},
	} {
		if _, err := store.StartEmbedded(context.Background(), cfg); err == nil {
			t.Errorf("%s: StartEmbedded succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestEtcdTLS: client TLS with client certificate authentication, over TCP
// and over a unixs:// socket; clients without a certificate or trusting
// another CA are refused.
func TestEtcdTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newPKI(t, dir)
	sock := "unixs://" + filepath.Join(dir, "etcd.sock")
	srv := startEtcd(t, func(c *store.EmbedConfig) {
		c.ListenClient = []string{"https://127.0.0.1:0", sock}
		c.ClientTLS = store.TLSFiles{CertFile: pki.serverCert, KeyFile: pki.serverKey,
			TrustedCAFile: pki.ca, ClientCertAuth: true}
	})
	eps := srv.ClientEndpoints()
	if len(eps) != 2 || !strings.HasPrefix(eps[0], "https://127.0.0.1:") || eps[1] != sock {
		t.Fatalf("ClientEndpoints = %v", eps)
	}
	good := store.EtcdConfig{CAFile: pki.ca, CertFile: pki.clientCert, KeyFile: pki.clientKey}
	for _, ep := range eps {
		cfg := good
		cfg.Endpoints = []string{ep}
		s := newEtcd(t, cfg)
		roundTrip(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := s.Watch(ctx, 0, store.Kind(api.KindTier))
		if err != nil {
			t.Fatal(err)
		}
		storetest.Expect(t, ch, "Synced")
		cancel()
	}
	for name, cfg := range map[string]store.EtcdConfig{
		"no client cert": {Endpoints: eps[:1], CAFile: pki.ca},
		"other CA":       {Endpoints: eps[:1], CAFile: pki.otherCA, CertFile: pki.clientCert, KeyFile: pki.clientKey},
		"plain http":     {Endpoints: []string{strings.Replace(eps[0], "https", "http", 1)}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg.DialTimeout = time.Second
			s := newEtcd(t, cfg)
			_, err := s.Get(context.Background(), store.KeyOf(tier("x")))
			if !store.IsUnavailable(err) {
				t.Fatalf("Get = %v, want UnavailableError", err)
			}
			t.Log(err)
		})
	}
}

type testPKI struct {
	ca, otherCA, serverCert, serverKey, clientCert, clientKey string
}

// newPKI writes a CA, a server certificate (127.0.0.1, localhost and the
// socket name etcd.sock), a client certificate, and an unrelated CA.
func newPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	writeCA := func(name string) (*pki.CA, string) {
		ca, err := pki.NewCA(name, 24*time.Hour)
		must(err)
		cert, key, err := ca.PEM()
		must(err)
		f, _, err := pki.WritePair(dir, strings.ReplaceAll(name, " ", "-"), cert, key)
		must(err)
		return ca, f
	}
	ca, caFile := writeCA("test CA")
	_, otherFile := writeCA("other CA")
	issue := func(cn, base string, u pki.Usage) (string, string) {
		cert, key, err := ca.Issue(cn, u, 24*time.Hour)
		must(err)
		c, k, err := pki.WritePair(dir, base, cert, key)
		must(err)
		return c, k
	}
	p := testPKI{ca: caFile, otherCA: otherFile}
	// The server certificate also serves as a client certificate: etcd's
	// gRPC gateway dials the server with it.
	p.serverCert, p.serverKey = issue("etcd", "server",
		pki.Usage{Server: true, Client: true, Hosts: []string{"localhost", "etcd.sock", "127.0.0.1"}})
	p.clientCert, p.clientKey = issue("palisade", "client", pki.Usage{Client: true})
	return p
}

// freePorts reserves n localhost ports (released before use: a tiny race
// with other processes is accepted in tests).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// TestEmbeddedCluster: three members started together form a cluster;
// writes through one member are read through another, and the cluster
// keeps working with one member stopped.
func TestEmbeddedCluster(t *testing.T) {
	ports := freePorts(t, 6)
	names := []string{"m0", "m1", "m2"}
	var initial []string
	for i, n := range names {
		initial = append(initial, fmt.Sprintf("%s=http://127.0.0.1:%d", n, ports[3+i]))
	}
	members := make([]*store.Embedded, 3)
	errs := make(chan error, 3)
	for i, n := range names {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			m, err := store.StartEmbedded(ctx, store.EmbedConfig{
				Name: n, DataDir: filepath.Join(t.TempDir(), n), UnsafeNoFsync: true,
				ListenClient:   []string{fmt.Sprintf("http://127.0.0.1:%d", ports[i])},
				ListenPeer:     []string{fmt.Sprintf("http://127.0.0.1:%d", ports[3+i])},
				InitialCluster: strings.Join(initial, ","),
			})
			members[i] = m
			errs <- err
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range members {
		t.Cleanup(m.Close)
	}
	var all []string
	for _, m := range members {
		all = append(all, m.ClientEndpoints()...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := newEtcd(t, store.EtcdConfig{Endpoints: members[0].ClientEndpoints()})
	r := newEtcd(t, store.EtcdConfig{Endpoints: members[2].ClientEndpoints()})
	created, err := w.Create(ctx, tier("replicated"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, store.KeyOf(created))
	if err != nil || got.GetResourceVersion() != created.GetResourceVersion() {
		t.Fatalf("read through another member: %v %v", got, err)
	}
	members[1].Close()
	s := newEtcd(t, store.EtcdConfig{Endpoints: all})
	for i := 0; i < 5; i++ {
		if _, err := s.Create(ctx, tier(fmt.Sprintf("after-%d", i))); err != nil {
			t.Fatalf("write with one member down: %v", err)
		}
	}
}

// TestEmbeddedStartTimeout: a member of a new cluster whose peers never
// start reports that it is not ready, in time.
func TestEmbeddedStartTimeout(t *testing.T) {
	t.Parallel()
	ports := freePorts(t, 3)
	start := time.Now()
	_, err := store.StartEmbedded(context.Background(), store.EmbedConfig{
		Name: "lonely", DataDir: filepath.Join(t.TempDir(), "etcd"), UnsafeNoFsync: true,
		ListenClient:   []string{fmt.Sprintf("http://127.0.0.1:%d", ports[0])},
		ListenPeer:     []string{fmt.Sprintf("http://127.0.0.1:%d", ports[1])},
		InitialCluster: fmt.Sprintf("lonely=http://127.0.0.1:%d,absent=http://127.0.0.1:%d", ports[1], ports[2]),
		StartTimeout:   time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("StartEmbedded = %v, want a not-ready error", err)
	}
	t.Logf("%s: %v", time.Since(start).Round(time.Millisecond), err)
}
