package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/store"
)

// fakeClock is a Clock whose time moves only when Advance is called.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       chan time.Time
	at      time.Time
	clock   *fakeClock
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.now.Add(d), clock: c}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves time on and fires every timer that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped || t.fired {
			continue
		}
		if !t.at.After(c.now) {
			t.fired = true
			t.c <- c.now
			continue
		}
		keep = append(keep, t)
	}
	c.timers = keep
}

// pending counts the armed timers.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			n++
		}
	}
	return n
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// harness runs one controller over a store for a test.
type harness struct {
	t      *testing.T
	st     store.Store
	ctl    *AutoHEP
	clock  *fakeClock
	rounds chan round
	done   chan error
}

// start runs a controller over st with a fake clock; the test's cleanup
// stops it and checks that Run returned nil.
func start(t *testing.T, st store.Store, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, st: st, clock: newFakeClock(), rounds: make(chan round, 1000), done: make(chan error, 1)}
	if opts.Clock == nil {
		opts.Clock = h.clock
	}
	if opts.Logger == nil && testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.BatchDelay == 0 {
		opts.BatchDelay = 5 * time.Millisecond
	}
	h.ctl = NewAutoHEP(st, opts)
	h.ctl.hook = func(r round) { h.rounds <- r }
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- h.ctl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return h
}

// waitRound waits for a round of work matching ok.
func (h *harness) waitRound(ok func(round) bool) round {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-h.rounds:
			if ok(r) {
				return r
			}
		case <-deadline:
			h.t.Fatalf("no matching round of work within 5s")
		}
	}
}

func (h *harness) waitFull() round { return h.waitRound(func(r round) bool { return r.full }) }

// eventually retries check until it returns nil or 5 seconds pass.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// --- object constructors ---

func kcc(autoCreate string) *api.KubeControllersConfiguration {
	k := DefaultKubeControllersConfiguration()
	k.Spec.Controllers.Node.HostEndpoint.AutoCreate = autoCreate
	return k
}

func calicoNode(name string, labels map[string]string, ips ...string) *api.Node {
	n := &api.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	api.SetTypeMeta(n)
	for _, ip := range ips {
		n.Spec.Addresses = append(n.Spec.Addresses, api.NodeAddress{Address: ip, Type: api.NodeAddressInternalIP})
	}
	return n
}

func k8sNode(name string, labels map[string]string, ips ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	api.SetTypeMeta(n)
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	return n
}

func userHEP(name, node string, labels map[string]string, ips ...string) *api.HostEndpoint {
	h := &api.HostEndpoint{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: api.HostEndpointSpec{Node: node, InterfaceName: "eth0", ExpectedIPs: ips}}
	api.SetTypeMeta(h)
	return h
}

func hepKey(name string) store.Key {
	return store.Key{Kind: store.Kind(api.KindHostEndpoint), Name: name}
}

func mustCreate(t *testing.T, st store.Store, o api.Object) api.Object {
	t.Helper()
	got, err := st.Create(ctxT(t), o)
	if err != nil {
		t.Fatalf("create %s: %v", api.ID(o), err)
	}
	return got
}

// mustUpdate gets the object at k, edits it and writes it back.
func mustUpdate[T api.Object](t *testing.T, st store.Store, k store.Key, edit func(T)) {
	t.Helper()
	o, err := st.Get(ctxT(t), k)
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	edit(o.(T))
	if _, err := st.Update(ctxT(t), o); err != nil {
		t.Fatalf("update %s: %v", k, err)
	}
}

func getHEP(st store.Store, name string) (*api.HostEndpoint, error) {
	o, err := st.Get(context.Background(), hepKey(name))
	if err != nil {
		return nil, err
	}
	return o.(*api.HostEndpoint), nil
}

// listHEPs returns every host endpoint by name.
func listHEPs(t *testing.T, st store.Store) map[string]*api.HostEndpoint {
	t.Helper()
	list, _, err := st.List(ctxT(t), store.Kind(api.KindHostEndpoint), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*api.HostEndpoint{}
	for _, o := range list {
		out[o.GetName()] = o.(*api.HostEndpoint)
	}
	return out
}

// hepIs checks that an endpoint exists with the given labels (besides the
// created-by label) and expected IPs.
func hepIs(st store.Store, name string, labels map[string]string, ips ...string) error {
	h, err := getHEP(st, name)
	if err != nil {
		return err
	}
	want := map[string]string{autohep.CreatedByLabel: autohep.CreatedByValue}
	for k, v := range labels {
		want[k] = v
	}
	if fmt.Sprint(h.Labels) != fmt.Sprint(want) {
		return fmt.Errorf("%s labels = %v, want %v", name, h.Labels, want)
	}
	if fmt.Sprint(h.Spec.ExpectedIPs) != fmt.Sprint(ips) && !(len(ips) == 0 && len(h.Spec.ExpectedIPs) == 0) {
		return fmt.Errorf("%s expectedIPs = %v, want %v", name, h.Spec.ExpectedIPs, ips)
	}
	return nil
}

func hepGone(st store.Store, name string) error {
	_, err := getHEP(st, name)
	switch {
	case err == nil:
		return fmt.Errorf("%s still exists", name)
	case store.IsNotFound(err):
		return nil
	}
	return err
}

// counter reads a counter's value.
func counter(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// --- store wrappers for faults ---

// faultyStore fails or blocks writes on demand and can hold back or drop
// watch events.
type faultyStore struct {
	store.Store
	mu         sync.Mutex
	failCreate int  // fail this many creates
	failUpdate int  // fail this many updates
	blockWrite bool // block writes until their context ends
	dropHEP    bool // drop HostEndpoint watch events
	holdSynced chan struct{}
	closeWatch chan struct{} // closing it closes the current watch channel
	watches    int
}

var errInjected = errors.New("injected failure")

func (f *faultyStore) fault(n *int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n > 0 {
		*n--
		return errInjected
	}
	return nil
}

func (f *faultyStore) block(ctx context.Context) error {
	f.mu.Lock()
	b := f.blockWrite
	f.mu.Unlock()
	if !b {
		return nil
	}
	<-ctx.Done()
	return &store.UnavailableError{Endpoints: []string{"test"}, Err: ctx.Err()}
}

func (f *faultyStore) Create(ctx context.Context, o api.Object) (api.Object, error) {
	if err := f.fault(&f.failCreate); err != nil {
		return nil, err
	}
	if err := f.block(ctx); err != nil {
		return nil, err
	}
	return f.Store.Create(ctx, o)
}

func (f *faultyStore) Update(ctx context.Context, o api.Object) (api.Object, error) {
	if err := f.fault(&f.failUpdate); err != nil {
		return nil, err
	}
	if err := f.block(ctx); err != nil {
		return nil, err
	}
	return f.Store.Update(ctx, o)
}

func (f *faultyStore) set(fn func(f *faultyStore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// Watch forwards the inner watch through an unbuffered channel, applying
// the configured faults.
func (f *faultyStore) Watch(ctx context.Context, rev int64, kinds ...store.Kind) (<-chan store.Event, error) {
	in, err := f.Store.Watch(ctx, rev, kinds...)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.watches++
	hold, closeC := f.holdSynced, f.closeWatch
	f.mu.Unlock()
	out := make(chan store.Event)
	go func() {
		defer close(out)
		for {
			var ev store.Event
			var ok bool
			select {
			case ev, ok = <-in:
			case <-closeC:
				return
			}
			if !ok {
				return
			}
			if ev.Type == store.Synced && hold != nil {
				select {
				case <-hold:
				case <-ctx.Done():
					return
				}
			}
			f.mu.Lock()
			drop := f.dropHEP && ev.Key.Kind == store.Kind(api.KindHostEndpoint)
			f.mu.Unlock()
			if drop {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
