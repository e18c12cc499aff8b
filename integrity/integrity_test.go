package integrity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/kube/convert"
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

// Objects the Kubernetes mirror owns are refused to every other writer,
// with Calico's message.
func TestMirroredObjectsRefused(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	t.Cleanup(func() { mem.Close() })
	np := &api.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "knp.default.deny",
		Annotations: map[string]string{convert.SourceAnnotation: "NetworkPolicy app/deny uid=u rv=1"}}}
	api.SetTypeMeta(np)
	if _, err := mem.Create(ctx, np); err != nil { // as the mirror writes it
		t.Fatal(err)
	}
	s := Wrap(mem)
	var me *MirroredError
	if _, err := s.Delete(ctx, store.KeyOf(np), ""); !errors.As(err, &me) ||
		!strings.Contains(err.Error(), "kubernetes network policies must be managed through the kubernetes API") {
		t.Errorf("delete: %v", err)
	}
	edit := &api.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "knp.default.deny"}}
	api.SetTypeMeta(edit)
	if _, err := s.Update(ctx, edit); !errors.As(err, &me) {
		t.Errorf("update: %v", err)
	}
	prof := &api.Profile{ObjectMeta: metav1.ObjectMeta{Name: "kns.app",
		Annotations: map[string]string{convert.SourceAnnotation: "Namespace /app uid=u rv=1"}}}
	api.SetTypeMeta(prof)
	if _, err := s.Create(ctx, prof); !errors.As(err, &me) {
		t.Errorf("create with the mirror's annotation: %v", err)
	}
	mine := &api.Profile{ObjectMeta: metav1.ObjectMeta{Name: "mine"}}
	api.SetTypeMeta(mine)
	if _, err := s.Create(ctx, mine); err != nil {
		t.Errorf("a user's profile: %v", err)
	}
}
