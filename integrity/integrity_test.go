package integrity

import (
	"context"
	"errors"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Workload endpoints name the profiles a Kubernetes datastore synthesises:
// kns.<ns> exists with its Namespace, ksa.<ns>.<sa> with its ServiceAccount
// or a pod running as it.
func TestSynthesisedProfiles(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	t.Cleanup(func() { mem.Close() })
	s := Wrap(mem)
	wep := func(profiles ...string) *api.WorkloadEndpoint {
		w := &api.WorkloadEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "n1-k8s-web-eth0"},
			Spec: api.WorkloadEndpointSpec{Node: "n1", Profiles: profiles}}
		api.SetTypeMeta(w)
		return w
	}
	var de *DanglingError
	if _, err := s.Create(ctx, wep("kns.app")); !errors.As(err, &de) || de.Ref.Name != "kns.app" {
		t.Fatalf("kns.app without the namespace: %v", err)
	}
	mustCreate(t, s, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}})
	if _, err := s.Create(ctx, wep("kns.app", "ksa.app.builder")); !errors.As(err, &de) || de.Ref.Name != "ksa.app.builder" {
		t.Fatalf("ksa without a service account: %v", err)
	}
	mustCreate(t, s, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"},
		Spec: corev1.PodSpec{ServiceAccountName: "builder"}})
	mustCreate(t, s, wep("kns.app", "ksa.app.builder"))
	mustCreate(t, s, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "other"}})
	if _, err := s.Update(ctx, wep("kns.app", "ksa.app.other")); err != nil {
		t.Fatalf("ksa of a service account object: %v", err)
	}
	var iu *InUseError
	if _, err := s.Delete(ctx, store.Key{Kind: store.KindK8sNamespace, Name: "app"}, ""); !errors.As(err, &iu) {
		t.Fatalf("deleting a namespace with pods: %v", err)
	}
}

func mustCreate(t *testing.T, s store.Store, o api.Object) {
	t.Helper()
	api.SetTypeMeta(o)
	if _, err := s.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}
