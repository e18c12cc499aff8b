package calc

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
)

// The equivalence tests: an Engine fed random event sequences must render
// its node exactly as render renders policy.NewModel of the same objects,
// after every batch, and Changed must be true whenever the text changed.

var (
	equivSeeds = flag.Int("equiv-seeds", 20, "random clusters in TestEngineEquivalence")
	equivSteps = flag.Int("equiv-steps", 300, "events per cluster after populating it")
	equivFirst = flag.Int("equiv-first-seed", 0, "first seed in TestEngineEquivalence")
)

// equivStats counts what the equivalence test checked.
type equivStats struct {
	sequences, events, batches, withProblems int
	checks, changes, falsePositives          int
	replays                                  int
	turns                                    int            // owners selectors turned dense or sparse
	why                                      map[string]int // first reason of each false positive
}

func renderText(src render.Source, node string) string {
	rs, err := render.Node(src, node)
	if err != nil {
		return "error: " + err.Error()
	}
	return rs.Text()
}

// firstDiff shows where two renderings part.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n  context: %s\n  engine: %q\n  model:  %q", i+1,
				strings.Join(w[lo:i], "\n           "), a, b)
		}
	}
	return "no difference"
}

// equivRun drives one engine per node through one random cluster.
type equivRun struct {
	t     *testing.T
	seed  uint64
	c     *cluster
	es    map[string]*Engine
	prev  map[string]string
	st    *equivStats
	step  int
	batch []api.Object // the events since the last check, for messages
}

var debugHook func(r *equivRun, e *Engine)

// deleted stands for a delete event in failure messages.
type deleted struct {
	api.Object
	key store.Key
}

func newEngines() map[string]*Engine {
	es := map[string]*Engine{}
	for i, n := range cgNodes {
		es[n] = NewEngine(n)
		if i%2 == 0 {
			es[n].owners.denseMin = 3 // selectors turn dense at a few matches (dense.go)
		}
	}
	return es
}

func (r *equivRun) feed(ch change) {
	r.c.apply(ch)
	if ch.obj != nil {
		r.batch = append(r.batch, ch.obj)
	} else {
		r.batch = append(r.batch, &deleted{key: ch.key})
	}
	for _, e := range r.es {
		if ch.obj != nil {
			e.OnUpdate(ch.obj)
		} else {
			e.OnDelete(ch.key)
		}
	}
	r.st.events++
	r.step++
}

// check compares every engine with the model of the current objects.
func (r *equivRun) check() {
	defer func() { r.batch = nil }()
	r.st.batches++
	ref, err := policy.NewModel(r.c.objects())
	var be *policy.BuildError
	if errors.As(err, &be) {
		r.st.withProblems++
	}
	for _, n := range cgNodes {
		e := r.es[n]
		if got, want := problemsText(e.Problems()), modelProblems(be, n); got != want {
			r.t.Fatalf("seed %d, event %d, node %s: problems differ\nengine:\n%s\nmodel:\n%s", r.seed, r.step, n, got, want)
		}
		want := renderText(ref, n)
		changed, why := e.Changed(), e.why
		got := renderText(e.Source(), n)
		if got != want {
			r.t.Fatalf("seed %d, event %d, node %s: engine and model differ at %s\nobjects:\n%s", r.seed, r.step, n, firstDiff(got, want), describe(r.c.objects()))
		}
		if e.fallbacks > 0 {
			r.t.Fatalf("seed %d, event %d, node %s: %d queries scanned (a selector or named port not registered)", r.seed, r.step, n, e.fallbacks)
		}
		if got, want := servicesText(e.Services()), servicesText(ref.Services); got != want {
			r.t.Fatalf("seed %d, event %d, node %s: services differ\nengine: %s\nmodel:  %s", r.seed, r.step, n, got, want)
		}
		if err := checkKeys(e, r.c.objects()); err != nil {
			r.t.Fatalf("seed %d, event %d, node %s: %v", r.seed, r.step, n, err)
		}
		if err := checkFacts(e, r.c.objects()); err != nil {
			r.t.Fatalf("seed %d, event %d, node %s: %v", r.seed, r.step, n, err)
		}
		r.st.checks++
		switch {
		case want != r.prev[n] && !changed:
			if debugHook != nil {
				debugHook(r, e)
			}
			r.t.Fatalf("seed %d, event %d, node %s: the rendering changed but Changed() was false: %s\nlast events:\n%s",
				r.seed, r.step, n, firstDiff(want, r.prev[n]), describe(r.batch))
		case want != r.prev[n]:
			r.st.changes++
		case changed:
			r.st.falsePositives++
			r.st.why[why]++
		}
		r.prev[n] = want
	}
}

func TestEngineEquivalence(t *testing.T) {
	st := &equivStats{why: map[string]int{}}
	for seed := range uint64(*equivSeeds) {
		runEquivalence(t, uint64(*equivFirst)+seed, *equivSteps, st)
	}
	t.Logf("%d sequences, %d events, %d batches (%d with problems, objects left out), %d node renderings compared, "+
		"%d changed; Changed() true without a change %d times; %d replays in another order",
		st.sequences, st.events, st.batches, st.withProblems, st.checks, st.changes, st.falsePositives, st.replays)
	t.Logf("first reasons of Changed() without a change: %v", st.why)
	if st.turns == 0 {
		t.Errorf("no owners selector turned dense or sparse: the dense form went untested")
	}
	if st.withProblems*2 > st.batches {
		t.Errorf("most batches have problems (%d of %d)", st.withProblems, st.batches)
	}
}

func runEquivalence(t *testing.T, seed uint64, steps int, st *equivStats) {
	r := &equivRun{t: t, seed: seed, c: newCluster(seed), es: newEngines(), prev: map[string]string{}, st: st}
	st.sequences++
	evs := r.c.populate()
	for len(evs) > 0 {
		n := min(len(evs), 1+r.c.r.IntN(20))
		for _, ev := range evs[:n] {
			r.feed(ev)
		}
		evs = evs[n:]
		r.check()
	}
	for i := 0; i < steps; {
		n := 1 + r.c.r.IntN(6)
		for range n {
			r.feed(r.c.step())
		}
		i += n
		r.check()
	}
	for _, e := range r.es {
		checkInvariants(t, e.local)
		checkInvariants(t, e.owners)
		for _, it := range e.owners.live() {
			if it.ep == nil || it.ep != e.eps[it.id] || !it.ep.owner || it.ep.oi != it {
				t.Fatalf("owners item %s: endpoint %p, the engine's %p", it.id, it.ep, e.eps[it.id])
			}
		}
		checkDependents(t, e)
		st.turns += e.owners.turns
	}
	r.replay()
}

// checkKeys: the engine holds (Has, Keys) exactly the keys of objs that
// take part in policy, each yielded once.
func checkKeys(e *Engine, objs []api.Object) error {
	want := map[store.Key]bool{}
	for _, o := range objs {
		if k := store.KeyOf(o); relevant(k.Kind) {
			want[k] = true
			if !e.Has(k) {
				return fmt.Errorf("Has(%v) false for an object given", k)
			}
		}
	}
	got := map[store.Key]bool{}
	for k := range e.Keys {
		if got[k] {
			return fmt.Errorf("Keys yields %v twice", k)
		}
		got[k] = true
		if !want[k] {
			return fmt.Errorf("Keys yields %v, not an object given", k)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("Keys yields %d keys, %d objects given", len(got), len(want))
	}
	if absent := (store.Key{Kind: store.KindK8sPod, Namespace: "absent", Name: "p"}); e.Has(absent) {
		return fmt.Errorf("Has(%v) true", absent)
	}
	return nil
}

// checkFacts: the engine has the facts of exactly the pods among objs,
// each of the pod's version, and keeps in Engine.podFacts only facts that
// its endpoint does not hold.
func checkFacts(e *Engine, objs []api.Object) error {
	pods := map[string]bool{}
	for _, o := range objs {
		p, ok := o.(*corev1.Pod)
		if !ok {
			continue
		}
		id := endpointID(store.KeyOf(p))
		pods[id] = true
		f := e.facts(id)
		if f == nil {
			return fmt.Errorf("pod %s: no facts", id)
		}
		if !f.ver.equal(stampOf(p.ResourceVersion, string(p.UID))) {
			return fmt.Errorf("pod %s: facts of another version", id)
		}
	}
	held := map[*podKind]int{}
	for id := range pods {
		if k := e.facts(id).kind; k != nil {
			held[k]++
		}
	}
	for key, k := range e.kinds {
		if k.key != key || k.n != held[k] {
			return fmt.Errorf("kind %v: counted %d, held by %d facts", key, k.n, held[k])
		}
	}
	if len(held) != len(e.kinds) {
		return fmt.Errorf("facts hold %d kinds, the engine has %d", len(held), len(e.kinds))
	}
	for id, f := range e.podFacts {
		if !pods[id] {
			return fmt.Errorf("facts of %s, not a pod", id)
		}
		if ep := e.eps[id]; ep != nil && ep.pod == f {
			return fmt.Errorf("pod %s: facts kept twice", id)
		}
	}
	for id, ep := range e.eps {
		if ep.pod != nil && !pods[id] {
			return fmt.Errorf("endpoint %s holds facts of a pod that is gone", id)
		}
		if ep.remotePod() && ep.err() == nil && ep.more != nil {
			return fmt.Errorf("remote pod %s: holds %+v besides its facts", id, *ep.more)
		}
		item := ep.oi != nil && ep.oi.id == id && e.owners.slots[ep.oi.slot] == ep.oi
		if ep.owner != item || ep.owner != (ep.addrs().len() > 0) {
			return fmt.Errorf("endpoint %s: owner %v, in the owners index %v, addresses %v", id, ep.owner, item, ep.addrs().appendTo(nil))
		}
	}
	return nil
}

// checkDependents: the engine counts, for each profile, the endpoints that
// name it, and finds exactly them as its dependents.
func checkDependents(t *testing.T, e *Engine) {
	t.Helper()
	want := map[string][]string{}
	for id, ep := range e.eps {
		for i, p := range ep.parents() {
			if !slices.Contains(ep.parents()[:i], p) {
				want[p] = append(want[p], id)
			}
		}
	}
	if len(want) != len(e.profRefs) {
		t.Fatalf("%d profiles counted, %d named", len(e.profRefs), len(want))
	}
	for name, ids := range want {
		slices.Sort(ids)
		var got []string
		for _, ep := range e.dependents(name) {
			got = append(got, ep.id)
		}
		if e.profRefs[name] != len(ids) || !slices.Equal(got, ids) {
			t.Fatalf("profile %s: counted %d, dependents %v; named by %v", name, e.profRefs[name], got, ids)
		}
	}
}

// replay feeds the final objects to fresh engines in other orders, after
// stale versions of some of them, and expects the same renderings
// (style.md item 10: replay incremental updates in several orders).
func (r *equivRun) replay() {
	final := r.c.objects()
	want := map[string]string{}
	for n, e := range r.es {
		want[n] = renderText(e.Source(), n)
	}
	rng := rand.New(rand.NewPCG(r.seed, 7))
	orders := map[string][]api.Object{"reversed": reversed(final), "shuffled": shuffled(rng, final)}
	var stale []api.Object
	for _, o := range shuffled(rng, final) {
		if rng.IntN(3) == 0 {
			stale = append(stale, flipLabel(rng, o))
		}
	}
	orders["stale first"] = append(stale, shuffled(rng, final)...)
	for name, objs := range orders {
		es := newEngines()
		for _, o := range objs {
			for _, e := range es {
				e.OnUpdate(o)
			}
		}
		for n, e := range es {
			if got := renderText(e.Source(), n); got != want[n] {
				r.t.Fatalf("seed %d, replay %s, node %s: %s", r.seed, name, n, firstDiff(got, want[n]))
			}
		}
		r.st.replays++
	}
}

// problemsText prints problems one a line, sorted.
func problemsText(errs []error) string {
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = err.Error()
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// modelProblems are the model's problems that concern node: all but the
// FelixConfigurations of other nodes.
func modelProblems(be *policy.BuildError, node string) string {
	if be == nil {
		return ""
	}
	var out []error
	for _, p := range be.Problems {
		if msg := p.Error(); !strings.HasPrefix(msg, "FelixConfiguration(node.") || strings.HasPrefix(msg, "FelixConfiguration(node."+node+")") {
			out = append(out, p)
		}
	}
	return problemsText(out)
}

// servicesText prints services sorted by namespace and name.
func servicesText(svcs []*policy.Service) string {
	var lines []string
	for _, s := range svcs {
		line := fmt.Sprintf("%s/%s local=%v", s.Namespace, s.Name, s.Local)
		for _, p := range s.Ports {
			line += fmt.Sprintf(" [%d/%d", p.Proto, p.NodePort)
			for _, b := range p.Backends {
				line += fmt.Sprintf(" %s:%d", b.Workload.Key(), b.Port)
			}
			line += "]"
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// describe lists objects for failure messages.
func describe(objs []api.Object) string {
	var b strings.Builder
	for _, o := range objs {
		if d, ok := o.(*deleted); ok {
			fmt.Fprintf(&b, "  deleted %s\n", d.key)
			continue
		}
		fmt.Fprintf(&b, "  %s %+v\n", store.KeyOf(o), o)
	}
	return b.String()
}

func reversed(objs []api.Object) []api.Object {
	out := make([]api.Object, len(objs))
	for i, o := range objs {
		out[len(objs)-1-i] = o
	}
	return out
}

func shuffled(r *rand.Rand, objs []api.Object) []api.Object {
	out := append([]api.Object(nil), objs...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
