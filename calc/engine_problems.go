package calc

import (
	"fmt"
	"maps"
	"slices"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// problem records (err non-nil) or clears why the object behind key is
// left out, formatted as policy.NewModel formats its problems.
func (e *Engine) problem(key string, obj api.Object, err error) {
	if err != nil && obj != nil {
		err = fmt.Errorf("%s: %w", api.ID(obj), err)
	}
	e.setProblem(key, err)
}

// setProblem records or (nil) clears a problem as given.
func (e *Engine) setProblem(key string, err error) {
	if err == nil {
		delete(e.problems, key)
	} else {
		e.problems[key] = err
	}
}

// Problems lists the objects the model leaves out and why, as
// policy.NewModel reports them for this node (FelixConfigurations of other
// nodes are not read), sorted by message. Objects an engine ignores are
// never problems; the caller logs these and carries on, as Felix does.
func (e *Engine) Problems() []error {
	out := slices.Collect(maps.Values(e.problems))
	out = append(out, e.nodeProblems...)
	for _, rec := range e.policies {
		if rec.p != nil && e.tiers[rec.p.Tier] == nil && rec.p.Unenforceable == "" {
			out = append(out, fmt.Errorf("%s: %w", rec.name, policy.MissingTierError(rec.p.Tier)))
		}
	}
	for _, ep := range e.eps {
		if err := ep.err(); err != nil {
			what := ep.id
			if src := ep.source(); src != nil {
				what = api.ID(src)
			}
			out = append(out, fmt.Errorf("%s: %w", what, err))
		}
	}
	slices.SortFunc(out, func(a, b error) int { return compareStrings(a.Error(), b.Error()) })
	return out
}

// Services returns the NodePort and LoadBalancer services resolved to
// their backends, as policy.NewModel derives them, sorted by namespace and
// name. render does not read them; they are computed on each call, from
// every workload (linear in the cluster).
func (e *Engine) Services() []*policy.Service {
	keys := slices.SortedFunc(maps.Keys(e.services), func(a, b store.Key) int {
		return compareStrings(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	svcs := make([]*corev1.Service, len(keys))
	for i, k := range keys {
		svcs[i] = e.services[k]
	}
	type wl struct {
		id string
		w  *policy.Workload
	}
	var all []wl
	for id, ep := range e.eps {
		d := ep.derived()
		if d == nil || d.Workload == nil {
			continue
		}
		w := d.Workload // unresolved too: the model keeps them, failing closed
		switch {
		case ep.d == nil:
			// A remote pod's workload, made again: resolve it, effective
			// labels included, which a service's selector sees.
			_ = d.Resolve(e.profile, true) // a pod's profiles always resolve
		case !e.isLocal(d):
			// Resolved without its effective labels (setEndpoint).
			c := *w
			c.Labels = policy.EffectiveLabels(ep.own().toMap(), c.Profiles)
			w = &c
		}
		all = append(all, wl{id, w})
	}
	slices.SortFunc(all, func(a, b wl) int {
		if c := compareStrings(a.w.Key(), b.w.Key()); c != 0 {
			return c
		}
		return compareStrings(a.id, b.id)
	})
	wls := make([]*policy.Workload, len(all))
	for i, x := range all {
		wls[i] = x.w
	}
	sliceKeys := slices.SortedFunc(maps.Keys(e.slices), func(a, b store.Key) int {
		return compareStrings(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	eps := make([]*discoveryv1.EndpointSlice, len(sliceKeys))
	for i, k := range sliceKeys {
		eps[i] = e.slices[k]
	}
	return policy.NodePortServices(svcs, eps, wls)
}
