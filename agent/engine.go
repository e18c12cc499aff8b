package agent

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/calc"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

// engine is the computation between the datastore and the ruleset: events
// in, in order, from one goroutine; the node's ruleset out. It does no I/O.
type engine interface {
	// Apply takes one event (Added, Modified, Deleted or Synced).
	Apply(ev store.Event)
	// Changed reports whether the ruleset may have changed since the last
	// Render (never false when it did).
	Changed() bool
	// Render returns the node's ruleset for the state so far.
	Render() (Result, error)
	// Has reports whether the engine's model holds the object at a key.
	Has(k store.Key) bool
	// Keys yields every key the engine holds, its model's and the staged
	// view's, in no order: a new full list that does not send one again
	// ends with its deletion (the loop).
	Keys(yield func(store.Key) bool)
}

// lister is an engine that needs to hear when a new full list of the
// datastore begins, and may ask for one (sourceEngine: the staged view).
type lister interface {
	Listing()
	WantList() bool
}

// Result is one computed state of the node.
type Result struct {
	Ruleset *render.Ruleset
	// Endpoints are the local workload and host endpoints.
	Endpoints int
	// Policies are the distinct policies that apply to a local endpoint in
	// any stage and direction.
	Policies int
	// Problems are objects the model could not use; they are left out
	// (as Felix skips what it cannot parse), and logged.
	Problems []error
}

// sourcer is a model kept up to date from events that serves render's
// Source: calc.Engine (incremental), or modelCache (a full rebuild).
type sourcer interface {
	Apply(ev store.Event)
	Changed() bool
	Source() render.Source
	Has(k store.Key) bool            // the model holds the object at k
	Keys(yield func(store.Key) bool) // every key the model holds, once each
}

// Engines Config.Engine selects.
const (
	// EngineIncremental is calc.Engine: work per event in proportion to
	// what the event touches (the default).
	EngineIncremental = "incremental"
	// EngineRebuild keeps every object and rebuilds policy.NewModel per
	// batch: the reference, and a fallback.
	EngineRebuild = "rebuild"
)

// Rule forms Config.Rules selects.
const (
	// RulesCompiled compiles each endpoint chain's policy section into
	// identity and verdict map lookups (render.Compile): the per-packet
	// cost does not grow with the number of policies (the default).
	RulesCompiled = "compiled"
	// RulesLinear keeps one nft rule per policy rule, walked in order.
	RulesLinear = "linear"
)

// ValidRules reports whether r is a rule form (RulesCompiled or
// RulesLinear).
func ValidRules(r string) error {
	if r != RulesCompiled && r != RulesLinear {
		return fmt.Errorf("%q is not %s or %s", r, RulesCompiled, RulesLinear)
	}
	return nil
}

// newEngine returns the engine the configuration selects: kind is
// Config.Engine, rules Config.Rules.
func newEngine(kind, rules, node string) engine {
	e := &sourceEngine{src: calc.NewEngine(node), node: node, staged: newStagedCache()}
	if kind == EngineRebuild {
		e.src = newModelCache()
	}
	if rules != RulesLinear {
		e.compiler = render.NewCompiler()
		e.linearFirst = linearFirstRules
	}
	return e
}

// linearFirstRules: a compiled agent whose first ruleset has at least
// this many rules writes it linear first and the compiled form right
// after. The first compile walks every chain (3.3 s at W1, 10,000
// endpoints and 2,000 policies, where the linear table is in force 2.2 s
// after start): policy is enforced as soon as the linear form can be, and
// the compiled form follows. An agent that took over its table compiles
// at once (its table is already compiled).
var linearFirstRules = 5000

// sourceEngine renders a sourcer's model for one node, with the shadow
// evaluation of staged policies when there are any.
type sourceEngine struct {
	src    sourcer
	node   string
	staged *stagedCache
	// compiler, when set, compiles each rendered ruleset (RulesCompiled),
	// walking again only the sections that changed since the last.
	compiler *render.Compiler
	// linearFirst is linearFirstRules until the first render (0: no);
	// pending is set when that render was left linear.
	linearFirst int
	pending     bool
}

func (e *sourceEngine) Apply(ev store.Event) {
	e.src.Apply(ev)
	e.staged.Apply(ev)
}

func (e *sourceEngine) Has(k store.Key) bool { return e.src.Has(k) }

// Keys yields the model's keys, then the staged view's that the model
// lacks (staged policies, and while it holds objects, those of kinds the
// model ignores).
func (e *sourceEngine) Keys(yield func(store.Key) bool) {
	for k := range e.src.Keys {
		if !yield(k) {
			return
		}
	}
	for k := range e.staged.keys {
		if !e.src.Has(k) && !yield(k) {
			return
		}
	}
}

// Listing tells the engine that a new full list of the datastore begins.
func (e *sourceEngine) Listing() { e.staged.listing() }

// WantList reports, once, that the engine needs a new full list (the
// staged view's objects, see stagedCache).
func (e *sourceEngine) WantList() bool { return e.staged.wantList() }

func (e *sourceEngine) Changed() bool { return e.pending || e.src.Changed() || e.staged.Changed() }

// Pending reports that the last ruleset was left linear and the compiled
// form is still to come (the loop renders again at once).
func (e *sourceEngine) Pending() bool { return e.pending }

// compileAtOnce drops the linear first render (the agent took over a
// table).
func (e *sourceEngine) compileAtOnce() { e.linearFirst = 0 }

func (e *sourceEngine) Render() (Result, error) {
	src := e.src.Source()
	var res Result
	if p, ok := e.src.(interface{ Problems() []error }); ok {
		res.Problems = p.Problems()
	}
	var rs *render.Ruleset
	var err error
	if stg := e.staged.Source(); stg != nil {
		rs, err = render.NodeStaged(src, stg, e.node)
	} else {
		rs, err = render.Node(src, e.node)
	}
	if err != nil {
		return res, err
	}
	first := e.linearFirst
	e.linearFirst, e.pending = 0, false
	switch {
	case e.compiler == nil:
	case first > 0 && rs.Stats().Rules >= first:
		e.pending = true
	default:
		rs = e.compiler.Compile(rs)
	}
	res.Ruleset = rs
	res.Endpoints, res.Policies = countLocal(src, e.node)
	return res, nil
}

// countLocal counts the node's endpoints and the distinct policies that
// apply to them (felix_active_local_endpoints and _policies).
func countLocal(src render.Source, node string) (endpoints, policies int) {
	seen := map[*policy.Policy]bool{}
	add := func(tps []policy.TierPolicies) {
		for _, tp := range tps {
			for _, p := range tp.Policies {
				seen[p] = true
			}
		}
	}
	dirs := []policy.Direction{policy.Ingress, policy.Egress}
	for _, w := range src.WorkloadsOn(node) {
		endpoints++
		for _, d := range dirs {
			add(src.WorkloadPolicies(w, d))
		}
	}
	kinds := []policy.StageKind{policy.StageNormal, policy.StageForward, policy.StagePreDNAT, policy.StageUntracked}
	for _, h := range src.HostEndpointsOn(node) {
		endpoints++
		for _, k := range kinds {
			for _, d := range dirs {
				add(src.HostEndpointPolicies(h, k, d))
			}
		}
	}
	return endpoints, len(seen)
}

// modelCache keeps every object and rebuilds the whole policy.Model when
// asked for a Source after a change: correct and simple, linear in the
// size of the cluster per batch (the loop batches bursts, so per batch,
// not per event).
type modelCache struct {
	objs    map[store.Key]api.Object
	changed bool
	model   *policy.Model
	errs    []error
}

func newModelCache() *modelCache {
	return &modelCache{objs: map[store.Key]api.Object{}, changed: true}
}

func (c *modelCache) Apply(ev store.Event) {
	switch ev.Type {
	case store.Added, store.Modified:
		if ev.Object == nil {
			return
		}
		c.objs[ev.Key] = ev.Object
	case store.Deleted:
		if _, ok := c.objs[ev.Key]; !ok {
			return
		}
		delete(c.objs, ev.Key)
	default:
		return
	}
	c.changed = true
}

func (c *modelCache) Changed() bool { return c.changed }

func (c *modelCache) Has(k store.Key) bool {
	_, ok := c.objs[k]
	return ok
}

func (c *modelCache) Keys(yield func(store.Key) bool) {
	for k := range c.objs {
		if !yield(k) {
			return
		}
	}
}

// Source rebuilds the model if anything changed; objects the model cannot
// use are left out and reported by Problems.
func (c *modelCache) Source() render.Source {
	if c.model != nil && !c.changed {
		return c.model
	}
	keys := make([]store.Key, 0, len(c.objs))
	for k := range c.objs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.Key) int { return strings.Compare(a.Path(), b.Path()) })
	objs := make([]api.Object, len(keys))
	for i, k := range keys {
		objs[i] = c.objs[k]
	}
	m, err := policy.NewModel(objs)
	c.errs = nil
	var be *policy.BuildError
	if errors.As(err, &be) {
		c.errs = be.Problems
	}
	c.model, c.changed = m, false
	return m
}

// Problems lists the objects the last rebuild left out, and why.
func (c *modelCache) Problems() []error { return c.errs }

// stagedCache keeps the view of the cluster with staged policies enforced
// (policy.StagedView) for the shadow evaluation. While the datastore holds
// any staged policy it keeps every object and rebuilds that model per
// batch (linear in the cluster, like the rebuild engine). With none it
// keeps no object: an agent at 250k pods would otherwise hold every pod
// object (kilobytes each) beside the incremental engine's compact records.
// When a staged policy appears with the objects not held, it asks for a
// new list of the datastore (wantList; the agent's watch starts again) and
// holds what that list sends; the shadow evaluation starts once that list
// is complete (its Synced).
type stagedCache struct {
	objs    *modelCache
	staged  map[store.Key]bool
	changed bool

	holding  bool // objs holds every object sent since the current list began
	complete bool // holding, and that list has ended (Synced)
	want     bool // a staged policy exists and objs is not holding: a new list is needed
	asked    bool // wantList said so since the last list began
}

func newStagedCache() *stagedCache {
	return &stagedCache{objs: newModelCache(), staged: map[store.Key]bool{}}
}

func isStaged(o api.Object) bool {
	switch o.(type) {
	case *api.StagedGlobalNetworkPolicy, *api.StagedNetworkPolicy, *api.StagedKubernetesNetworkPolicy:
		return true
	}
	return false
}

// listing tells the cache that a new full list of the datastore begins:
// when a staged policy exists (or one was asked for) and the cache holds
// nothing, it holds what the list sends. A cache already holding keeps
// its objects and serves its view on: the list sends every object again,
// and what it no longer has arrives as Deleted at its end (the loop), as
// for the engine, so the staged counters do not go away meanwhile.
func (c *stagedCache) listing() {
	if !c.holding && (len(c.staged) > 0 || c.want) {
		c.objs, c.holding, c.complete = newModelCache(), true, false
		c.changed = true
	}
	c.want, c.asked = false, false
}

func (c *stagedCache) Apply(ev store.Event) {
	if ev.Type == store.Synced {
		c.complete = c.holding
		c.changed = true
		return
	}
	if c.holding {
		c.objs.Apply(ev)
	}
	was := c.staged[ev.Key]
	if ev.Type == store.Deleted || ev.Object == nil || !isStaged(ev.Object) {
		delete(c.staged, ev.Key)
	} else {
		c.staged[ev.Key] = true
	}
	switch {
	case len(c.staged) > 0 && !c.holding:
		c.want = true
	case len(c.staged) == 0 && c.holding:
		c.holding, c.complete, c.objs = false, false, newModelCache() // the last staged policy went
	}
	// The shadow changes with any object while staged policies exist, and
	// when the last one goes.
	c.changed = c.changed || len(c.staged) > 0 || was
}

// wantList reports whether the cache needs a new full list to hold every
// object (a staged policy appeared while it held none), once per list.
func (c *stagedCache) wantList() bool {
	if !c.want || c.asked {
		return false
	}
	c.asked = true
	return true
}

func (c *stagedCache) Changed() bool { return c.changed }

// keys yields the staged policies' keys and the objects held, once each.
func (c *stagedCache) keys(yield func(store.Key) bool) {
	for k := range c.staged {
		if !yield(k) {
			return
		}
	}
	if !c.holding {
		return
	}
	for k := range c.objs.Keys {
		if !c.staged[k] && !yield(k) {
			return
		}
	}
}

// Source is the staged view's model, or nil when no staged policy exists.
func (c *stagedCache) Source() render.Source {
	c.changed = false
	if len(c.staged) == 0 || !c.complete {
		return nil // no staged policy, or the objects are still being listed
	}
	if !c.objs.changed && c.objs.model != nil {
		return c.objs.model
	}
	keys := make([]store.Key, 0, len(c.objs.objs))
	for k := range c.objs.objs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.Key) int { return strings.Compare(a.Path(), b.Path()) })
	objs := make([]api.Object, len(keys))
	for i, k := range keys {
		objs[i] = c.objs.objs[k]
	}
	m, _ := policy.NewModel(policy.StagedView(objs)) // problems are the enforced model's to report
	if m == nil {
		return nil
	}
	c.objs.model, c.objs.changed = m, false
	return m
}
