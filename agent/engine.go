package agent

import (
	"errors"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

// engine is the computation between the datastore and the ruleset: events
// in, in order, from one goroutine; the node's ruleset out. It does no I/O.
type engine interface {
	// Apply takes one Added, Modified or Deleted event (Synced is the
	// loop's business and never reaches the engine).
	Apply(ev store.Event)
	// Render returns the node's ruleset for the state so far.
	Render() (Result, error)
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

// newEngine is the engine the agent runs. The incremental calc.Engine
// replaces the model rebuild here, in this one line, once it lands.
var newEngine = func(node string) engine { return newModelEngine(node) }

// modelEngine keeps every object in a cache and rebuilds the whole
// policy.Model on each Render: correct and simple, linear in the size of
// the cluster per batch (the agent batches bursts, so per batch, not per
// event).
type modelEngine struct {
	node string
	objs map[store.Key]api.Object
}

func newModelEngine(node string) *modelEngine {
	return &modelEngine{node: node, objs: map[store.Key]api.Object{}}
}

func (e *modelEngine) Apply(ev store.Event) {
	switch ev.Type {
	case store.Added, store.Modified:
		if ev.Object != nil {
			e.objs[ev.Key] = ev.Object
		}
	case store.Deleted:
		delete(e.objs, ev.Key)
	}
}

func (e *modelEngine) Render() (Result, error) {
	keys := make([]store.Key, 0, len(e.objs))
	for k := range e.objs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.Key) int { return strings.Compare(a.Path(), b.Path()) })
	objs := make([]api.Object, len(keys))
	for i, k := range keys {
		objs[i] = e.objs[k]
	}
	var res Result
	m, err := policy.NewModel(objs)
	var be *policy.BuildError
	if errors.As(err, &be) {
		res.Problems = be.Problems
	} else if err != nil {
		return res, err
	}
	rs, err := render.Node(m, e.node)
	if err != nil {
		return res, err
	}
	res.Ruleset = rs
	res.Endpoints, res.Policies = countLocal(m, e.node)
	return res, nil
}

// countLocal counts the node's endpoints and the distinct policies that
// apply to them (felix_active_local_endpoints and _policies).
func countLocal(m *policy.Model, node string) (endpoints, policies int) {
	seen := map[*policy.Policy]bool{}
	add := func(tps []policy.TierPolicies) {
		for _, tp := range tps {
			for _, p := range tp.Policies {
				seen[p] = true
			}
		}
	}
	dirs := []policy.Direction{policy.Ingress, policy.Egress}
	for _, w := range m.WorkloadsOn(node) {
		endpoints++
		for _, d := range dirs {
			add(m.WorkloadPolicies(w, d))
		}
	}
	kinds := []policy.StageKind{policy.StageNormal, policy.StageForward, policy.StagePreDNAT, policy.StageUntracked}
	for _, h := range m.HostEndpoints {
		if h.Node != node {
			continue
		}
		endpoints++
		for _, k := range kinds {
			for _, d := range dirs {
				add(m.HostEndpointPolicies(h, k, d))
			}
		}
	}
	return endpoints, len(seen)
}
