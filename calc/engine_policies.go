package calc

import (
	"reflect"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/selector"
)

// Policies and tiers. A policy is live (in the model) when it compiles and
// its tier exists; live policies' selectors are the selectors of the local
// index, so its matches say which policies apply to which local endpoint.
// A live policy that matches a local endpoint is active: its rules'
// selectors and named ports are registered with the owners index (counted,
// since rules share them), and only active selectors' memberships are
// maintained. Profiles of local endpoints are active likewise.

// polRec is one policy object.
type polRec struct {
	name string         // api.ID of the object, for problems
	p    *policy.Policy // nil when the object does not compile
	live bool           // p's selector is in the local index
	reg  *policy.Policy // the version whose rules are registered (active)
}

// setPolicy compiles a policy object (nil: deleted) and updates its place
// in the local index.
func (e *Engine) setPolicy(id string, obj api.Object) {
	rec := e.policies[id]
	if rec == nil {
		rec = &polRec{}
		e.policies[id] = rec
	}
	var p *policy.Policy
	var err error
	if obj != nil {
		p, err = policy.CompilePolicy(obj) // a policy that does not compile is not in the model
	}
	e.problem(id, obj, err)
	if obj != nil {
		rec.name = api.ID(obj)
	}
	if p != nil && rec.p != nil && reflect.DeepEqual(p, rec.p) {
		return // a change of metadata only
	}
	if rec.p != nil {
		e.linkTier(rec.p.Tier, id, false)
	}
	if p != nil {
		e.linkTier(p.Tier, id, true)
	}
	e.invalidateMatched(id) // endpoints keep old pointers in their tier lists
	rec.p = p
	e.syncLive(id, rec)
	e.invalidateMatched(id)
	e.touched[id] = struct{}{}
}

func (e *Engine) linkTier(tier, id string, on bool) {
	ids := e.tierPols[tier]
	if on {
		if ids == nil {
			ids = map[string]struct{}{}
			e.tierPols[tier] = ids
		}
		ids[id] = struct{}{}
		return
	}
	delete(ids, id)
	if len(ids) == 0 {
		delete(e.tierPols, tier)
	}
}

// invalidateMatched drops the tier lists of the local endpoints policy id
// applies to, which makes the node dirty.
func (e *Engine) invalidateMatched(id string) {
	s := e.local.sels[id]
	if s == nil {
		return
	}
	e.local.eachMember(s, func(it *item) {
		if ep := e.eps[it.id]; ep != nil {
			e.invalidateTiers(ep)
		}
		e.markDirty("policy of a local endpoint")
	})
}

// syncLive puts the policy's selector in the local index when it is live
// and takes it out when it is not.
func (e *Engine) syncLive(id string, rec *polRec) {
	live := rec.p != nil // a policy whose tier is missing is enforced by its stand-in
	switch {
	case live:
		e.local.UpdateSelector(id, rec.p.Selector)
	case rec.live:
		e.local.DeleteSelector(id)
	}
	rec.live = live
	e.touched[id] = struct{}{}
}

// reconcilePolicy registers the rules of the policy's current version when
// it is active, and unregisters them when it is not.
func (e *Engine) reconcilePolicy(id string) {
	rec := e.policies[id]
	if rec == nil {
		return
	}
	var want *policy.Policy
	if s := e.local.sels[id]; rec.live && s != nil && s.count() > 0 {
		want = rec.p
	}
	if want != rec.reg {
		if want != nil {
			e.refRules(want.Ingress, 1)
			e.refRules(want.Egress, 1)
		}
		if rec.reg != nil {
			e.refRules(rec.reg.Ingress, -1)
			e.refRules(rec.reg.Egress, -1)
		}
		rec.reg = want
	}
	if rec.p == nil && rec.reg == nil {
		delete(e.policies, id)
	}
}

func (e *Engine) onTier(name string, obj api.Object) {
	var t *policy.Tier
	switch {
	case obj != nil:
		t = policy.CompileTier(obj.(*api.Tier))
	case name == api.DefaultTierName:
		t = policy.DefaultTier()
	}
	if reflect.DeepEqual(e.tiers[name], t) {
		return
	}
	if t == nil {
		delete(e.tiers, name)
	} else {
		e.tiers[name] = t
	}
	for id := range e.tierPols[name] {
		e.invalidateMatched(id) // the tier's order or default action changed
		e.syncLive(id, e.policies[id])
		e.invalidateMatched(id)
	}
}

// refProfile counts a local endpoint's use of a profile's rules.
func (e *Engine) refProfile(p *policy.Profile, delta int) {
	e.refRules(p.Ingress, delta)
	e.refRules(p.Egress, delta)
}

// refRules counts the selectors and named ports of active rules; the
// owners index holds exactly the selectors with a positive count.
func (e *Engine) refRules(rs []policy.Rule, delta int) {
	for i := range rs {
		for _, s := range []*policy.Side{&rs[i].Src, &rs[i].Dst} {
			e.refSel(s.Selector, delta)
			e.refSel(s.NotSelector, delta)
			for _, n := range s.NamedPorts {
				e.refPort(n, delta)
			}
			for _, n := range s.NotNamedPorts {
				e.refPort(n, delta)
			}
		}
	}
}

func (e *Engine) refSel(sel *selector.Selector, delta int) {
	if sel == nil {
		return
	}
	id := sel.String()
	r := e.selRefs[id]
	if r == nil {
		r = &ruleSel{sel: sel}
		e.selRefs[id] = r
	}
	r.n += delta
	switch {
	case r.n == 0:
		delete(e.selRefs, id)
		e.owners.DeleteSelector(id)
		delete(e.members, id)
		e.markDirty("selector deactivated")
	case r.n == delta && delta > 0:
		e.owners.UpdateSelector(id, sel)
		e.markDirty("selector activated")
	}
}

// refPort counts an active rule's use of a named port. The named-port
// index (portOwn) holds the owners of active names only: a name no local
// rule uses (every pod's "http", say) costs nothing per owner.
func (e *Engine) refPort(name string, delta int) {
	n := e.portRefs[name] + delta
	switch {
	case n == 0:
		delete(e.portRefs, name)
		delete(e.portOwn, name)
	default:
		e.portRefs[name] = n
	}
	if n == delta {
		e.portOwn[name] = e.ownersWithPort(name)
	}
	if n == 0 || n == delta {
		e.markDirty("named port (de)activated")
	}
}

// ownersWithPort returns the owners with a named port called name.
func (e *Engine) ownersWithPort(name string) map[*endpoint]struct{} {
	set := map[*endpoint]struct{}{}
	for _, it := range e.owners.live() {
		for _, np := range it.ep.namedPorts() {
			if np.Name == name {
				set[it.ep] = struct{}{}
				break
			}
		}
	}
	return set
}

// localMatch is the local index's callback: policy pol starts or stops
// applying to local endpoint ep.
func (e *Engine) localMatch(pol, ep string) {
	e.touched[pol] = struct{}{}
	e.markDirty("policy match")
	if x := e.eps[ep]; x != nil {
		e.invalidateTiers(x)
	}
}

// ownerMatch is the owners index's callback: an active selector gains or
// loses an address owner.
func (e *Engine) ownerMatch(sel, owner string) {
	delete(e.members, sel)
	e.markDirty("selector member")
}

// tierList returns the tiers, in order, with the policies (in order) that
// apply to a local endpoint in stage kind k and direction d.
func (e *Engine) tierList(ep *endpoint, k policy.StageKind, d policy.Direction) []policy.TierPolicies {
	if ep.loc == nil {
		ep.loc = &localState{} // not expected: tier lists are for local endpoints
	}
	if ep.loc.tiersOK[k][d] {
		return ep.loc.tiers[k][d]
	}
	var out []policy.TierPolicies
	if it := e.local.items[ep.id]; it != nil {
		byTier := map[string]int{}
		for _, m := range it.matches {
			p := e.policies[e.local.sel(m).id].p
			if !p.AppliesIn(k, d, ep.loc.hep != nil) {
				continue
			}
			p, t := policy.Enforced(p, e.tiers[p.Tier])
			key := t.Name
			if t != e.tiers[t.Name] {
				key = "\x00" + key // a fail-closed tier, apart from any real one
			}
			i, ok := byTier[key]
			if !ok {
				i = len(out)
				byTier[key] = i
				out = append(out, policy.TierPolicies{Tier: t})
			}
			out[i].Policies = append(out[i].Policies, p)
		}
		policy.SortTierPolicies(out)
	}
	ep.loc.tiers[k][d], ep.loc.tiersOK[k][d] = out, true
	return out
}
