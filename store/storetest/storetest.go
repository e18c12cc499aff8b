// Package storetest is the behavioural test suite every store.Store
// implementation passes: the in-memory store and etcd (embedded or
// external) run the same checks.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Run runs the suite. newStore returns an empty store for one subtest
// (the suite does not close it; newStore registers any cleanup).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateTwice", testCreateTwice},
		{"CreateRejectsResourceVersion", testCreateRejectsRV},
		{"GetMissing", testGetMissing},
		{"BadKeys", testBadKeys},
		{"UpdateKeepsMetadata", testUpdateKeepsMetadata},
		{"UpdateStale", testUpdateStale},
		{"UpdateMissing", testUpdateMissing},
		{"UpdateWithoutResourceVersion", testUpdateWithoutRV},
		{"Delete", testDelete},
		{"ListOrderAndNamespaces", testListOrder},
		{"ListSeparatesKinds", testListSeparatesKinds},
		{"AllKinds", testAllKinds},
		{"WatchFromZero", testWatchFromZero},
		{"WatchFromRevision", testWatchFromRevision},
		{"WatchKinds", testWatchKinds},
		{"WatchEndsWithContext", testWatchEndsWithContext},
		{"ConcurrentUpdaters", testConcurrentUpdaters},
		{"CloseEndsWatch", testCloseEndsWatch},
		{"Unreadable", testUnreadable},
		{"WorkloadLabelsOnStorage", testWorkloadLabelsOnStorage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newStore(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func tier(name string) *api.Tier {
	order := 100.0
	return &api.Tier{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: api.TierSpec{Order: &order}}
}

func wep(ns, name string) *api.WorkloadEndpoint {
	return &api.WorkloadEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec:       api.WorkloadEndpointSpec{Node: "node1", Pod: name, IPNetworks: []string{"10.0.0.1/32"}},
	}
}

// Create creates o or fails the test.
func mustCreate(t *testing.T, s store.Store, o api.Object) api.Object {
	t.Helper()
	out, err := s.Create(ctxT(t), o)
	if err != nil {
		t.Fatalf("Create %s: %v", api.ID(o), err)
	}
	return out
}

func rev(t *testing.T, o api.Object) int64 {
	t.Helper()
	n, err := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("%s: resourceVersion %q is not a positive decimal revision", api.ID(o), o.GetResourceVersion())
	}
	return n
}

func jsonOf(t *testing.T, o any) string {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameObject(t *testing.T, what string, got, want api.Object) {
	t.Helper()
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func testCreateGet(t *testing.T, s store.Store) {
	in := tier("net-a")
	out := mustCreate(t, s, in)
	if in.ResourceVersion != "" || in.UID != "" || !in.CreationTimestamp.IsZero() || in.Kind != "" {
		t.Errorf("Create modified its input: %+v", in.ObjectMeta)
	}
	rev(t, out)
	if cts := out.GetCreationTimestamp(); out.GetUID() == "" || cts.IsZero() {
		t.Errorf("Create did not fill uid and creationTimestamp: %+v", out)
	}
	gvk := out.GetObjectKind().GroupVersionKind()
	if gvk.Kind != "Tier" || gvk.GroupVersion().String() != api.GroupVersionV3 {
		t.Errorf("Create returned type meta %v", gvk)
	}
	if *out.(*api.Tier).Spec.Order != 100 {
		t.Errorf("spec lost: %+v", out)
	}
	got, err := s.Get(ctxT(t), store.KeyOf(in))
	if err != nil {
		t.Fatal(err)
	}
	sameObject(t, "Get after Create", got, out)
}

func testCreateTwice(t *testing.T, s store.Store) {
	mustCreate(t, s, tier("twice"))
	_, err := s.Create(ctxT(t), tier("twice"))
	if !store.IsAlreadyExists(err) {
		t.Fatalf("second Create: %v, want AlreadyExistsError", err)
	}
	if want := "resource already exists: Tier(twice) with error: <nil>"; err.Error() != want {
		t.Errorf("error %q, want calicoctl's %q", err, want)
	}
}

func testCreateRejectsRV(t *testing.T, s store.Store) {
	in := tier("with-rv")
	in.ResourceVersion = "5"
	if _, err := s.Create(ctxT(t), in); err == nil {
		t.Fatal("Create accepted an object with a resourceVersion")
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	k := store.Key{Kind: store.Kind(api.KindWorkloadEndpoint), Namespace: "ns1", Name: "nope"}
	_, err := s.Get(ctxT(t), k)
	if !store.IsNotFound(err) {
		t.Fatalf("Get missing: %v, want NotFoundError", err)
	}
	if want := "resource does not exist: WorkloadEndpoint(ns1/nope) with error: <nil>"; err.Error() != want {
		t.Errorf("error %q, want calicoctl's %q", err, want)
	}
}

func testBadKeys(t *testing.T, s store.Store) {
	for _, k := range []store.Key{
		{Kind: "Bogus", Name: "x"},
		{Kind: store.Kind(api.KindTier), Name: ""},
		{Kind: store.Kind(api.KindTier), Name: "a/b"},
		{Kind: store.Kind(api.KindWorkloadEndpoint), Name: "no-namespace"},
		{Kind: store.Kind(api.KindTier), Namespace: "ns", Name: "cluster-scoped"},
	} {
		_, err := s.Get(ctxT(t), k)
		if err == nil || store.IsNotFound(err) || store.IsUnavailable(err) {
			t.Errorf("Get(%#v) = %v, want a plain error", k, err)
		}
	}
	if _, _, err := s.List(ctxT(t), "Bogus", ""); err == nil {
		t.Error("List of an unknown kind succeeded")
	}
	if _, err := s.Create(ctxT(t), wep("", "no-ns")); err == nil {
		t.Error("Create of a namespaced object without namespace succeeded")
	}
}

func testUpdateKeepsMetadata(t *testing.T, s store.Store) {
	created := mustCreate(t, s, tier("keep")).(*api.Tier)
	in := tier("keep")
	in.ResourceVersion = created.ResourceVersion
	in.UID = "forged"
	in.Labels = map[string]string{"x": "y"}
	updated, err := s.Update(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if in.UID != "forged" || in.ResourceVersion != created.ResourceVersion {
		t.Error("Update modified its input")
	}
	if cts := updated.GetCreationTimestamp(); updated.GetUID() != created.UID || !cts.Equal(&created.CreationTimestamp) {
		t.Errorf("uid/creationTimestamp not kept: %v %v, want %v %v", updated.GetUID(),
			updated.GetCreationTimestamp(), created.UID, created.CreationTimestamp)
	}
	if rev(t, updated) <= rev(t, created) {
		t.Errorf("resourceVersion did not grow: %s -> %s", created.ResourceVersion, updated.GetResourceVersion())
	}
	if updated.GetLabels()["x"] != "y" {
		t.Errorf("labels not updated: %v", updated.GetLabels())
	}
	got, err := s.Get(ctxT(t), store.KeyOf(in))
	if err != nil {
		t.Fatal(err)
	}
	sameObject(t, "Get after Update", got, updated)
}

func testUpdateStale(t *testing.T, s store.Store) {
	created := mustCreate(t, s, wep("ns1", "stale"))
	first := wep("ns1", "stale")
	first.ResourceVersion = created.GetResourceVersion()
	first.Labels["v"] = "1"
	if _, err := s.Update(ctxT(t), first); err != nil {
		t.Fatal(err)
	}
	second := wep("ns1", "stale")
	second.ResourceVersion = created.GetResourceVersion()
	second.Labels["v"] = "2"
	_, err := s.Update(ctxT(t), second)
	if !store.IsConflict(err) {
		t.Fatalf("stale Update: %v, want ConflictError", err)
	}
	if !strings.HasPrefix(err.Error(), "update conflict: WorkloadEndpoint(ns1/stale)") {
		t.Errorf("conflict message %q", err)
	}
	second.ResourceVersion = "not-a-number"
	if _, err := s.Update(ctxT(t), second); !store.IsConflict(err) {
		t.Errorf("Update with a malformed resourceVersion: %v, want ConflictError", err)
	}
	got, _ := s.Get(ctxT(t), store.KeyOf(second))
	if got == nil || got.GetLabels()["v"] != "1" {
		t.Errorf("stored object after the conflict: %v", got)
	}
}

func testUpdateMissing(t *testing.T, s store.Store) {
	if _, err := s.Update(ctxT(t), tier("ghost")); !store.IsNotFound(err) {
		t.Errorf("Update missing without resourceVersion: %v, want NotFoundError", err)
	}
	in := tier("ghost")
	in.ResourceVersion = "3"
	if _, err := s.Update(ctxT(t), in); !store.IsNotFound(err) {
		t.Errorf("Update missing with resourceVersion: %v, want NotFoundError", err)
	}
}

func testUpdateWithoutRV(t *testing.T, s store.Store) {
	created := mustCreate(t, s, tier("lww"))
	if _, err := s.Update(ctxT(t), tier("lww")); err != nil {
		t.Fatal(err)
	}
	in := tier("lww")
	in.Labels = map[string]string{"last": "yes"}
	out, err := s.Update(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.GetLabels()["last"] != "yes" || out.GetUID() != created.GetUID() {
		t.Errorf("Update without resourceVersion: %+v", out)
	}
}

func testDelete(t *testing.T, s store.Store) {
	created := mustCreate(t, s, wep("ns1", "del"))
	k := store.KeyOf(created)
	if _, err := s.Delete(ctxT(t), k, "1"); !store.IsConflict(err) {
		t.Errorf("Delete with a stale resourceVersion: %v, want ConflictError", err)
	}
	old, err := s.Delete(ctxT(t), k, created.GetResourceVersion())
	if err != nil {
		t.Fatal(err)
	}
	sameObject(t, "Delete result", old, created)
	if _, err := s.Get(ctxT(t), k); !store.IsNotFound(err) {
		t.Errorf("Get after Delete: %v", err)
	}
	if _, err := s.Delete(ctxT(t), k, ""); !store.IsNotFound(err) {
		t.Errorf("second Delete: %v, want NotFoundError", err)
	}
	if _, err := s.Delete(ctxT(t), k, created.GetResourceVersion()); !store.IsNotFound(err) {
		t.Errorf("guarded Delete of a missing object: %v, want NotFoundError", err)
	}
	again := mustCreate(t, s, wep("ns1", "del"))
	if _, err := s.Delete(ctxT(t), k, ""); err != nil {
		t.Errorf("unguarded Delete: %v", err)
	}
	if again.GetUID() == created.GetUID() {
		t.Error("re-created object kept the old uid")
	}
}

func names(objs []api.Object) string {
	var out []string
	for _, o := range objs {
		if o.GetNamespace() != "" {
			out = append(out, o.GetNamespace()+"/"+o.GetName())
		} else {
			out = append(out, o.GetName())
		}
	}
	return strings.Join(out, " ")
}

func testListOrder(t *testing.T, s store.Store) {
	var last api.Object
	for _, id := range []string{"ns2/b", "ns1/c", "ns10/a", "ns1/a", "ns2/a", "ns1/b"} {
		ns, name, _ := strings.Cut(id, "/")
		last = mustCreate(t, s, wep(ns, name))
	}
	kind := store.Kind(api.KindWorkloadEndpoint)
	all, listRev, err := s.List(ctxT(t), kind, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(all), "ns1/a ns1/b ns1/c ns10/a ns2/a ns2/b"; got != want {
		t.Errorf("List all = %q, want %q (key order)", got, want)
	}
	if listRev < rev(t, last) {
		t.Errorf("List revision %d is before the last write %s", listRev, last.GetResourceVersion())
	}
	for _, o := range all {
		rev(t, o)
		if o.(*api.WorkloadEndpoint).Spec.Node != "node1" {
			t.Errorf("listed object lost its spec: %+v", o)
		}
	}
	ns1, _, err := s.List(ctxT(t), kind, "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(ns1), "ns1/a ns1/b ns1/c"; got != want {
		t.Errorf("List ns1 = %q, want %q (ns10 must not match)", got, want)
	}
	none, _, err := s.List(ctxT(t), kind, "empty")
	if err != nil || len(none) != 0 {
		t.Errorf("List of an empty namespace = %v, %v", names(none), err)
	}
}

func testListSeparatesKinds(t *testing.T, s store.Store) {
	mustCreate(t, s, &api.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "calico"}})
	mustCreate(t, s, &api.StagedNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "staged"}})
	mustCreate(t, s, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "k8s"}})
	mustCreate(t, s, &api.Node{ObjectMeta: metav1.ObjectMeta{Name: "calico-node"}})
	mustCreate(t, s, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "k8s-node"}})
	for kind, want := range map[store.Kind]string{
		store.Kind(api.KindNetworkPolicy):       "ns1/calico",
		store.Kind(api.KindStagedNetworkPolicy): "ns1/staged",
		store.KindK8sNetworkPolicy:              "ns1/k8s",
		store.Kind(api.KindNode):                "calico-node",
		store.KindK8sNode:                       "k8s-node",
	} {
		got, _, err := s.List(ctxT(t), kind, "")
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != want {
			t.Errorf("List %s = %q, want %q", kind, names(got), want)
		}
	}
	np, err := s.Get(ctxT(t), store.Key{Kind: store.KindK8sNetworkPolicy, Namespace: "ns1", Name: "k8s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := np.(*networkingv1.NetworkPolicy); !ok || np.GetObjectKind().GroupVersionKind().Group != "networking.k8s.io" {
		t.Errorf("k8s NetworkPolicy read back as %T %v", np, np.GetObjectKind().GroupVersionKind())
	}
}

// newOf returns an empty object of a stored kind, named and namespaced.
func newOf(t *testing.T, kind store.Kind, ns, name string) api.Object {
	t.Helper()
	o, err := store.NewObject(kind)
	if err != nil {
		t.Fatal(err)
	}
	o.SetName(name)
	if kind.Namespaced() {
		o.SetNamespace(ns)
	}
	return o
}

func testAllKinds(t *testing.T, s store.Store) {
	for _, kind := range store.AllKinds() {
		o := newOf(t, kind, "ns-x", "obj-"+strings.ToLower(strings.TrimPrefix(string(kind), "k8s/")))
		if store.KindOf(o) != kind {
			t.Fatalf("KindOf(%T) = %s, want %s", o, store.KindOf(o), kind)
		}
		created := mustCreate(t, s, o)
		if fmt.Sprintf("%T", created) != fmt.Sprintf("%T", o) {
			t.Errorf("%s: Create returned %T", kind, created)
		}
		got, err := s.Get(ctxT(t), store.KeyOf(o))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		sameObject(t, string(kind), got, created)
		got.SetLabels(map[string]string{"k": "v"})
		if _, err := s.Update(ctxT(t), got); err != nil {
			t.Errorf("%s: Update: %v", kind, err)
		}
		list, _, err := s.List(ctxT(t), kind, "")
		if err != nil || len(list) != 1 || list[0].GetLabels()["k"] != "v" {
			t.Errorf("%s: List = %v, %v", kind, names(list), err)
		}
	}
	for _, kind := range store.AllKinds() {
		list, _, err := s.List(ctxT(t), kind, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			if _, err := s.Delete(ctxT(t), store.KeyOf(o), o.GetResourceVersion()); err != nil {
				t.Errorf("%s: Delete: %v", kind, err)
			}
		}
	}
}
