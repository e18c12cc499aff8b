package calc

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
)

// Profiles. Endpoints inherit labels from profiles and run their rules
// after the tiers. Both label indexes know each profile an endpoint names
// as a parent, defined while the profile resolves, so a profile's label
// change reaches its endpoints' matches through the index. A profile is
// resolved as NewModel's builder resolves names: the kns.<ns> profile of a
// namespace that exists or has pods, else a Profile object, else
// projectcalico-default-allow, else the ksa.<ns>.<sa> profile of a service
// account that a pod runs as.

func (e *Engine) onProfile(name string, obj api.Object) {
	if obj == nil {
		delete(e.userProf, name)
		e.problem("profile/"+name, nil, nil)
	} else {
		p, err := policy.CompileProfile(obj.(*api.Profile))
		e.problem("profile/"+name, obj, err) // an invalid Profile is not in the model
		e.userProf[name] = p
	}
	e.refreshProfile(name)
}

// resolve returns the profile a name refers to now, nil if none.
func (e *Engine) resolve(name string) *policy.Profile {
	if ns, ok := strings.CutPrefix(name, "kns."); ok {
		if labels, ok := e.namespaces[ns]; ok || e.nsPods[ns] > 0 {
			return policy.NamespaceProfile(ns, labels)
		}
	}
	if p, ok := e.userProf[name]; ok && p != nil {
		return p
	}
	if name == api.DefaultAllowProfile {
		return policy.DefaultAllowProfile()
	}
	if u := e.saPods[name]; u != nil {
		return policy.ServiceAccountProfile(u.ns, u.sa, e.sas[u.ns+"/"+u.sa])
	}
	return nil
}

// profile returns the current resolution of a name that endpoints depend
// on (Derived.Resolve's lookup).
func (e *Engine) profile(name string) *policy.Profile { return e.profiles[name] }

// A profile's dependents are the endpoints that name it. Those that are
// owners (valid, with addresses: nearly every pod) are the children of its
// parent in the owners index, which keeps them anyway; the engine counts
// the dependents and keeps a set only of the others (profLone). W2's 250,000
// pods named 2,600 profiles: a set of each profile's dependents cost 18 MB
// and half a million map insertions.

// addDep records one more endpoint naming profile name, resolving the
// profile and defining it as a parent when it is the first.
func (e *Engine) addDep(name string) {
	if e.profRefs[name]++; e.profRefs[name] == 1 {
		p := e.resolve(name)
		e.profiles[name] = p
		e.setParent(name, nil, p)
	}
}

// removeDep records that one endpoint no longer names profile name, and
// forgets the profile with its last dependent.
func (e *Engine) removeDep(name string) {
	if e.profRefs[name]--; e.profRefs[name] <= 0 {
		delete(e.profRefs, name)
		e.setParent(name, e.profiles[name], nil)
		delete(e.profiles, name)
	}
}

// setLone adds ep to (in) or removes it from the sets of dependents that
// are not owners, of each of names.
func (e *Engine) setLone(ep *endpoint, names []string, in bool) {
	for _, name := range names {
		lone := e.profLone[name]
		switch {
		case in && lone == nil:
			lone = &smallSet[*endpoint]{}
			e.profLone[name] = lone
			fallthrough
		case in:
			lone.add(ep)
		case lone != nil:
			lone.remove(ep)
			if lone.len() == 0 {
				delete(e.profLone, name)
			}
		}
	}
}

// dependents returns the endpoints that name profile name, by id.
func (e *Engine) dependents(name string) []*endpoint {
	var out []*endpoint
	e.owners.eachChild(name, func(it *item) { out = append(out, it.ep) })
	if lone := e.profLone[name]; lone != nil {
		out = slices.AppendSeq(out, lone.all)
	}
	slices.SortFunc(out, func(a, b *endpoint) int { return strings.Compare(a.id, b.id) })
	return out
}

// setParent brings both indexes' parent name from profile old to new.
func (e *Engine) setParent(name string, old, new *policy.Profile) {
	switch {
	case new == nil && old != nil:
		e.local.DeleteParent(name)
		e.owners.DeleteParent(name)
	case new != nil && (old == nil || !maps.Equal(old.Labels, new.Labels)):
		// A resolved profile's labels are never changed (a change makes a
		// new profile): the indexes share them. The local index learns a
		// profile only once a local endpoint names it (updateLocal).
		if e.local.hasParent(name) {
			e.local.UpdateParentShared(name, new.Labels)
		}
		e.owners.UpdateParentShared(name, new.Labels)
	}
}

// refreshProfile resolves a name again; if endpoints depend on it and the
// resolution changed, it updates the parent and re-resolves each
// dependent (which may make a workload or host endpoint valid or invalid,
// and changes the profile rules of local endpoints).
func (e *Engine) refreshProfile(name string) {
	if e.profRefs[name] == 0 {
		return
	}
	old, p := e.profiles[name], e.resolve(name)
	if reflect.DeepEqual(old, p) {
		return
	}
	e.profiles[name] = p
	e.setParent(name, old, p)
	for _, ep := range e.dependents(name) {
		if e.eps[ep.id] == ep {
			e.reresolve(ep)
		}
	}
}
