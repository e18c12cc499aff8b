package cli

import (
	"testing"

	"github.com/palisade-net/palisade/internal/gen"
	"github.com/palisade-net/palisade/policy"
)

// BenchmarkMatrix1000Pods5Ports500Policies judges the whole matrix of
// issue 2's benchmark: 1,000 pods, 5 ports, 500 policies: 4,995,000 flows,
// on every core, as `palisade matrix` does.
func BenchmarkMatrix1000Pods5Ports500Policies(b *testing.B) {
	objs := gen.Cluster(gen.Spec{Seed: 1, Namespaces: 20, Pods: 1000, Policies: 500})
	m, err := policy.NewModel(objs)
	if err != nil {
		b.Fatal(err)
	}
	ports := []string{"80/TCP", "443/TCP", "8080/TCP", "53/UDP", "5432/TCP"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cells := matrixCells(m.Pods(), nil, ports)
		judgeAll(m, cells, false)
		b.ReportMetric(float64(len(cells)), "flows/op")
	}
}

// BenchmarkModelBuild1000Pods500Policies builds the model for the same input.
func BenchmarkModelBuild1000Pods500Policies(b *testing.B) {
	objs := gen.Cluster(gen.Spec{Seed: 1, Namespaces: 20, Pods: 1000, Policies: 500})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := policy.NewModel(objs); err != nil {
			b.Fatal(err)
		}
	}
}
