package calc

import (
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod(ns, name, node, ip string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:   corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
}

func testGNP(name, sel, srcSel string) *api.GlobalNetworkPolicy {
	return &api.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: api.GlobalNetworkPolicySpec{
		Selector: sel, Types: []api.PolicyType{api.PolicyTypeIngress},
		Ingress: []api.Rule{{Action: api.Allow, Source: api.EntityRule{Selector: srcSel}}}}}
}

// harness is an engine and the objects it was given, for small tests.
type harness struct {
	t    *testing.T
	e    *Engine
	objs []api.Object
}

func (h *harness) drop(key store.Key) {
	for i, x := range h.objs {
		if store.KeyOf(x) == key {
			h.objs = append(h.objs[:i], h.objs[i+1:]...)
			return
		}
	}
}

func (h *harness) set(o api.Object) {
	h.drop(store.KeyOf(o))
	h.objs = append(h.objs, o)
	h.e.OnUpdate(o)
}

func (h *harness) del(o api.Object) {
	h.drop(store.KeyOf(o))
	h.e.OnDelete(store.KeyOf(o))
}

// render renders the engine's node, checking it against the model.
func (h *harness) render() string {
	h.t.Helper()
	m, err := policy.NewModel(h.objs)
	if err != nil {
		h.t.Fatal(err)
	}
	got, want := renderText(h.e.Source(), h.e.node), renderText(m, h.e.node)
	if got != want {
		h.t.Fatalf("engine and model differ at %s", firstDiff(got, want))
	}
	return got
}

// TestEngineChangedPrecision: events that cannot change the node's
// rendering leave Changed false; those that do set it.
func TestEngineChangedPrecision(t *testing.T) {
	h := &harness{t: t, e: NewEngine("n0")}
	e, set, del := h.e, h.set, h.del
	set(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n0"}})
	set(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})
	set(testPod("ns", "a", "n0", "10.0.0.1", map[string]string{"app": "web"}))
	set(testPod("ns", "b", "n1", "10.0.0.2", map[string]string{"app": "db", "team": "x"}))
	set(testGNP("p1", "app == 'web'", "app == 'db'"))
	before := h.render()
	steps := []struct {
		what    string
		do      func()
		changed bool
	}{
		{"remote pod: a label no active selector reads", func() {
			set(testPod("ns", "b", "n1", "10.0.0.2", map[string]string{"app": "db", "team": "y"}))
		}, false},
		{"remote pod: a new pod no active selector matches", func() {
			set(testPod("ns", "c", "n2", "10.0.0.3", map[string]string{"app": "cache"}))
		}, false},
		{"a policy that applies to no local endpoint", func() {
			set(testGNP("p2", "app == 'cache'", "team == 'y'"))
		}, false},
		{"remote pod: a label only an inactive policy's rule reads", func() {
			set(testPod("ns", "b", "n1", "10.0.0.2", map[string]string{"app": "db", "team": "x"}))
		}, false},
		{"the same object again", func() {
			set(testPod("ns", "b", "n1", "10.0.0.2", map[string]string{"app": "db", "team": "x"}))
		}, false},
		{"a policy's metadata", func() {
			p := testGNP("p1", "app == 'web'", "app == 'db'")
			p.Labels = map[string]string{"owner": "me"}
			set(p)
		}, false},
		{"remote pod: leaves an active rule selector", func() {
			set(testPod("ns", "b", "n1", "10.0.0.2", map[string]string{"app": "cache", "team": "x"}))
		}, true},
		{"remote pod: joins an active rule selector", func() {
			set(testPod("ns", "c", "n2", "10.0.0.3", map[string]string{"app": "db"}))
		}, true},
		{"remote pod: a member's address", func() {
			set(testPod("ns", "c", "n2", "10.0.0.4", map[string]string{"app": "db"}))
		}, true},
		{"deleting the inactive policy", func() { del(testGNP("p2", "", "")) }, false},
		{"local pod: a label that selects it out of the policy", func() {
			set(testPod("ns", "a", "n0", "10.0.0.1", map[string]string{"app": "api"}))
		}, true},
	}
	for _, s := range steps {
		s.do()
		changed := e.Changed()
		after := h.render()
		if after != before && !changed {
			t.Fatalf("%s: the rendering changed and Changed() is false", s.what)
		}
		if changed != s.changed {
			t.Errorf("%s: Changed() = %v (%s), want %v", s.what, changed, e.why, s.changed)
		}
		before = after
	}
}

// TestEngineApply: store events, Synced, and unknown deletes.
func TestEngineApply(t *testing.T) {
	e := NewEngine("n0")
	pod := testPod("ns", "a", "n0", "10.0.0.1", map[string]string{"app": "web"})
	if e.InSync() {
		t.Fatal("in sync before Synced")
	}
	e.Apply(store.Event{Type: store.Added, Key: store.KeyOf(pod), Object: pod})
	e.Apply(store.Event{Type: store.Synced})
	if !e.InSync() {
		t.Fatal("not in sync after Synced")
	}
	if ws := e.Source().WorkloadsOn("n0"); len(ws) != 1 || ws[0].Key() != "ns/a" {
		t.Fatalf("workloads %v", ws)
	}
	e.Apply(store.Event{Type: store.Deleted, Key: store.Key{Kind: store.KindK8sPod, Namespace: "ns", Name: "missing"}})
	if e.Changed() {
		t.Error("deleting an unknown object changed the node")
	}
	e.Apply(store.Event{Type: store.Deleted, Key: store.KeyOf(pod), Old: pod})
	src := e.Source()
	if src.Node("n0") != nil || len(src.WorkloadsOn("n0")) != 0 {
		t.Error("the node outlived its last pod")
	}
	if got := renderText(src, "n0"); !strings.Contains(got, "no node named") {
		t.Errorf("render of a node without objects: %s", got)
	}
}

// TestEngineSourceAfterChangePanics: a view is valid until the next change.
func TestEngineSourceAfterChangePanics(t *testing.T) {
	e := NewEngine("n0")
	src := e.Source()
	e.OnUpdate(testPod("ns", "a", "n0", "10.0.0.1", nil))
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	src.WorkloadsOn("n0")
}
