package calc

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSmallSet: random adds and removes across the slice-to-map switch
// and back agree with a map.
func TestSmallSet(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s smallSet[int]
	want := map[int]bool{}
	for step := range 20000 {
		x := r.IntN(3 * smallSetMax)
		if r.IntN(2) == 0 {
			s.add(x)
			want[x] = true
		} else {
			s.remove(x)
			delete(want, x)
		}
		got := slices.Sorted(s.all)
		if !slices.Equal(got, slices.Sorted(maps.Keys(want))) || s.len() != len(want) {
			t.Fatalf("step %d: set %v (len %d), want %v", step, got, s.len(), slices.Sorted(maps.Keys(want)))
		}
		if s.many != nil && s.len() <= smallSetMax/2 || s.many == nil && s.len() > smallSetMax {
			t.Fatalf("step %d: %d members, map %v", step, s.len(), s.many != nil)
		}
	}
}
