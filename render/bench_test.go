package render

import (
	"fmt"
	"testing"

	cluster "github.com/palisade-net/palisade/internal/gen"
	"github.com/palisade-net/palisade/policy"
)

// benchModel is a generated cluster (internal/gen) whose pods all sit on
// one node (gen gives pods no node name, so they share the node "").
func benchModel(b testing.TB, pods, policies, apps int) *policy.Model {
	m, err := policy.NewModel(cluster.Cluster(cluster.Spec{Seed: 1, Namespaces: 5, Pods: pods, Policies: policies, Apps: apps}))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkNode renders one node at growing sizes; the largest has more
// than 2,000 sets and 2,000 chains.
//
//	go test ./render -run '^$' -bench BenchmarkNode -benchmem
func BenchmarkNode(b *testing.B) {
	for _, sz := range []struct{ pods, policies, apps int }{{200, 200, 50}, {1000, 1000, 200}, {2000, 4000, 1000}} {
		m := benchModel(b, sz.pods, sz.policies, sz.apps)
		rs, err := Node(m, "")
		if err != nil {
			b.Fatal(err)
		}
		st := rs.Stats()
		name := fmt.Sprintf("pods=%d/policies=%d/chains=%d/sets=%d/elements=%d", sz.pods, sz.policies, st.Chains, st.Sets, rs.Elements())
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Node(m, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkText prints the largest ruleset.
func BenchmarkText(b *testing.B) {
	rs, err := Node(benchModel(b, 2000, 4000, 1000), "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = rs.Text()
	}
}
