package calc

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/selector"
)

// W1 of docs/performance.md: 10k endpoints x 2k selectors over 100
// namespaces. Every endpoint has app (500 values), tier (4), env (3), team
// (50), a unique pod id and its namespace, and inherits from its
// namespace's profile. Selectors mix five shapes, see w1Selector.
const (
	w1Seed      = 1
	w1Endpoints = 10_000
	w1Selectors = 2_000
	w1Apps      = 500
	w1Teams     = 50
	w1NS        = 100
)

var (
	w1Tiers = []string{"web", "api", "db", "cache"}
	w1Envs  = []string{"prod", "staging", "dev"}
)

type genItem struct {
	id     string
	labels map[string]string
	parent string
}

type genSel struct {
	id   string
	text string
	sel  *selector.Selector
}

// workload is a generated input: profiles, endpoints and parsed selectors.
type workload struct {
	parents map[string]map[string]string
	items   []genItem
	sels    []genSel
}

// genW1 returns W1 with the given sizes; the same seed gives the same
// workload.
func genW1(seed uint64, endpoints, selectors int) *workload {
	r := rand.New(rand.NewPCG(seed, 0x5e1ec7))
	w := &workload{parents: map[string]map[string]string{}}
	for n := range w1NS {
		ns := fmt.Sprintf("ns-%d", n)
		w.parents["kns."+ns] = map[string]string{
			"pcns.projectcalico.org/name": ns,
			"pcns.owner":                  fmt.Sprintf("team-%d", n%w1Teams),
		}
	}
	for i := range endpoints {
		ns := fmt.Sprintf("ns-%d", r.IntN(w1NS))
		w.items = append(w.items, genItem{
			id: fmt.Sprintf("%s/pod-%d", ns, i),
			labels: map[string]string{
				"app":  fmt.Sprintf("app-%d", r.IntN(w1Apps)),
				"tier": w1Tiers[r.IntN(len(w1Tiers))],
				"env":  w1Envs[r.IntN(len(w1Envs))],
				"team": fmt.Sprintf("team-%d", r.IntN(w1Teams)),
				"pod":  fmt.Sprintf("pod-%d", i),
				"ns":   ns,
			},
			parent: "kns." + ns,
		})
	}
	for i := range selectors {
		w.sels = append(w.sels, parsed(fmt.Sprintf("sel-%d", i), w1Selector(r, r.IntN(5))))
	}
	return w
}

// w1Selector returns a selector of the given W1 shape with random operands.
func w1Selector(r *rand.Rand, shape int) string {
	switch shape {
	case 0:
		return fmt.Sprintf("app == 'app-%d'", r.IntN(w1Apps))
	case 1:
		return fmt.Sprintf("app == 'app-%d' && tier == 'api'", r.IntN(w1Apps))
	case 2:
		envs := []string{w1Envs[r.IntN(3)], w1Envs[r.IntN(3)]}
		return fmt.Sprintf("ns == 'ns-%d' && env in {'%s', '%s'}", r.IntN(w1NS), envs[0], envs[1])
	case 3:
		return fmt.Sprintf("team == 'team-%d' && has(app) && !has(q)", r.IntN(w1Teams))
	default:
		return fmt.Sprintf("tier == 'db' && ns == 'ns-%d'", r.IntN(w1NS))
	}
}

func parsed(id, text string) genSel {
	return genSel{id: id, text: text, sel: selector.MustParse(text)}
}

func (w *workload) loadParents(li *LabelIndex) {
	for _, id := range sortedKeys(w.parents) {
		li.UpdateParent(id, w.parents[id])
	}
}

func (w *workload) loadItems(li *LabelIndex) {
	for _, it := range w.items {
		li.UpdateItem(it.id, it.labels, it.parent)
	}
}

func (w *workload) loadSels(li *LabelIndex) {
	for _, s := range w.sels {
		li.UpdateSelector(s.id, s.sel)
	}
}

// counter counts callbacks, as a cheap consumer.
type counter struct{ starts, stops int }

func (c *counter) index() *LabelIndex {
	return NewLabelIndex(func(string, string) { c.starts++ }, func(string, string) { c.stops++ })
}

// buildW1 returns an index loaded with w: profiles, endpoints, selectors.
func buildW1(w *workload) (*LabelIndex, *counter) {
	c := &counter{}
	li := c.index()
	w.loadParents(li)
	w.loadItems(li)
	w.loadSels(li)
	return li, c
}

// TestW1Matches checks the index against brute force on a reduced W1.
func TestW1Matches(t *testing.T) {
	w := genW1(w1Seed, 2_000, 400)
	li, c := buildW1(w)
	checkInvariants(t, li)
	ref := newRefModel()
	for id, l := range w.parents {
		ref.parents[id] = l
	}
	for _, it := range w.items {
		ref.items[it.id] = refItem{labels: it.labels, parents: []string{it.parent}}
	}
	for _, s := range w.sels {
		ref.sels[s.id] = s.sel
	}
	want := ref.matches()
	if got := indexPairs(t, li, ref); !samePairs(got, want) || c.starts != len(want) {
		t.Fatalf("W1: index has %d pairs, %d starts; brute force %d", len(got), c.starts, len(want))
	}
	scan := 0
	for _, s := range li.sels {
		if s.cur < 0 {
			scan++
		}
	}
	if scan != 0 {
		t.Errorf("%d W1 selectors in the scan set, want 0", scan)
	}
}

func BenchmarkW1ColdBuild(b *testing.B) {
	w := genW1(w1Seed, w1Endpoints, w1Selectors)
	orders := []struct {
		name string
		load func(li *LabelIndex)
	}{
		{"items-first", func(li *LabelIndex) { w.loadParents(li); w.loadItems(li); w.loadSels(li) }},
		{"selectors-first", func(li *LabelIndex) { w.loadSels(li); w.loadParents(li); w.loadItems(li) }},
	}
	for _, o := range orders {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			var c counter
			var cpu cpuClock
			n := 0
			cpu.Start()
			for b.Loop() {
				c = counter{}
				o.load(c.index())
				n++
			}
			cpu.Stop()
			cpu.Report(b, n)
			b.ReportMetric(float64(c.starts), "matches")
		})
	}
}

// BenchmarkW1LabelChange flips one endpoint's app label per operation,
// back and forth over 1024 endpoints, on a fully loaded W1 index.
func BenchmarkW1LabelChange(b *testing.B) {
	w := genW1(w1Seed, w1Endpoints, w1Selectors)
	li, c := buildW1(w)
	r := rand.New(rand.NewPCG(2, 2))
	const n = 1024
	type flip struct {
		id, parent string
		labels     [2]map[string]string
	}
	flips := make([]flip, n)
	for i := range flips {
		it := w.items[r.IntN(len(w.items))]
		changed := cloneLabels(it.labels)
		changed["app"] = fmt.Sprintf("app-%d", r.IntN(w1Apps))
		flips[i] = flip{id: it.id, parent: it.parent, labels: [2]map[string]string{changed, it.labels}}
	}
	c.starts, c.stops = 0, 0
	b.ReportAllocs()
	i := 0
	var cpu cpuClock
	cpu.Start()
	for b.Loop() {
		f := &flips[i%n]
		li.UpdateItem(f.id, f.labels[(i/n)%2], f.parent)
		i++
	}
	cpu.Stop()
	cpu.Report(b, i)
	b.ReportMetric(float64(c.starts+c.stops)/float64(i), "transitions/op")
}

// BenchmarkW1ParentUpdate changes one label of one namespace profile per
// operation; each of the namespace's ~100 endpoints is re-indexed and
// re-matched.
func BenchmarkW1ParentUpdate(b *testing.B) {
	w := genW1(w1Seed, w1Endpoints, w1Selectors)
	li, _ := buildW1(w)
	ids := sortedKeys(w.parents)
	var labels [2][]map[string]string
	for v := range labels {
		for _, id := range ids {
			l := cloneLabels(w.parents[id])
			l["pcns.owner"] = fmt.Sprintf("team-%d", v)
			labels[v] = append(labels[v], l)
		}
	}
	b.ReportAllocs()
	i := 0
	var cpu cpuClock
	cpu.Start()
	for b.Loop() {
		n := i % len(ids)
		li.UpdateParent(ids[n], labels[(i/len(ids))%2][n])
		i++
	}
	cpu.Stop()
	cpu.Report(b, i)
}

// BenchmarkW1SelectorAdd adds one new selector per operation to a fully
// loaded W1 index, per shape and mixed. The selectors are removed in
// batches outside the timer.
func BenchmarkW1SelectorAdd(b *testing.B) {
	w := genW1(w1Seed, w1Endpoints, w1Selectors)
	li, c := buildW1(w)
	names := []string{"app", "app-tier", "ns-env", "team-has", "tier-ns", "mixed"}
	for shape, name := range names {
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, uint64(shape)))
			const batch = 512
			pool := make([]genSel, batch)
			for i := range pool {
				sh := shape
				if sh == 5 {
					sh = r.IntN(5)
				}
				pool[i] = parsed(fmt.Sprintf("new-%d", i), w1Selector(r, sh))
			}
			c.starts = 0
			b.ReportAllocs()
			var cpu cpuClock
			b.ResetTimer()
			cpu.Start()
			for i := range b.N {
				s := &pool[i%batch]
				li.UpdateSelector(s.id, s.sel)
				if i%batch == batch-1 || i == b.N-1 {
					cpu.Stop()
					b.StopTimer()
					for j := range pool {
						li.DeleteSelector(pool[j].id)
					}
					b.StartTimer()
					cpu.Start()
				}
			}
			cpu.Report(b, b.N)
			b.ReportMetric(float64(c.starts)/float64(b.N), "matches/op")
		})
	}
}

// BenchmarkEndpointUpdate10kSelectors is Calico's
// BenchmarkWorkloadUpdate10000Sels (felix/labelindex, peer figure A1): 10k
// selectors `alpha == "beta" && has(ipset-N)`, then one endpoint update per
// operation. "create" adds a new endpoint {alpha: beta, ipset-1: true} under
// its own profile, as Calico's does (deleted in batches outside the timer);
// "relabel" moves an existing endpoint between ipset-1 and ipset-2; "w1"
// adds a new W1 endpoint to W1's endpoints with 10k W1 selectors.
func BenchmarkEndpointUpdate10kSelectors(b *testing.B) {
	b.Run("create", func(b *testing.B) {
		li, c := calico10k()
		benchCreate(b, li, c, func(i int) (string, map[string]string, string) {
			return fmt.Sprintf("wep-%d", i), map[string]string{"alpha": "beta", "ipset-1": "true"},
				fmt.Sprintf("namespace-%d", i)
		})
	})
	b.Run("relabel", func(b *testing.B) {
		li, _ := calico10k()
		var labels [2]map[string]string
		for v := range labels {
			labels[v] = map[string]string{"alpha": "beta", fmt.Sprintf("ipset-%d", v+1): "true"}
		}
		const n = 1000
		var ids, parents [n]string
		for i := range n {
			ids[i], parents[i] = fmt.Sprintf("wep-%d", i), fmt.Sprintf("namespace-%d", i)
			li.UpdateItem(ids[i], labels[0], parents[i])
		}
		b.ReportAllocs()
		i := 0
		var cpu cpuClock
		cpu.Start()
		for b.Loop() {
			li.UpdateItem(ids[i%n], labels[(i/n+1)%2], parents[i%n])
			i++
		}
		cpu.Stop()
		cpu.Report(b, i)
	})
	b.Run("w1", func(b *testing.B) {
		w := genW1(w1Seed, w1Endpoints, 5*w1Selectors)
		li, c := buildW1(w)
		extra := genW1(w1Seed+1, 4096, 0).items
		benchCreate(b, li, c, func(i int) (string, map[string]string, string) {
			it := extra[i%len(extra)]
			return "new/" + it.id, it.labels, it.parent
		})
	})
}

// calico10k returns an index holding Calico's 10k benchmark selectors.
func calico10k() (*LabelIndex, *counter) {
	c := &counter{}
	li := c.index()
	for i := range 10_000 {
		li.UpdateSelector(fmt.Sprintf("ipset-%d", i),
			selector.MustParse(fmt.Sprintf(`alpha == "beta" && has(ipset-%d)`, i)))
	}
	return li, c
}

// benchCreate adds one new endpoint per operation, deleting them in batches
// outside the timer so that the index keeps its size.
func benchCreate(b *testing.B, li *LabelIndex, c *counter, gen func(i int) (string, map[string]string, string)) {
	const batch = 4096
	type ep struct {
		id, parent string
		labels     map[string]string
	}
	eps := make([]ep, batch)
	for i := range eps {
		id, labels, parent := gen(i)
		eps[i] = ep{id, parent, labels}
	}
	c.starts = 0
	b.ReportAllocs()
	var cpu cpuClock
	b.ResetTimer()
	cpu.Start()
	for i := range b.N {
		e := &eps[i%batch]
		li.UpdateItem(e.id, e.labels, e.parent)
		if i%batch == batch-1 || i == b.N-1 {
			cpu.Stop()
			b.StopTimer()
			for j := range eps {
				li.DeleteItem(eps[j].id)
			}
			b.StartTimer()
			cpu.Start()
		}
	}
	cpu.Report(b, b.N)
	b.ReportMetric(float64(c.starts)/float64(b.N), "matches/op")
}

// The generator must not drift: benchmarks are compared across runs.
func TestW1GeneratorStable(t *testing.T) {
	a, b := genW1(w1Seed, 50, 20), genW1(w1Seed, 50, 20)
	for i := range a.sels {
		if a.sels[i].text != b.sels[i].text {
			t.Fatalf("selector %d differs between runs", i)
		}
	}
	var shapes []string
	for _, s := range genW1(w1Seed, 0, 5).sels {
		shapes = append(shapes, s.sel.String())
	}
	if got := strings.Join(shapes, "; "); !strings.Contains(got, "app-") {
		t.Fatalf("unexpected W1 selectors: %s", got)
	}
}
