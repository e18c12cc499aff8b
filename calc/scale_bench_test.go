package calc

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/benchmem"
	"github.com/palisade-net/palisade/internal/gen"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The control plane at scale (issue 15). Each benchmark builds its cluster
// outside the timer, then times one cold calculation for w1Node: every
// object given to a new Engine, Source, and the node's render. It reports
// wall time, CPU time, and the heap the engine holds after a GC (the heap
// with the engine minus the heap with the objects alone):
//
//	go test ./calc -run '^$' -bench 'W2|W3' -benchtime 1x -timeout 30m
//	go test ./calc -run '^$' -bench Churn -benchtime 20000x
//
// W2 is Calico's headline shape (250k endpoints, 10k policies, 200 local
// endpoints): W1's generator at that size. W3 is 100k namespaces with one
// pod and one isolating Kubernetes NetworkPolicy each.

// coldCalc times the engine's cold calculation over the objects gen makes,
// for node. It reports the heap after GC the engine and the rendered
// ruleset hold once the objects themselves are dropped (held-MB: what an
// agent holds, the watch having handed the objects over), over the heap
// before the objects were made.
func coldCalc(b *testing.B, gen func() []api.Object, node string) {
	base := benchmem.HeapAfterGC()
	objs := gen()
	var cpu cpuClock
	var e *Engine
	var rs *render.Ruleset
	n := 0
	cpu.Start()
	for b.Loop() {
		e = NewEngine(node)
		for _, o := range objs {
			e.OnUpdate(o)
		}
		e.Apply(store.Event{Type: store.Synced})
		var err error
		if rs, err = render.Node(e.Source(), node); err != nil {
			b.Fatal(err)
		}
		n++
	}
	cpu.Stop()
	cpu.Report(b, n)
	clear(objs)
	objs = nil
	held := benchmem.HeapAfterGC()
	b.ReportMetric(float64(held-min(held, base))/1e6, "held-MB")
	benchmem.WriteHeapProfile(b) // what the engine holds
	st := rs.Stats()
	b.ReportMetric(float64(st.Rules), "rules")
	b.ReportMetric(float64(st.SetElements), "set-elements")
	runtime.KeepAlive(e)
	runtime.KeepAlive(objs)
}

func BenchmarkEngineW2(b *testing.B) {
	coldCalc(b, func() []api.Object { return genW1Objects(w1Seed, 250_000, 10_000).objs }, w1Node)
}

// genW3 is n namespaces, each with one pod (the first 200 on w1Node) and
// one Kubernetes NetworkPolicy isolating it to its own namespace.
func genW3(n int) []api.Object {
	var objs []api.Object
	for i := range w1Nodes {
		objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}})
	}
	for i := range n {
		ns := fmt.Sprintf("ns-%d", i)
		node := w1Node
		if i >= w1Local {
			node = fmt.Sprintf("node-%d", 1+i%(w1Nodes-1))
		}
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
		objs = append(objs,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": fmt.Sprintf("t%d", i%1000)}}},
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns, Labels: map[string]string{"app": "web"}},
				Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c"}}},
				Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}},
			&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "isolate", Namespace: ns},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}}}})
	}
	for i, o := range objs {
		api.Default(o)
		o.SetResourceVersion(fmt.Sprint(1 + i))
	}
	return objs
}

func BenchmarkEngineW3(b *testing.B) {
	coldCalc(b, func() []api.Object { return genW3(100_000) }, w1Node)
}

// BenchmarkEngineChurn applies a mixed stream of events to a loaded W1
// engine, one per operation, each followed by Source (the engine's work
// for an agent's batch of one): pod label flips, pod deletes and re-adds,
// and policy edits. It reports events/s of CPU time and the p50 and p99 of
// the per-event time (B3: >= 50k events/s on one core, p99 <= 1 ms).
func BenchmarkEngineChurn(b *testing.B) {
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	e := loadW1(b, c)
	e.Source()
	var pols []*api.GlobalNetworkPolicy
	for _, o := range c.objs {
		if p, ok := o.(*api.GlobalNetworkPolicy); ok {
			pols = append(pols, p)
		}
	}
	const n = 4096
	events := make([]func(), 0, n)
	for i := range n {
		p := c.pods[c.r.IntN(len(c.pods))]
		switch i % 4 {
		case 0, 1: // a label flip and back
			q := *p
			q.Labels = cloneLabels(p.Labels)
			q.Labels["app"] = fmt.Sprintf("app-%d", c.r.IntN(w1Apps))
			q.ResourceVersion = fmt.Sprintf("churn-%d", i)
			events = append(events, func() { e.OnUpdate(&q) }, func() { e.OnUpdate(p) })
		case 2: // a pod deleted and added again
			events = append(events, func() { e.OnDelete(store.KeyOf(p)) }, func() { e.OnUpdate(p) })
		case 3: // a policy edited and back
			pol := pols[c.r.IntN(len(pols))]
			q := *pol // the spec's slices are shared, never written
			order := *pol.Spec.Order + 0.5
			q.Spec.Order = &order
			q.ResourceVersion = fmt.Sprintf("churn-%d", i)
			events = append(events, func() { e.OnUpdate(&q) }, func() { e.OnUpdate(pol) })
		}
	}
	lat := make([]time.Duration, 0, b.N)
	var cpu cpuClock
	i := 0
	cpu.Start()
	for b.Loop() {
		start := time.Now()
		events[i%len(events)]()
		e.Source()
		lat = append(lat, time.Since(start))
		i++
	}
	cpu.Stop()
	cpu.Report(b, i)
	b.ReportMetric(float64(i)/cpu.total.Seconds(), "events/cpu-s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// BenchmarkEngineChurnWide is churn on the agent memory benchmark's
// cluster (internal/gen: 250,000 pods, 10,000 policies, 200 pods on this
// node), whose local rules' selectors match a third of the cluster each:
// remote pods' app labels flip and back, each followed by Source. "dense"
// is the engine as it runs (215 selectors hold their matches as bitmaps,
// dense.go), "sparse" the same with bitmaps off, for the cost of testing an
// item's bit in each dense selector on every rematch.
//
//	go test ./calc -run '^$' -bench EngineChurnWide -benchtime 20000x -timeout 30m
func BenchmarkEngineChurnWide(b *testing.B) {
	for _, dense := range []bool{true, false} {
		name := map[bool]string{true: "dense", false: "sparse"}[dense]
		b.Run(name, func(b *testing.B) {
			e := NewEngine("me")
			e.owners.denseOK = dense
			var pods []*corev1.Pod
			for _, o := range gen.Cluster(gen.Spec{Seed: 15, Namespaces: 100, Pods: 250_000, Policies: 10_000, Apps: 500}) {
				if p, ok := o.(*corev1.Pod); ok {
					p.Spec.NodeName = fmt.Sprintf("n%d", 2+len(pods)%100)
					if len(pods) < 200 {
						p.Spec.NodeName = "me"
					}
					pods = append(pods, p)
				}
				e.OnUpdate(o)
			}
			e.Source()
			r := rand.New(rand.NewPCG(1, 2))
			lat := make([]time.Duration, 0, b.N)
			var cpu cpuClock
			i := 0
			cpu.Start()
			for b.Loop() {
				p := pods[200+r.IntN(len(pods)-200)]
				q := *p
				q.Labels = cloneLabels(p.Labels)
				q.Labels["app"] = fmt.Sprintf("app-%d", r.IntN(500))
				q.ResourceVersion = fmt.Sprintf("churn-%d", i)
				start := time.Now()
				e.OnUpdate(&q)
				e.Source()
				e.OnUpdate(p)
				e.Source()
				lat = append(lat, time.Since(start)/2)
				i += 2
			}
			cpu.Stop()
			cpu.Report(b, i)
			b.ReportMetric(float64(i)/cpu.total.Seconds(), "events/cpu-s")
			b.ReportMetric(float64(len(e.owners.denseSels)), "dense-selectors")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
		})
	}
}
