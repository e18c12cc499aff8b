package storetest

import (
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// testWorkloadLabelsOnStorage: a WorkloadEndpoint is stored with its
// namespace and orchestrator labels taken from its metadata and spec, over
// what the user wrote (as Calico stores it).
func testWorkloadLabelsOnStorage(t *testing.T, s store.Store) {
	w := wep("ns1", "n1-k8s-p-eth0")
	w.Labels = map[string]string{api.LabelNamespace: "other", api.LabelOrchestrator: "k8s", "app": "web"}
	w.Spec.Orchestrator = "cni"
	mustCreate(t, s, w)
	got, err := s.Get(ctxT(t), store.KeyOf(w))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{api.LabelNamespace: "ns1", api.LabelOrchestrator: "cni", "app": "web"}
	if l := got.GetLabels(); len(l) != len(want) || l[api.LabelNamespace] != "ns1" || l[api.LabelOrchestrator] != "cni" || l["app"] != "web" {
		t.Errorf("stored labels %v, want %v", l, want)
	}
	if w.Labels[api.LabelNamespace] != "other" {
		t.Error("Create modified its input")
	}
}
