package agent

import (
	"slices"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRelistDeletes: when the watch starts again from a new list, what
// the engine holds (its model's objects and the staged view's policies)
// that the list does not send again is deleted at its Synced, and the
// cluster counts follow what the engine holds; for both engines.
func TestRelistDeletes(t *testing.T) {
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "a", Labels: map[string]string{"app": name}},
			Spec:   corev1.PodSpec{NodeName: "elsewhere"},
			Status: corev1.PodStatus{PodIP: "198.18.7.1", PodIPs: []corev1.PodIP{{IP: "198.18.7.1"}}}}
	}
	hep := &api.HostEndpoint{ObjectMeta: metav1.ObjectMeta{Name: "h1", Labels: map[string]string{"role": "x"}},
		Spec: api.HostEndpointSpec{Node: "elsewhere", InterfaceName: "eth0", ExpectedIPs: []string{"198.18.7.9"}}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}
	gnp := &api.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "g1"}, Spec: api.GlobalNetworkPolicySpec{Selector: "app == 'p1'"}}
	staged := &api.StagedGlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "s1"},
		Spec: api.StagedGlobalNetworkPolicySpec{StagedAction: api.StagedActionSet, GlobalNetworkPolicySpec: api.GlobalNetworkPolicySpec{Selector: "all()"}}}
	p1, p2 := pod("p1"), pod("p2")
	for _, kind := range []string{EngineIncremental, EngineRebuild} {
		t.Run(kind, func(t *testing.T) {
			a, err := New(testConfig(t), store.NewMemory(), nft.NewFake(), NewStaticInterfaces(testIfaces()...))
			if err != nil {
				t.Fatal(err)
			}
			l := newLoop(a, newEngine(kind, RulesLinear, a.cfg.Node), nil)
			list := func(rev int64, objs ...api.Object) {
				l.onUpdate(update{relist: true})
				for _, o := range objs {
					l.onUpdate(update{ev: store.Event{Type: store.Added, Key: store.KeyOf(o), Object: o, Revision: rev}})
				}
				l.onUpdate(update{ev: store.Event{Type: store.Synced, Revision: rev}})
			}
			check := func(what string, pods, heps, nodes int, objs ...api.Object) {
				t.Helper()
				want := []string{nodeKey(a.cfg.Node).String()} // the loop's own Node, always
				var got []string
				for k := range l.eng.Keys {
					got = append(got, k.String())
				}
				for _, o := range objs {
					want = append(want, store.KeyOf(o).String())
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: the engine holds %v, want %v", what, got, want)
				}
				if l.pods != pods || l.heps != heps || len(l.nodes) != nodes {
					t.Errorf("%s: counted %d pods, %d host endpoints, %d nodes; want %d, %d, %d",
						what, l.pods, l.heps, len(l.nodes), pods, heps, nodes)
				}
			}
			list(1, p1, p2, hep, node, gnp, staged)
			check("first list", 2, 1, 1, p1, p2, hep, node, gnp, staged)
			list(2, p1, hep) // the rest went while the watch was down
			check("second list", 1, 1, 0, p1, hep)
			l.onUpdate(update{ev: store.Event{Type: store.Modified, Key: store.KeyOf(p1), Object: p1, Revision: 3}})
			l.onUpdate(update{ev: store.Event{Type: store.Deleted, Key: store.KeyOf(hep), Revision: 4}})
			check("a modify and a delete", 1, 0, 0, p1)
		})
	}
}
