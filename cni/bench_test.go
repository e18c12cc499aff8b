package cni_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
)

// BenchmarkCNIAdd: the time of a CNI ADD through the real chain (ptp,
// host-local, palisade-cni) until the new pod's policy is in the kernel,
// with 1,000 pods' endpoints on the node and 200 policies. It reports p50
// and p99.
//
//	go test ./cni -run '^$' -bench CNIAdd -benchtime 30x
func BenchmarkCNIAdd(b *testing.B) {
	c := newChain(b)
	ctx := context.Background()
	const pods, policies = 1000, 200
	for i := range policies {
		docs, errs := api.Decode("np.yaml", []byte(fmt.Sprintf(`
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: np%d, namespace: app}
spec:
  selector: app == 'a%d'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'a%d'}, destination: {ports: [%d]}}]
`, i, i, (i+1)%policies, 1000+i)))
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		_, err := c.st.Create(ctx, docs[0].Object)
		must(b, err)
	}
	for i := range pods {
		w := workloadEndpoint(fmt.Sprintf("p%d", i), fmt.Sprintf("a%d", i%policies))
		w.Spec.IPNetworks = []string{fmt.Sprintf("198.18.%d.%d/32", 100+i/250, 1+i%250)}
		_, err := c.st.Create(ctx, w)
		must(b, err)
	}
	lab := netlab.ForTest(b, "pal-cnb")
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pod := fmt.Sprintf("new%d", i)
		ns, err := lab.NewNS(pod)
		must(b, err)
		_, err = c.st.Create(ctx, workloadEndpoint(pod, "a1"))
		must(b, err)
		b.StartTimer()
		_, d, err := c.add(pod, ns)
		must(b, err)
		took = append(took, d)
	}
	b.StopTimer()
	slices.Sort(took)
	q := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
}

// workloadEndpoint is a pod's endpoint on the chain's node, as the mirror
// writes it before the kubelet reports an address.
func workloadEndpoint(pod, app string) *api.WorkloadEndpoint {
	w := &api.WorkloadEndpoint{}
	w.Name, w.Namespace, w.Labels = chainNode+"-k8s-"+pod+"-eth0", "app", map[string]string{"app": app}
	w.Spec = api.WorkloadEndpointSpec{Orchestrator: "k8s", Node: chainNode, Pod: pod, Endpoint: "eth0",
		InterfaceName: policy.PodInterfaceName("app", pod), Profiles: []string{"kns.app"}}
	api.SetTypeMeta(w)
	return w
}
