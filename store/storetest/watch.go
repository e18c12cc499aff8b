package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventTimeout bounds the wait for one watch event.
const EventTimeout = 10 * time.Second

// Next returns the next event of ch or fails the test.
func Next(t testing.TB, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return ev
	case <-time.After(EventTimeout):
		t.Fatal("no watch event within", EventTimeout)
	}
	return store.Event{}
}

// Describe prints an event compactly: "Added Tier(a)", "Synced".
func Describe(ev store.Event) string {
	if ev.Type == store.Synced {
		return "Synced"
	}
	return ev.Type.String() + " " + ev.Key.String()
}

// Expect reads len(want) events and compares their descriptions.
func Expect(t testing.TB, ch <-chan store.Event, want ...string) []store.Event {
	t.Helper()
	var evs []store.Event
	var got []string
	for range want {
		ev := Next(t, ch)
		evs = append(evs, ev)
		got = append(got, Describe(ev))
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events:\n got %s\nwant %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	return evs
}

// ExpectQuiet checks that no event arrives for d.
func ExpectQuiet(t testing.TB, ch <-chan store.Event, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %s", Describe(ev))
		}
	case <-time.After(d):
	}
}

func testWatchFromZero(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for _, n := range []string{"c", "a", "b"} {
		mustCreate(t, s, tier(n))
	}
	mustCreate(t, s, wep("ns1", "other-kind"))
	_, listRev, err := s.List(ctx, store.Kind(api.KindTier), "")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, 0, store.Kind(api.KindTier))
	if err != nil {
		t.Fatal(err)
	}
	evs := Expect(t, ch, "Added Tier(a)", "Added Tier(b)", "Added Tier(c)", "Synced")
	if evs[0].Object == nil || evs[0].Object.GetName() != "a" || evs[0].Revision != rev(t, evs[0].Object) {
		t.Errorf("first event %+v", evs[0])
	}
	if evs[3].Revision < listRev {
		t.Errorf("Synced at %d, before the earlier List at %d", evs[3].Revision, listRev)
	}
	created := mustCreate(t, s, tier("d"))
	mustCreate(t, s, wep("ns1", "ignored"))
	ev := Expect(t, ch, "Added Tier(d)")[0]
	sameObject(t, "Added object", ev.Object, created)
	in := tier("d")
	in.Labels = map[string]string{"v": "2"}
	updated, err := s.Update(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ev = Expect(t, ch, "Modified Tier(d)")[0]
	sameObject(t, "Modified object", ev.Object, updated)
	sameObject(t, "Modified old", ev.Old, created)
	if ev.Revision != rev(t, updated) {
		t.Errorf("Modified revision %d, want %s", ev.Revision, updated.GetResourceVersion())
	}
	if _, err := s.Delete(ctx, store.KeyOf(in), ""); err != nil {
		t.Fatal(err)
	}
	ev = Expect(t, ch, "Deleted Tier(d)")[0]
	if ev.Object != nil {
		t.Errorf("Deleted event carries an object")
	}
	sameObject(t, "Deleted old", ev.Old, updated)
	if ev.Revision <= rev(t, updated) {
		t.Errorf("Deleted revision %d not after the update %s", ev.Revision, updated.GetResourceVersion())
	}
}

func testWatchFromRevision(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := mustCreate(t, s, tier("a"))
	mustCreate(t, s, tier("b"))
	in := tier("a")
	in.Labels = map[string]string{"v": "2"}
	a2, err := s.Update(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, store.KeyOf(in), ""); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, rev(t, a), store.Kind(api.KindTier))
	if err != nil {
		t.Fatal(err)
	}
	evs := Expect(t, ch, "Added Tier(b)", "Modified Tier(a)", "Deleted Tier(a)")
	sameObject(t, "Modified old", evs[1].Old, a)
	sameObject(t, "Deleted old", evs[2].Old, a2)
	for i := 1; i < len(evs); i++ {
		if evs[i].Revision <= evs[i-1].Revision {
			t.Errorf("revisions not increasing: %d then %d", evs[i-1].Revision, evs[i].Revision)
		}
	}
	ExpectQuiet(t, ch, 200*time.Millisecond)
}

func testWatchKinds(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mustCreate(t, s, tier("t1"))
	mustCreate(t, s, wep("ns1", "w1"))
	mustCreate(t, s, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns1"}})
	all, err := s.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.Watch(ctx, 0, store.Kind(api.KindTier), store.KindK8sNamespace)
	if err != nil {
		t.Fatal(err)
	}
	// Key order: k8s/ sorts before v3/.
	Expect(t, all, "Added Namespace(ns1)", "Added Tier(t1)", "Added WorkloadEndpoint(ns1/w1)", "Synced")
	Expect(t, two, "Added Namespace(ns1)", "Added Tier(t1)", "Synced")
	mustCreate(t, s, wep("ns1", "w2"))
	mustCreate(t, s, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns2"}})
	Expect(t, all, "Added WorkloadEndpoint(ns1/w2)", "Added Namespace(ns2)")
	Expect(t, two, "Added Namespace(ns2)")
}

func testWatchEndsWithContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	Expect(t, ch, "Synced")
	cancel()
	expectClosed(t, ch)
}

// testCloseEndsWatch: closing the store ends its watches (Close may be
// called again by the suite's cleanup).
func testCloseEndsWatch(t *testing.T, s store.Store) {
	ch, err := s.Watch(ctxT(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	Expect(t, ch, "Synced")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, ch)
}

func expectClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed")
		}
	}
}

// testConcurrentUpdaters runs read-modify-write loops that retry on
// conflict: every increment must survive.
func testConcurrentUpdaters(t *testing.T, s store.Store) {
	const workers, increments = 6, 8
	mustCreate(t, s, tier("counter"))
	k := store.KeyOf(tier("counter"))
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < increments; i++ {
				if err := increment(ctxT(t), s, k); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.Get(ctxT(t), k)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.GetLabels()["n"]; n != strconv.Itoa(workers*increments) {
		t.Errorf("counter = %s, want %d: updates were lost", n, workers*increments)
	}
}

func increment(ctx context.Context, s store.Store, k store.Key) error {
	for attempt := 0; attempt < 1000; attempt++ {
		o, err := s.Get(ctx, k)
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(o.GetLabels()["n"])
		o.SetLabels(map[string]string{"n": strconv.Itoa(n + 1)})
		_, err = s.Update(ctx, o)
		if err == nil {
			return nil
		}
		if !store.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("increment: too many conflicts")
}
