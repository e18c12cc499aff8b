package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// testUnreadable: one undecodable value never hides the rest. List and
// Watch return an *api.Unreadable for it, Get says it cannot be read,
// Delete removes it and says what it removed, Update repairs it.
func testUnreadable(t *testing.T, s store.Store) {
	rp, ok := s.(store.RawPutter)
	if !ok {
		t.Fatalf("%T does not implement store.RawPutter", s)
	}
	mustCreate(t, s, tier("a"))
	mustCreate(t, s, tier("c"))
	bad := store.Key{Kind: store.Kind(api.KindTier), Name: "b"}
	if err := rp.PutRaw(ctxT(t), bad, []byte(`{"spec": {"order": "not a number"`)); err != nil {
		t.Fatal(err)
	}
	list, _, err := s.List(ctxT(t), bad.Kind, "")
	if err != nil {
		t.Fatalf("List with one bad value: %v", err)
	}
	if got := names(list); got != "a b c" {
		t.Fatalf("List = %q, want a b c", got)
	}
	u, ok := list[1].(*api.Unreadable)
	if !ok || u.Of != api.KindTier || u.Name != "b" || u.Err == "" || u.GetResourceVersion() == "" {
		t.Fatalf("list[1] = %#v, want an Unreadable Tier b", list[1])
	}
	if _, err := s.Get(ctxT(t), bad); !store.IsUnreadable(err) {
		t.Errorf("Get of a bad value: err = %v, want an UnreadableError", err)
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 10*time.Second)
	defer cancel()
	ch, err := s.Watch(ctx, 0, bad.Kind)
	if err != nil {
		t.Fatal(err)
	}
	evs := Expect(t, ch, "Added Tier(a)", "Added Tier(b)", "Added Tier(c)", "Synced")
	if _, ok := evs[1].Object.(*api.Unreadable); !ok {
		t.Errorf("watch sent %T for the bad value, want *api.Unreadable", evs[1].Object)
	}
	// Corrupting a good value mid-watch is sent too (as Modified).
	if err := rp.PutRaw(ctxT(t), store.Key{Kind: bad.Kind, Name: "a"}, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	ev := Next(t, ch)
	if _, ok := ev.Object.(*api.Unreadable); ev.Type != store.Modified || !ok {
		t.Errorf("after corrupting a: %s %T", Describe(ev), ev.Object)
	}
	// Update repairs a bad value; Delete removes one and returns its stand-in.
	fixed, err := s.Update(ctxT(t), tier("b"))
	if err != nil || fixed.GetUID() == "" {
		t.Fatalf("Update of a bad value: %v", err)
	}
	old, err := s.Delete(ctxT(t), store.Key{Kind: bad.Kind, Name: "a"}, "")
	if err != nil {
		t.Fatalf("Delete of a bad value: %v", err)
	}
	if _, ok := old.(*api.Unreadable); !ok {
		t.Errorf("Delete returned %T, want *api.Unreadable", old)
	}
	list, _, _ = s.List(ctxT(t), bad.Kind, "")
	if got := names(list); got != "b c" {
		t.Errorf("after repair and delete: List = %q", got)
	}
}
