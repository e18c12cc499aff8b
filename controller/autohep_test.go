package controller

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/store"
)

var (
	kccKey  = store.Key{Kind: store.Kind(api.KindKubeControllersConfiguration), Name: ConfigName}
	nodeKey = func(n string) store.Key { return store.Key{Kind: store.Kind(api.KindNode), Name: n} }
	k8sKey  = func(n string) store.Key { return store.Key{Kind: store.KindK8sNode, Name: n} }
	setAuto = func(v string) func(*api.KubeControllersConfiguration) {
		return func(k *api.KubeControllersConfiguration) { k.Spec = kcc(v).Spec }
	}
	workerLb = map[string]string{"role": "worker"}
)

// §7.5: acts only after the watch reports InSync.
func TestNothingWrittenBeforeSynced(t *testing.T) {
	st := &faultyStore{Store: store.NewMemory(), holdSynced: make(chan struct{})}
	mustCreate(t, st, kcc(autohep.Enabled))
	mustCreate(t, st, calicoNode("n1", workerLb, "10.0.0.1"))
	h := start(t, st, Options{})
	time.Sleep(50 * time.Millisecond) // every event but Synced is delivered by now
	if len(listHEPs(t, st)) != 0 || h.ctl.Ready() == nil {
		t.Fatalf("wrote before Synced (ready: %v)", h.ctl.Ready())
	}
	var nr *NotReadyError
	if !errors.As(h.ctl.Ready(), &nr) {
		t.Fatalf("Ready() = %v, want *NotReadyError", h.ctl.Ready())
	}
	close(st.holdSynced)
	h.waitFull()
	if err := hepIs(st, "n1-auto-hep", workerLb, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := h.ctl.Ready(); err != nil {
		t.Fatalf("Ready() after sync = %v", err)
	}
}

// §7.3, §7.5: the first full sync creates, updates and deletes, and leaves
// unmanaged endpoints alone.
func TestInitialFullSync(t *testing.T) {
	st := store.NewMemory()
	mustCreate(t, st, kcc(autohep.Enabled))
	n1 := calicoNode("n1", workerLb, "10.0.0.1")
	n1.Spec.BGP = &api.NodeBGPSpec{IPv4Address: "10.0.0.1/24", IPv4IPIPTunnelAddr: "192.168.1.0"}
	mustCreate(t, st, n1)
	mustCreate(t, st, k8sNode("n2", map[string]string{"kubernetes-host": ""}, "10.0.0.2"))
	stale := userHEP("n1-auto-hep", "n1", map[string]string{autohep.CreatedByLabel: autohep.CreatedByValue}, "1.1.1.1")
	mustCreate(t, st, stale)
	mustCreate(t, st, userHEP("gone-auto-hep", "gone", map[string]string{autohep.CreatedByLabel: autohep.CreatedByValue}))
	mustCreate(t, st, userHEP("mine", "n1", map[string]string{"x": "y"}, "10.0.0.1"))

	h := start(t, st, Options{})
	if r := h.waitFull(); r.failed {
		t.Fatal("full sync failed")
	}
	heps := listHEPs(t, st)
	if got := slices.Sorted(mapsKeys(heps)); fmt.Sprint(got) != "[mine n1-auto-hep n2-auto-hep]" {
		t.Fatalf("host endpoints = %v", got)
	}
	hep := heps["n1-auto-hep"]
	if err := hepIs(st, "n1-auto-hep", workerLb, "10.0.0.1", "192.168.1.0"); err != nil {
		t.Fatal(err)
	}
	if hep.Spec.Node != "n1" || hep.Spec.InterfaceName != "*" || fmt.Sprint(hep.Spec.Profiles) != "[projectcalico-default-allow]" {
		t.Fatalf("spec = %+v", hep.Spec)
	}
	if err := hepIs(st, "n2-auto-hep", map[string]string{"kubernetes-host": ""}, "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if heps["mine"].Labels["x"] != "y" {
		t.Fatalf("unmanaged endpoint changed: %+v", heps["mine"])
	}
	m := h.ctl.metrics
	if counter(m.created) != 1 || counter(m.updated) != 1 || counter(m.deleted) != 1 || counter(m.errors) != 0 {
		t.Fatalf("created %v updated %v deleted %v errors %v", counter(m.created), counter(m.updated),
			counter(m.deleted), counter(m.errors))
	}
	if s := h.ctl.Status(); !s.Synced || !s.Enabled || s.Nodes != 2 || s.ManagedHostEndpoints != 2 {
		t.Fatalf("status = %+v", s)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// synced starts a controller over a store holding an Enabled configuration
// and node n1, and waits for n1's endpoint.
func synced(t *testing.T, st store.Store, opts Options) *harness {
	t.Helper()
	mustCreate(t, st, kcc(autohep.Enabled))
	mustCreate(t, st, calicoNode("n1", workerLb, "10.0.0.1"))
	h := start(t, st, opts)
	h.waitFull()
	if err := hepIs(st, "n1-auto-hep", workerLb, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return h
}

// §7.5: node add, label change, address change and delete reach the
// endpoints, through per-node syncs, well within a second.
func TestNodeEvents(t *testing.T) {
	st := store.NewMemory()
	h := synced(t, st, Options{BatchDelay: 20 * time.Millisecond})
	full := counter(h.ctl.metrics.syncs.WithLabelValues("full"))
	steps := []struct {
		name  string
		do    func()
		check func() error
	}{
		{"add node", func() { mustCreate(t, st, calicoNode("n2", nil, "10.0.0.2")) },
			func() error { return hepIs(st, "n2-auto-hep", nil, "10.0.0.2") }},
		{"label node", func() {
			mustUpdate(t, st, nodeKey("n1"), func(n *api.Node) { n.Labels = map[string]string{"role": "master"} })
		}, func() error { return hepIs(st, "n1-auto-hep", map[string]string{"role": "master"}, "10.0.0.1") }},
		{"change address", func() {
			mustUpdate(t, st, nodeKey("n1"), func(n *api.Node) {
				n.Spec.BGP = &api.NodeBGPSpec{IPv4Address: "10.0.0.9/24"}
			})
		}, func() error {
			return hepIs(st, "n1-auto-hep", map[string]string{"role": "master"}, "10.0.0.9", "10.0.0.1")
		}},
		{"kubernetes node labels win", func() { mustCreate(t, st, k8sNode("n1", map[string]string{"role": "edge", "k": ""})) },
			func() error {
				return hepIs(st, "n1-auto-hep", map[string]string{"role": "edge", "k": ""}, "10.0.0.9", "10.0.0.1")
			}},
		{"delete calico node, kubernetes node remains", func() { mustDelete(t, st, nodeKey("n1")) },
			func() error { return hepIs(st, "n1-auto-hep", map[string]string{"role": "edge", "k": ""}) }},
		{"delete node", func() { mustDelete(t, st, k8sKey("n1")) },
			func() error { return hepGone(st, "n1-auto-hep") }},
	}
	for _, s := range steps {
		begin := time.Now()
		s.do()
		eventually(t, s.check)
		if d := time.Since(begin); d > time.Second {
			t.Errorf("%s: took %v, want < 1s", s.name, d)
		}
		t.Logf("%s: %v", s.name, time.Since(begin))
	}
	if got := counter(h.ctl.metrics.syncs.WithLabelValues("full")); got != full {
		t.Errorf("node events caused full syncs (%v -> %v)", full, got)
	}
}

func mustDelete(t *testing.T, st store.Store, k store.Key) {
	t.Helper()
	if _, err := st.Delete(ctxT(t), k, ""); err != nil {
		t.Fatalf("delete %s: %v", k, err)
	}
}

// §7.5: node changes are batched: many changes close together are synced in
// one round.
func TestNodeEventsBatched(t *testing.T) {
	st := store.NewMemory()
	h := synced(t, st, Options{BatchDelay: 200 * time.Millisecond})
	for i := range 20 {
		mustCreate(t, st, calicoNode(fmt.Sprintf("b%02d", i), nil, fmt.Sprintf("10.1.0.%d", i)))
	}
	r := h.waitRound(func(r round) bool { return len(r.nodes) > 0 })
	if len(r.nodes) != 20 {
		t.Fatalf("first round synced %d nodes, want all 20 in one batch", len(r.nodes))
	}
	if n := len(listHEPs(t, st)); n != 21 {
		t.Fatalf("%d host endpoints, want 21", n)
	}
}

// §7.5: edits by others to the compared fields are reverted; a deleted
// managed endpoint is recreated; a profiles-only edit is left (Calico does
// not compare profiles).
func TestEditsReverted(t *testing.T) {
	st := store.NewMemory()
	h := synced(t, st, Options{})
	orig, err := getHEP(st, "n1-auto-hep")
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string]func(*api.HostEndpoint){
		"labels":        func(x *api.HostEndpoint) { x.Labels["role"] = "evil" },
		"annotations":   func(x *api.HostEndpoint) { x.Annotations = map[string]string{"a": "b"} },
		"expectedIPs":   func(x *api.HostEndpoint) { x.Spec.ExpectedIPs = []string{"10.9.9.9"} },
		"interfaceName": func(x *api.HostEndpoint) { x.Spec.InterfaceName = "eth0" },
		"node":          func(x *api.HostEndpoint) { x.Spec.Node = "other" },
	}
	for _, name := range slices.Sorted(mapsKeys(edits)) {
		mustUpdate(t, st, hepKey("n1-auto-hep"), edits[name])
		eventually(t, func() error {
			h, err := getHEP(st, "n1-auto-hep")
			if err != nil {
				return err
			}
			if len(h.Annotations) != 0 || h.Spec.InterfaceName != "*" || h.Spec.Node != "n1" {
				return fmt.Errorf("%s edit not reverted: %+v", name, h)
			}
			return hepIs(st, "n1-auto-hep", workerLb, "10.0.0.1")
		})
	}
	// Reverting is an update: uid and creationTimestamp are kept.
	if x, _ := getHEP(st, "n1-auto-hep"); x.UID != orig.UID || !x.CreationTimestamp.Equal(&orig.CreationTimestamp) {
		t.Fatalf("uid/creationTimestamp changed by reverts: %v %v -> %v %v", orig.UID, orig.CreationTimestamp, x.UID, x.CreationTimestamp)
	}
	mustDelete(t, st, hepKey("n1-auto-hep"))
	eventually(t, func() error { return hepIs(st, "n1-auto-hep", workerLb, "10.0.0.1") })

	mustUpdate(t, st, hepKey("n1-auto-hep"), func(x *api.HostEndpoint) { x.Spec.Profiles = []string{"other"} })
	mustCreate(t, st, calicoNode("n2", nil, "10.0.0.2")) // a later change, to know the edit was seen
	eventually(t, func() error { return hepIs(st, "n2-auto-hep", nil, "10.0.0.2") })
	if x, _ := getHEP(st, "n1-auto-hep"); fmt.Sprint(x.Spec.Profiles) != "[other]" {
		t.Fatalf("profiles = %v, want the edit kept", x.Spec.Profiles)
	}
	if counter(h.ctl.metrics.errors) != 0 {
		t.Fatalf("errors = %v", counter(h.ctl.metrics.errors))
	}
}

// §7.5: autoCreate Disabled, or no node controller, deletes every managed
// endpoint; unmanaged ones stay. Enabling again recreates them.
func TestDisableDeletesManaged(t *testing.T) {
	st := store.NewMemory()
	h := synced(t, st, Options{})
	mustCreate(t, st, userHEP("mine", "n1", nil, "10.0.0.1"))
	mustCreate(t, st, userHEP("claimed", "n9", map[string]string{autohep.CreatedByLabel: autohep.CreatedByValue}))
	eventually(t, func() error { return hepGone(st, "claimed") }) // managed, unknown node

	mustUpdate(t, st, kccKey, setAuto(autohep.Disabled))
	eventually(t, func() error { return hepGone(st, "n1-auto-hep") })
	if _, err := getHEP(st, "mine"); err != nil {
		t.Fatalf("unmanaged endpoint: %v", err)
	}
	if h.ctl.Status().Enabled {
		t.Fatal("status says Enabled")
	}
	mustUpdate(t, st, kccKey, setAuto(autohep.Enabled))
	eventually(t, func() error { return hepIs(st, "n1-auto-hep", workerLb, "10.0.0.1") })
	mustUpdate(t, st, kccKey, func(k *api.KubeControllersConfiguration) { k.Spec.Controllers.Node = nil })
	eventually(t, func() error { return hepGone(st, "n1-auto-hep") })
}

// §7.4, §7.5: template endpoints are created; endpoints no longer desired
// (template removed, default endpoint disabled) are deleted.
func TestTemplatesAndDefaultEndpoint(t *testing.T) {
	st := store.NewMemory()
	synced(t, st, Options{})
	mustUpdate(t, st, kccKey, func(k *api.KubeControllersConfiguration) {
		k.Spec.Controllers.Node.HostEndpoint.Templates = []api.AutoHostEndpointTemplate{
			{GenerateName: "internal", InterfaceCIDRs: []string{"10.0.0.0/24"}, Labels: map[string]string{"net": "int"}},
		}
	})
	eventually(t, func() error {
		return hepIs(st, "n1-internal-auto-hep", map[string]string{"role": "worker", "net": "int"}, "10.0.0.1")
	})
	mustUpdate(t, st, kccKey, func(k *api.KubeControllersConfiguration) {
		k.Spec.Controllers.Node.HostEndpoint.CreateDefaultHostEndpoint = autohep.Disabled
	})
	eventually(t, func() error { return hepGone(st, "n1-auto-hep") })
	mustUpdate(t, st, kccKey, func(k *api.KubeControllersConfiguration) {
		k.Spec.Controllers.Node.HostEndpoint.Templates = nil
	})
	eventually(t, func() error { return hepGone(st, "n1-internal-auto-hep") })
}

// An invalid configuration leaves every endpoint alone and counts an error.
func TestInvalidConfigWritesNothing(t *testing.T) {
	st := store.NewMemory()
	h := synced(t, st, Options{})
	mustUpdate(t, st, kccKey, func(k *api.KubeControllersConfiguration) {
		k.Spec.Controllers.Node.HostEndpoint.Templates = []api.AutoHostEndpointTemplate{{GenerateName: "bad"}}
	})
	h.waitFull()
	mustDelete(t, st, nodeKey("n1"))
	h.waitRound(func(r round) bool { return slices.Contains(r.nodes, "n1") })
	if _, err := getHEP(st, "n1-auto-hep"); err != nil {
		t.Fatalf("endpoint touched under an invalid configuration: %v", err)
	}
	if counter(h.ctl.metrics.errors) < 2 || h.ctl.Status().LastError == "" {
		t.Fatalf("errors = %v, status %+v", counter(h.ctl.metrics.errors), h.ctl.Status())
	}
}

// §2.11: a deleted (or missing) default configuration is recreated with
// autoCreate Disabled, and the managed endpoints go.
func TestConfigRecreated(t *testing.T) {
	st := store.NewMemory()
	synced(t, st, Options{})
	mustDelete(t, st, kccKey)
	eventually(t, func() error { return hepGone(st, "n1-auto-hep") })
	eventually(t, func() error {
		o, err := st.Get(ctxT(t), kccKey)
		if err != nil {
			return err
		}
		if k := o.(*api.KubeControllersConfiguration); k.AutoHostEndpointsEnabled() {
			return fmt.Errorf("recreated Enabled: %+v", k.Spec)
		}
		return nil
	})
}

// §7.5: a periodic full sync every ResyncPeriod, which repairs drift that
// no event reported (here: events the controller never saw).
func TestPeriodicResync(t *testing.T) {
	st := &faultyStore{Store: store.NewMemory()}
	h := synced(t, st, Options{ResyncPeriod: time.Minute})
	st.set(func(f *faultyStore) { f.dropHEP = true })
	mustUpdate(t, st, hepKey("n1-auto-hep"), func(x *api.HostEndpoint) { x.Labels["role"] = "evil" })
	mustCreate(t, st, calicoNode("n2", nil, "10.0.0.2"))
	h.waitRound(func(r round) bool { return slices.Contains(r.nodes, "n2") })
	if err := hepIs(st, "n1-auto-hep", map[string]string{"role": "evil"}, "10.0.0.1"); err != nil {
		t.Fatalf("the edit was seen after all: %v", err)
	}
	h.clock.Advance(59 * time.Second)
	select {
	case r := <-h.rounds:
		t.Fatalf("work before the period ended: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
	full := counter(h.ctl.metrics.syncs.WithLabelValues("full"))
	h.clock.Advance(time.Second)
	h.waitFull()
	if err := hepIs(st, "n1-auto-hep", workerLb, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if got := counter(h.ctl.metrics.syncs.WithLabelValues("full")); got != full+1 {
		t.Fatalf("full syncs %v -> %v", full, got)
	}
	h.clock.Advance(time.Minute) // and again, a period later
	h.waitFull()
}

// §7.5: failed writes are logged, counted and retried.
func TestFailedWritesRetried(t *testing.T) {
	st := &faultyStore{Store: store.NewMemory()}
	h := synced(t, st, Options{RetryDelay: 10 * time.Second})
	st.set(func(f *faultyStore) { f.failCreate = 2 })
	mustCreate(t, st.Store, calicoNode("n2", nil, "10.0.0.2"))
	h.waitRound(func(r round) bool { return r.failed })
	if err := hepGone(st, "n2-auto-hep"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Second) // second attempt fails too
	h.waitRound(func(r round) bool { return r.failed })
	h.clock.Advance(10 * time.Second) // backoff doubled: not yet
	select {
	case r := <-h.rounds:
		t.Fatalf("retried before the doubled delay: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
	h.clock.Advance(10 * time.Second)
	h.waitRound(func(r round) bool { return slices.Contains(r.nodes, "n2") && !r.failed })
	if err := hepIs(st, "n2-auto-hep", nil, "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if counter(h.ctl.metrics.errors) != 2 || !strings.Contains(h.ctl.Status().LastError, "create host endpoint n2-auto-hep: injected failure") {
		t.Fatalf("errors = %v, status %+v", counter(h.ctl.metrics.errors), h.ctl.Status())
	}
}

// Writes have a timeout: a datastore that never answers does not stall the
// controller.
func TestWriteTimeout(t *testing.T) {
	st := &faultyStore{Store: store.NewMemory()}
	h := synced(t, st, Options{WriteTimeout: 50 * time.Millisecond})
	st.set(func(f *faultyStore) { f.blockWrite = true })
	mustUpdate(t, st.Store, nodeKey("n1"), func(n *api.Node) { n.Labels = nil })
	begin := time.Now()
	h.waitRound(func(r round) bool { return r.failed })
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("blocked write took %v", d)
	}
	st.set(func(f *faultyStore) { f.blockWrite = false })
	h.clock.Advance(time.Second)
	eventually(t, func() error { return hepIs(st, "n1-auto-hep", nil, "10.0.0.1") })
}

// A closed watch is re-established; the controller is not ready meanwhile
// and syncs fully again.
func TestWatchRestart(t *testing.T) {
	st := &faultyStore{Store: store.NewMemory(), closeWatch: make(chan struct{})}
	h := synced(t, st, Options{})
	st.set(func(f *faultyStore) { close(f.closeWatch); f.closeWatch = make(chan struct{}) })
	eventually(t, func() error {
		if h.ctl.Ready() == nil {
			return errors.New("still ready after the watch closed")
		}
		return nil
	})
	mustUpdate(t, st, nodeKey("n1"), func(n *api.Node) { n.Labels = nil })
	eventually(t, func() error {
		if h.clock.pending() == 0 {
			return errors.New("no restart timer")
		}
		return nil
	})
	h.clock.Advance(time.Second)
	h.waitFull()
	if err := hepIs(st, "n1-auto-hep", nil, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	var watches int
	st.set(func(f *faultyStore) { watches = f.watches })
	if err := h.ctl.Ready(); err != nil || watches != 2 {
		t.Fatalf("ready %v after %d watches", err, watches)
	}
}

// Metrics register with a registry and carry the palisade_autohep_ names.
func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	st := store.NewMemory()
	synced(t, st, Options{Registerer: reg})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	for _, want := range []string{"palisade_autohep_syncs_total", "palisade_autohep_hostendpoints_created_total",
		"palisade_autohep_errors_total", "palisade_autohep_synced", "palisade_autohep_managed_hostendpoints"} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s missing from %v", want, names)
		}
	}
	NewAutoHEP(st, Options{Registerer: reg}) // a second one logs, never panics
}

// The pure diff: an endpoint moved to another node by an edit is rewritten.
func TestDiffRewritesNode(t *testing.T) {
	want := userHEP("n1-auto-hep", "n1", map[string]string{autohep.CreatedByLabel: autohep.CreatedByValue})
	cur := cloneHEP(want)
	cur.Spec.Node = "n2"
	cur.ResourceVersion = "7"
	p := diff([]*api.HostEndpoint{want}, []*api.HostEndpoint{cur})
	if len(p.create)+len(p.del) != 0 || len(p.update) != 1 || p.update[0].ResourceVersion != "7" || p.update[0].Spec.Node != "n1" {
		t.Fatalf("plan = %+v", p)
	}
}

// The cache never goes back in resourceVersion and ignores its own echoes.
func TestCacheIgnoresStaleEvents(t *testing.T) {
	c := newCache()
	managed := func(rv, node string) *api.HostEndpoint {
		h := userHEP("h", node, map[string]string{autohep.CreatedByLabel: autohep.CreatedByValue})
		h.ResourceVersion = rv
		return h
	}
	ev := func(typ store.EventType, h *api.HostEndpoint) store.Event {
		return store.Event{Type: typ, Key: hepKey("h"), Object: h}
	}
	c.put(managed("10", "n1"))
	if ch := c.apply(ev(store.Modified, managed("9", "n2"))); len(ch.nodes) != 0 || c.heps["h"].Spec.Node != "n1" {
		t.Fatalf("stale event applied: %+v", ch)
	}
	if ch := c.apply(ev(store.Modified, managed("10", "n1"))); len(ch.nodes) != 0 {
		t.Fatalf("own echo marked dirty: %+v", ch)
	}
	c.remove(managed("10", "n1"))
	if ch := c.apply(ev(store.Added, managed("10", "n1"))); len(ch.nodes) != 0 || c.heps["h"] != nil {
		t.Fatalf("event from before our delete applied: %+v", ch)
	}
	if ch := c.apply(ev(store.Modified, managed("11", "n1"))); fmt.Sprint(ch.nodes) != "[n1]" {
		t.Fatalf("newer event: %+v", ch)
	}
	kn := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "k"}}
	if ch := c.apply(store.Event{Type: store.Added, Key: k8sKey("k"), Object: kn}); fmt.Sprint(ch.nodes) != "[k]" {
		t.Fatalf("k8s node: %+v", ch)
	}
}

// A broken watch and a compaction make the store re-list and send Synced
// again: the controller does a full sync and keeps converging.
func TestBrokenWatchAndCompaction(t *testing.T) {
	st := store.NewMemory()
	h := synced(t, st, Options{})
	full := counter(h.ctl.metrics.syncs.WithLabelValues("full"))
	st.BreakWatches()
	h.waitFull()
	mustUpdate(t, st, nodeKey("n1"), func(n *api.Node) { n.Labels = map[string]string{"after": "break"} })
	eventually(t, func() error { return hepIs(st, "n1-auto-hep", map[string]string{"after": "break"}, "10.0.0.1") })
	st.Compact(st.Revision())
	st.BreakWatches()
	h.waitFull()
	mustCreate(t, st, calicoNode("n2", nil, "10.0.0.2"))
	eventually(t, func() error { return hepIs(st, "n2-auto-hep", nil, "10.0.0.2") })
	if got := counter(h.ctl.metrics.syncs.WithLabelValues("full")); got < full+2 {
		t.Fatalf("full syncs %v -> %v, want one per re-list", full, got)
	}
	if err := h.ctl.Ready(); err != nil {
		t.Fatal(err)
	}
}
