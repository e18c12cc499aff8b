package calc

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// W1 of docs/performance.md as datastore objects: the endpoints and
// selectors of genW1 become 10k pods in 100 namespaces on 50 nodes (200 on
// w1Node, the engine's node) and 2k GlobalNetworkPolicies whose selectors
// have W1's five shapes, each with 5 rules mixing selectors (of the same
// shapes), CIDRs and ports.

const (
	w1Node      = "node-0"
	w1Nodes     = 50
	w1Local     = 200
	w1RuleSeeds = 0x5e1ec7 + 1
)

// w1Cluster is W1 as objects.
type w1Cluster struct {
	objs []api.Object
	pods []*corev1.Pod
	r    *rand.Rand
}

// genW1Objects returns W1 with the given sizes as objects, in the order a
// store lists them: namespaces and nodes, pods, policies.
func genW1Objects(seed uint64, endpoints, policies int) *w1Cluster {
	w := genW1(seed, endpoints, policies)
	c := &w1Cluster{r: rand.New(rand.NewPCG(seed, w1RuleSeeds))}
	for n := range w1NS {
		c.objs = append(c.objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%d", n),
			Labels: map[string]string{"owner": fmt.Sprintf("team-%d", n%w1Teams)}}})
	}
	for n := range w1Nodes {
		k := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", n)}}
		k.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("192.168.%d.%d", n/256, n%256)}}
		c.objs = append(c.objs, k)
	}
	for i, it := range w.items {
		node := w1Node
		if i >= w1Local {
			node = fmt.Sprintf("node-%d", 1+c.r.IntN(w1Nodes-1))
		}
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: it.labels["ns"], Labels: it.labels},
			Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c"}}},
			Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
		c.pods = append(c.pods, p)
		c.objs = append(c.objs, p)
	}
	for i, s := range w.sels {
		c.objs = append(c.objs, c.policy(fmt.Sprintf("pol-%d", i), s.text, float64(i)))
	}
	for i, o := range c.objs {
		o.SetResourceVersion(fmt.Sprint(1 + i)) // as a store sends them
	}
	return c
}

// policy returns a W1 policy: 3 ingress and 2 egress rules.
func (c *w1Cluster) policy(name, sel string, order float64) *api.GlobalNetworkPolicy {
	tcp, udp := api.ProtocolFromString("TCP"), api.ProtocolFromString("UDP")
	shape := func() string { return w1Selector(c.r, c.r.IntN(5)) }
	cidr := func() []string { return []string{fmt.Sprintf("10.%d.0.0/16", c.r.IntN(256))} }
	return &api.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: api.GlobalNetworkPolicySpec{
		Selector: sel, Order: &order,
		Types: []api.PolicyType{api.PolicyTypeIngress, api.PolicyTypeEgress},
		Ingress: []api.Rule{
			{Action: api.Allow, Protocol: &tcp, Source: api.EntityRule{Selector: shape()},
				Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(80), api.SinglePort(443)}}},
			{Action: api.Allow, Protocol: &tcp, Source: api.EntityRule{Nets: cidr()},
				Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(8080)}}},
			{Action: api.Deny, Source: api.EntityRule{Selector: shape()}},
		},
		Egress: []api.Rule{
			{Action: api.Allow, Protocol: &udp, Destination: api.EntityRule{Nets: cidr(), Ports: []api.Port{api.SinglePort(53)}}},
			{Action: api.Allow, Protocol: &tcp, Destination: api.EntityRule{Selector: shape(), Ports: []api.Port{api.SinglePort(5432)}}},
		},
	}}
}

// loadW1 returns an engine for w1Node holding W1.
func loadW1(tb testing.TB, c *w1Cluster) *Engine {
	e := NewEngine(w1Node)
	for _, o := range c.objs {
		e.OnUpdate(o)
	}
	e.Apply(store.Event{Type: store.Synced})
	return e
}

func TestEngineW1(t *testing.T) {
	c := genW1Objects(w1Seed, 2_000, 400)
	m, err := policy.NewModel(c.objs)
	if err != nil {
		t.Fatal(err)
	}
	e := loadW1(t, c)
	if got, want := renderText(e.Source(), w1Node), renderText(m, w1Node); got != want {
		t.Fatalf("W1 (reduced): engine and model differ at %s", firstDiff(got, want))
	}
	if len(e.localWL) != w1Local {
		t.Errorf("%d local workloads, want %d", len(e.localWL), w1Local)
	}
}

func BenchmarkEngineW1ColdBuild(b *testing.B) {
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	b.ReportAllocs()
	var cpu cpuClock
	n := 0
	var e *Engine
	cpu.Start()
	for b.Loop() {
		e = loadW1(b, c)
		e.Source()
		n++
	}
	cpu.Stop()
	cpu.Report(b, n)
	b.ReportMetric(float64(len(e.selRefs)), "active-selectors")
	b.ReportMetric(float64(activePolicies(e)), "active-policies")
}

func activePolicies(e *Engine) int {
	n := 0
	for _, rec := range e.policies {
		if rec.reg != nil {
			n++
		}
	}
	return n
}

// BenchmarkEngineW1LabelChange flips one pod's app label per operation
// (back and forth over 1024 random pods, about 2% of them local), then
// asks for the Source.
func BenchmarkEngineW1LabelChange(b *testing.B) {
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	e := loadW1(b, c)
	e.Source()
	const n = 1024
	var flips [n][2]*corev1.Pod
	for i := range flips {
		p := c.pods[c.r.IntN(len(c.pods))]
		q := *p
		q.Labels = cloneLabels(p.Labels)
		q.Labels["app"] = fmt.Sprintf("app-%d", c.r.IntN(w1Apps))
		q.ResourceVersion = fmt.Sprintf("flip-%d", i)
		flips[i] = [2]*corev1.Pod{&q, p}
	}
	b.ReportAllocs()
	var cpu cpuClock
	i, dirty := 0, 0
	cpu.Start()
	for b.Loop() {
		e.OnUpdate(flips[i%n][(i/n)%2])
		if e.Changed() {
			dirty++
		}
		e.Source()
		i++
	}
	cpu.Stop()
	cpu.Report(b, i)
	b.ReportMetric(float64(dirty)/float64(i), "changed/op")
}

// BenchmarkEngineW1SelectorAdd adds one new W1 policy per operation, then
// asks for the Source; the new policies are deleted in batches outside the
// timer.
func BenchmarkEngineW1SelectorAdd(b *testing.B) {
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	e := loadW1(b, c)
	e.Source()
	const batch = 512
	pool := make([]*api.GlobalNetworkPolicy, batch)
	for i := range pool {
		pool[i] = c.policy(fmt.Sprintf("new-%d", i), w1Selector(c.r, c.r.IntN(5)), float64(i))
		pool[i].ResourceVersion = fmt.Sprintf("new-%d", i)
	}
	b.ReportAllocs()
	var cpu cpuClock
	b.ResetTimer()
	cpu.Start()
	for i := range b.N {
		e.OnUpdate(pool[i%batch])
		e.Source()
		if i%batch == batch-1 || i == b.N-1 {
			cpu.Stop()
			b.StopTimer()
			for _, p := range pool {
				e.OnDelete(store.KeyOf(p))
			}
			b.StartTimer()
			cpu.Start()
		}
	}
	cpu.Report(b, b.N)
}

// BenchmarkW1Render renders w1Node at W1 from the engine (its membership
// caches warm, as after a small change) and from policy.NewModel, whose
// SelectorMembers scans every owner for each selector.
func BenchmarkW1Render(b *testing.B) {
	c := genW1Objects(w1Seed, w1Endpoints, w1Selectors)
	b.Run("engine", func(b *testing.B) {
		e := loadW1(b, c)
		renderText(e.Source(), w1Node)
		benchRender(b, func() render.Source { return e.Source() })
	})
	b.Run("engine-cold-caches", func(b *testing.B) {
		e := loadW1(b, c)
		benchRender(b, func() render.Source { clear(e.members); return e.Source() })
	})
	b.Run("model", func(b *testing.B) {
		m, err := policy.NewModel(c.objs)
		if err != nil {
			b.Fatal(err)
		}
		benchRender(b, func() render.Source { return m })
	})
	b.Run("model-build", func(b *testing.B) {
		var cpu cpuClock
		n := 0
		cpu.Start()
		for b.Loop() {
			if _, err := policy.NewModel(c.objs); err != nil {
				b.Fatal(err)
			}
			n++
		}
		cpu.Stop()
		cpu.Report(b, n)
	})
}

func benchRender(b *testing.B, src func() render.Source) {
	b.ReportAllocs()
	var cpu cpuClock
	n := 0
	var rs *render.Ruleset
	cpu.Start()
	for b.Loop() {
		var err error
		if rs, err = render.Node(src(), w1Node); err != nil {
			b.Fatal(err)
		}
		n++
	}
	cpu.Stop()
	cpu.Report(b, n)
	st := rs.Stats()
	b.ReportMetric(float64(st.Sets), "sets")
	b.ReportMetric(float64(st.Chains), "chains")
}
