package store_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/palisade-net/palisade/store/storetest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// startEtcd starts a single embedded member on free localhost ports with a
// fresh data directory, closed when the test ends.
func startEtcd(t testing.TB, edit func(*store.EmbedConfig)) *store.Embedded {
	t.Helper()
	cfg := store.EmbedConfig{
		Name:          "test",
		DataDir:       filepath.Join(t.TempDir(), "etcd"),
		ListenClient:  []string{"http://127.0.0.1:0"},
		ListenPeer:    []string{"http://127.0.0.1:0"},
		UnsafeNoFsync: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := store.StartEmbedded(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// newEtcd returns a store on endpoints, closed when the test ends.
func newEtcd(t testing.TB, cfg store.EtcdConfig) *store.Etcd {
	t.Helper()
	s, err := store.NewEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEtcd(t *testing.T) {
	srv := startEtcd(t, nil)
	storetest.Run(t, func(t *testing.T) store.Store {
		s := newEtcd(t, store.EtcdConfig{Endpoints: srv.ClientEndpoints()})
		if _, err := s.Client().Delete(context.Background(), store.Prefix, clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestEtcdValuesAreJSON(t *testing.T) {
	srv := startEtcd(t, nil)
	s := newEtcd(t, store.EtcdConfig{Endpoints: srv.ClientEndpoints()})
	ctx := context.Background()
	in := wep("ns1", "pod-a")
	in.Kind, in.APIVersion = "WorkloadEndpoint", "crd.projectcalico.org/v1"
	created, err := s.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Get(ctx, "/palisade/resources/v3/projectcalico.org/workloadendpoints/ns1/pod-a")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("raw get: %v %v", resp, err)
	}
	v := string(resp.Kvs[0].Value)
	for _, want := range []string{`"kind":"WorkloadEndpoint"`, `"apiVersion":"projectcalico.org/v3"`, `"uid":"` + string(created.GetUID()) + `"`, `"creationTimestamp":"20`} {
		if !strings.Contains(v, want) {
			t.Errorf("stored value %s lacks %s", v, want)
		}
	}
	if strings.Contains(v, "resourceVersion") {
		t.Errorf("stored value carries a resourceVersion: %s", v)
	}
	if created.GetResourceVersion() != itoa(resp.Kvs[0].ModRevision) {
		t.Errorf("resourceVersion %s, mod_revision %d", created.GetResourceVersion(), resp.Kvs[0].ModRevision)
	}
}

func TestEtcdUnixSocket(t *testing.T) {
	dir := t.TempDir()
	abs := "unix://" + filepath.Join(dir, "etcd.sock")
	srv := startEtcd(t, func(c *store.EmbedConfig) { c.ListenClient = []string{abs} })
	if got := srv.ClientEndpoints(); len(got) != 1 || got[0] != abs {
		t.Fatalf("ClientEndpoints = %v, want [%s]", got, abs)
	}
	roundTrip(t, newEtcd(t, store.EtcdConfig{Endpoints: []string{abs}}))

	// unix://relative: relative to the working directory, on both sides.
	t.Chdir(dir)
	srv2 := startEtcd(t, func(c *store.EmbedConfig) { c.ListenClient = []string{"unix://rel.sock"} })
	roundTrip(t, newEtcd(t, store.EtcdConfig{Endpoints: srv2.ClientEndpoints()}))
}

// roundTrip creates, reads and deletes one object.
func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := s.Create(ctx, tier("rt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, store.KeyOf(o)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, store.KeyOf(o), o.GetResourceVersion()); err != nil {
		t.Fatal(err)
	}
}

// TestEtcdUnreachable: every operation on an unreachable datastore fails
// with *UnavailableError within a few seconds, with the default timeouts.
func TestEtcdUnreachable(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn
	t.Cleanup(func() {
		silent.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range accepted {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	endpoints := map[string]string{"refused": "http://127.0.0.1:1", "silent": "http://" + silent.Addr().String()}
	ops := map[string]func(ctx context.Context, s store.Store) error{
		"get": func(ctx context.Context, s store.Store) error {
			_, err := s.Get(ctx, store.KeyOf(tier("x")))
			return err
		},
		"create": func(ctx context.Context, s store.Store) error { _, err := s.Create(ctx, tier("x")); return err },
		"watch":  func(ctx context.Context, s store.Store) error { _, err := s.Watch(ctx, 0); return err },
	}
	for name, ep := range endpoints {
		for op, f := range ops {
			t.Run(name+"/"+op, func(t *testing.T) {
				t.Parallel()
				s := newEtcd(t, store.EtcdConfig{Endpoints: []string{ep}})
				start := time.Now()
				err := f(context.Background(), s)
				took := time.Since(start)
				if !store.IsUnavailable(err) || took > 5*time.Second {
					t.Errorf("%v after %s, want UnavailableError within 5s", err, took)
				}
				t.Logf("%s: %v", took.Round(time.Millisecond), err)
			})
		}
	}
}

// TestEtcdWatchResyncAfterCompaction: a watcher cut off from etcd while
// objects change and history is compacted re-lists when it is back and
// reports exactly the missed changes.
func TestEtcdWatchResyncAfterCompaction(t *testing.T) {
	srv := startEtcd(t, nil)
	p := newProxy(t, strings.TrimPrefix(srv.ClientEndpoints()[0], "http://"))
	writer := newEtcd(t, store.EtcdConfig{Endpoints: srv.ClientEndpoints()})
	watcher := newEtcd(t, store.EtcdConfig{Endpoints: []string{"http://" + p.addr()}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []string{"keep", "change", "drop"} {
		if _, err := writer.Create(ctx, tier(n)); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := watcher.Watch(ctx, 0, store.Kind(api.KindTier))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Expect(t, ch, "Added Tier(change)", "Added Tier(drop)", "Added Tier(keep)", "Synced")

	p.pause()
	upd := tier("change")
	upd.Labels = map[string]string{"v": "2"}
	if _, err := writer.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Delete(ctx, store.KeyOf(tier("drop")), ""); err != nil {
		t.Fatal(err)
	}
	created, err := writer.Create(ctx, tier("new"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Client().Compact(ctx, mustRev(t, created), clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	p.resume()

	evs := storetest.Expect(t, ch, "Modified Tier(change)", "Added Tier(new)", "Deleted Tier(drop)", "Synced")
	// The watch keeps revisions, not values: what a re-list finds has no
	// old object.
	if evs[0].Old != nil || evs[0].Object.GetLabels()["v"] != "2" {
		t.Errorf("Modified after resync: %+v", evs[0])
	}
	if evs[2].Old != nil || evs[2].Key.Name != "drop" {
		t.Errorf("Deleted after resync: %+v", evs[2])
	}
	if _, err := writer.Create(ctx, tier("after")); err != nil {
		t.Fatal(err)
	}
	storetest.Expect(t, ch, "Added Tier(after)")
}

// proxy forwards TCP connections to a target and can cut them.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	paused bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { l.Close(); p.pause() })
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.paused {
			c.Close()
			p.mu.Unlock()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			p.mu.Unlock()
			continue
		}
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close(); c.Close() }()
		go func() { io.Copy(c, u); u.Close(); c.Close() }()
	}
}

func (p *proxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *proxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
}
