package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/palisade-net/palisade/store/storetest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		m := store.NewMemory()
		t.Cleanup(func() { m.Close() })
		return m
	})
}

func tier(name string) *api.Tier { return &api.Tier{ObjectMeta: metav1.ObjectMeta{Name: name}} }

func TestMemoryFailNext(t *testing.T) {
	m := store.NewMemory()
	defer m.Close()
	ctx := context.Background()
	boom := errors.New("boom")
	m.FailNext("Create", boom)
	if _, err := m.Create(ctx, tier("a")); !errors.Is(err, boom) {
		t.Fatalf("Create = %v, want boom", err)
	}
	if _, err := m.Create(ctx, tier("a")); err != nil {
		t.Fatalf("second Create: %v", err)
	}
	unavailable := &store.UnavailableError{Endpoints: []string{"memory"}, Err: boom}
	m.FailNext("Get", unavailable)
	if _, err := m.Get(ctx, store.KeyOf(tier("a"))); !store.IsUnavailable(err) {
		t.Fatalf("Get = %v, want UnavailableError", err)
	}
	m.FailNext("Watch", boom)
	if _, err := m.Watch(ctx, 0); !errors.Is(err, boom) {
		t.Fatalf("Watch = %v, want boom", err)
	}
}

// TestMemoryResync: a broken watch and a compacted one both re-list and
// report exactly the changes missed, then Synced.
func TestMemoryResync(t *testing.T) {
	defer store.SetResyncInterval(100 * time.Millisecond)()
	m := store.NewMemory()
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []string{"keep", "change", "drop"} {
		if _, err := m.Create(ctx, tier(n)); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := m.Watch(ctx, 0, store.Kind(api.KindTier))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Expect(t, ch, "Added Tier(change)", "Added Tier(drop)", "Added Tier(keep)", "Synced")

	// The watch breaks and the first re-list fails: the watcher backs off
	// and lists again.
	m.FailNext("List", errors.New("transient"))
	m.BreakWatches()
	time.Sleep(50 * time.Millisecond)
	storetest.Expect(t, ch, "Synced")

	// Changes made while the stream is broken, then compacted away.
	m.FailNext("List", errors.New("still down"))
	m.BreakWatches()
	upd := tier("change")
	upd.Labels = map[string]string{"v": "2"}
	if _, err := m.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Delete(ctx, store.KeyOf(tier("drop")), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, tier("new")); err != nil {
		t.Fatal(err)
	}
	m.Compact(m.Revision())
	evs := storetest.Expect(t, ch, "Modified Tier(change)", "Added Tier(new)", "Deleted Tier(drop)", "Synced")
	// The watch keeps revisions, not values: what a re-list finds has no
	// old object.
	if evs[0].Old != nil || evs[0].Object.GetLabels()["v"] != "2" {
		t.Errorf("Modified event after resync: %+v", evs[0])
	}
	if evs[2].Old != nil || evs[2].Key.Name != "drop" {
		t.Errorf("Deleted event after resync: %+v", evs[2])
	}
	if evs[3].Revision != m.Revision() {
		t.Errorf("Synced at %d, want %d", evs[3].Revision, m.Revision())
	}
	// And it goes on watching.
	if _, err := m.Create(ctx, tier("after")); err != nil {
		t.Fatal(err)
	}
	storetest.Expect(t, ch, "Added Tier(after)")
}

// TestMemoryWatchFromCompacted: watching from a compacted revision re-lists
// at once (every object as Added, then Synced).
func TestMemoryWatchFromCompacted(t *testing.T) {
	m := store.NewMemory()
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _ := m.Create(ctx, tier("a"))
	m.Create(ctx, tier("b"))
	m.Compact(m.Revision())
	ch, err := m.Watch(ctx, 2, store.Kind(api.KindTier))
	if err != nil {
		t.Fatal(err)
	}
	_ = a
	storetest.Expect(t, ch, "Added Tier(a)", "Added Tier(b)", "Synced")
}
