package gen

import (
	"net/netip"
	"testing"
)

// Every pod of a cluster up to a quarter million and more gets a valid
// address of its own (the agent's memory benchmark makes 250,000).
func TestPodIPs(t *testing.T) {
	seen := map[netip.Addr]int{}
	for i := range 300_000 {
		a, err := netip.ParseAddr(podIP(i))
		if err != nil {
			t.Fatalf("pod %d: %v", i, err)
		}
		if j, ok := seen[a]; ok {
			t.Fatalf("pods %d and %d share %s", j, i, a)
		}
		seen[a] = i
	}
}
