package agent

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/palisade-net/palisade/store"
)

// keySet behaves as a map[store.Key]bool under random adds and removes.
func TestKeySet(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	kinds := []store.Kind{store.KindK8sPod, "WorkloadEndpoint", "GlobalNetworkPolicy"}
	key := func() store.Key {
		return store.Key{Kind: kinds[r.IntN(3)], Namespace: []string{"", "a", "b"}[r.IntN(3)], Name: []string{"x", "y", "z", "w"}[r.IntN(4)]}
	}
	s, want := keySet{}, map[store.Key]bool{}
	other, otherWant := keySet{}, map[store.Key]bool{}
	for range 5000 {
		k := key()
		if r.IntN(2) == 0 {
			if got := s.add(k); got == want[k] {
				t.Fatalf("add(%v) = %v with the key present: %v", k, got, want[k])
			}
			want[k] = true
		} else {
			if got := s.remove(k); got != want[k] {
				t.Fatalf("remove(%v) = %v with the key present: %v", k, got, want[k])
			}
			delete(want, k)
		}
		if o := key(); r.IntN(3) == 0 {
			other.add(o)
			otherWant[o] = true
		}
		if s.len() != len(want) || s.has(k) != want[k] {
			t.Fatalf("len %d has %v; want %d %v", s.len(), s.has(k), len(want), want[k])
		}
		for _, kind := range kinds {
			n := 0
			for w := range want {
				if w.Kind == kind {
					n++
				}
			}
			if s.count(kind) != n {
				t.Fatalf("count(%s) = %d, want %d", kind, s.count(kind), n)
			}
		}
	}
	var gotNotIn, wantNotIn []string
	for _, k := range s.notIn(other) {
		gotNotIn = append(gotNotIn, k.String())
	}
	for k := range want {
		if !otherWant[k] {
			wantNotIn = append(wantNotIn, k.String())
		}
	}
	slices.Sort(gotNotIn)
	slices.Sort(wantNotIn)
	if !slices.Equal(gotNotIn, wantNotIn) {
		t.Fatalf("notIn = %v, want %v", gotNotIn, wantNotIn)
	}
}
