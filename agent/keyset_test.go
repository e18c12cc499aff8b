package agent

import (
	"math/rand/v2"
	"testing"

	"github.com/palisade-net/palisade/store"
)

// keySet behaves as a map[store.Key]bool under random adds.
func TestKeySet(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	kinds := []store.Kind{store.KindK8sPod, "WorkloadEndpoint", "GlobalNetworkPolicy"}
	key := func() store.Key {
		return store.Key{Kind: kinds[r.IntN(3)], Namespace: []string{"", "a", "b"}[r.IntN(3)], Name: []string{"x", "y", "z", "w"}[r.IntN(4)]}
	}
	s, want := keySet{}, map[store.Key]bool{}
	for range 2000 {
		k := key()
		if got := s.add(k); got == want[k] {
			t.Fatalf("add(%v) = %v with the key present: %v", k, got, want[k])
		}
		want[k] = true
		if o := key(); s.has(o) != want[o] {
			t.Fatalf("has(%v) = %v, want %v", o, s.has(o), want[o])
		}
	}
}
