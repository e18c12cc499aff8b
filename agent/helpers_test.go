package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

// testNode is the node every unit test's agent runs as.
const testNode = "n1"

// testIfaces are the interfaces the unit tests' hosts have.
func testIfaces() []HostInterface {
	return []HostInterface{
		{Name: "lo", Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("198.19.0.2/24"), netip.MustParsePrefix("fd00:19::2/64")}},
		{Name: "cali0123456789a"},
	}
}

// testConfig is a configuration with short delays for tests.
func testConfig(t testing.TB) Config {
	return Config{
		Node:          testNode,
		HealthListen:  "127.0.0.1:0",
		BatchDelay:    5 * time.Millisecond,
		MaxBatchDelay: 30 * time.Millisecond,
		RetryDelay:    20 * time.Millisecond,
		MaxRetryDelay: 200 * time.Millisecond,
		WriteTimeout:  2 * time.Second,
		ProbeInterval: 20 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// testWriter sends logs to t.Log (and nowhere once the test ended).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // logging after the test ended
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startAgent starts an agent and stops it when the test ends.
func startAgent(t testing.TB, cfg Config, st store.Store, ap nft.Applier, ifs InterfaceSource) *Agent {
	t.Helper()
	a, err := New(cfg, st, ap, ifs)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}

// objects decodes YAML manifests.
func objects(t testing.TB, yaml string) []api.Object {
	t.Helper()
	docs, errs := api.Decode("test.yaml", []byte(yaml))
	if len(errs) > 0 {
		t.Fatalf("decode: %v", errs)
	}
	out := make([]api.Object, len(docs))
	for i, d := range docs {
		out[i] = d.Object
	}
	return out
}

// put creates or replaces objects in a store.
func put(t testing.TB, st store.Store, objs ...api.Object) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, o := range objs {
		o.SetResourceVersion("")
		_, err := st.Create(ctx, o)
		if store.IsAlreadyExists(err) {
			_, err = st.Update(ctx, o)
		}
		if err != nil {
			t.Fatalf("put %s: %v", api.ID(o), err)
		}
	}
}

// eventually retries check until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// textHas checks that the fake's table holds every string.
func textHas(f *nft.Fake, want ...string) error {
	text := f.Text()
	for _, w := range want {
		if !strings.Contains(text, w) {
			return fmt.Errorf("the applied ruleset lacks %q", w)
		}
	}
	return nil
}

// get fetches a health endpoint of an agent.
func get(t testing.TB, a *Agent, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + a.HealthAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// scriptStore is a Memory store whose Watch the test drives: every Watch
// returns the channel Events.
type scriptStore struct {
	*store.Memory
	mu      sync.Mutex
	events  chan store.Event
	watches int
}

func newScriptStore() *scriptStore {
	return &scriptStore{Memory: store.NewMemory(), events: make(chan store.Event, 1024)}
}

func (s *scriptStore) Watch(ctx context.Context, _ int64, _ ...store.Kind) (<-chan store.Event, error) {
	s.mu.Lock()
	s.watches++
	s.mu.Unlock()
	out := make(chan store.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-s.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// added sends objects as Added events.
func (s *scriptStore) added(objs ...api.Object) {
	for _, o := range objs {
		s.events <- store.Event{Type: store.Added, Key: store.KeyOf(o), Object: o}
	}
}

func (s *scriptStore) synced() { s.events <- store.Event{Type: store.Synced, Revision: 1} }

// flakyStore fails every call with an *UnavailableError while down; its
// Watch is the Memory store's (break it with BreakWatches and fail its
// re-lists with FailNext("List", ...)).
type flakyStore struct {
	*store.Memory
	mu   sync.Mutex
	down bool
}

func (f *flakyStore) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

func (f *flakyStore) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return &store.UnavailableError{Endpoints: []string{"memory"}, Err: fmt.Errorf("connection refused")}
	}
	return nil
}

func (f *flakyStore) Get(ctx context.Context, k store.Key) (api.Object, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Memory.Get(ctx, k)
}

func (f *flakyStore) Update(ctx context.Context, o api.Object) (api.Object, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Memory.Update(ctx, o)
}

func (f *flakyStore) Create(ctx context.Context, o api.Object) (api.Object, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Memory.Create(ctx, o)
}

// value reads a gauge or counter.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}
