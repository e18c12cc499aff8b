package calc

import (
	"github.com/palisade-net/palisade/api"
	"net/netip"
	"reflect"
	"slices"

	"github.com/palisade-net/palisade/policy"
)

// endpoint is a workload, host endpoint or network set as the engine
// tracks it. An address owner (valid, with addresses) is an item of the
// owners index; a valid workload or host endpoint on this node is also an
// item of the local index.
type endpoint struct {
	id       string
	src      api.Object      // the object derived (an automatic host endpoint's own)
	d        *policy.Derived // nil for a remote pod: pod.derive makes it
	pod      *podFacts       // a pod's facts
	own      labelSet        // the derivation's own labels, packed
	err      error           // why a derived workload or host endpoint is invalid
	prefixes []netip.Prefix
	ports    []policy.NamedPort
	loc      *localState // set while local: what only this node's endpoints need
	owner    bool        // in the owners index
	local    bool        // in the local index, and loc.wl or loc.hep set
}

// localState is what the engine keeps for a local endpoint only (most
// endpoints are remote: they carry none of it).
type localState struct {
	wl     *policy.Workload // the endpoint's key in Engine.localWL or localHEP
	hep    *policy.HostEndpoint
	active []*policy.Profile // profiles whose rules this local endpoint keeps active
	face   face

	tiers   [4][2][]policy.TierPolicies // by stage kind and direction
	tiersOK [4][2]bool
}

// setEndpoint installs d, derived from src, as endpoint id (nil removes
// it), resolving its profiles and updating both indexes. Calling it again
// with the same d re-resolves the profiles.
func (e *Engine) setEndpoint(id string, src api.Object, d *policy.Derived) {
	var own labelSet
	switch ep := e.eps[id]; {
	case d == nil:
	case ep != nil && ep.d == d:
		own = ep.own
	default:
		own = e.packer.pack(d.Own)
	}
	e.setEndpointOwn(id, src, d, own, nil)
}

// setPodEndpoint installs a pod's workload d (derived from its facts f) as
// endpoint id. A remote pod's endpoint keeps f, not d.
func (e *Engine) setPodEndpoint(id string, d *policy.Derived, f *podFacts) {
	e.setEndpointOwn(id, nil, d, f.own, f)
}

// reresolve resolves ep's profiles again.
func (e *Engine) reresolve(ep *endpoint) {
	if ep.pod != nil {
		e.setPodEndpoint(ep.id, ep.derived(), ep.pod)
	} else {
		e.setEndpoint(ep.id, ep.src, ep.d)
	}
}

// derived is ep's workload, host endpoint or network set (a new one, its
// profiles unresolved, for a remote pod).
func (ep *endpoint) derived() *policy.Derived {
	if ep.d == nil && ep.pod != nil {
		return ep.pod.derive(ep.id)
	}
	return ep.d
}

// parents are the profiles ep's derivation inherits from.
func (ep *endpoint) parents() []string {
	switch {
	case ep.d != nil:
		return ep.d.Parents
	case ep.pod != nil:
		return ep.pod.parentsOf()
	}
	return nil
}

// setEndpointOwn is setEndpoint with d's own labels packed, and for a pod
// its facts f.
func (e *Engine) setEndpointOwn(id string, src api.Object, d *policy.Derived, own labelSet, f *podFacts) {
	ep := e.eps[id]
	if ep == nil {
		if d == nil {
			return
		}
		ep = &endpoint{id: id}
		e.eps[id] = ep
	}
	// The profiles registered as dependencies are the derivation's parents
	// (an installed derivation's Parents never change: Resolve leaves them,
	// and countPod shares a pod's before it is installed).
	oldParents := ep.parents()
	if !ep.owner {
		e.setLone(ep, oldParents, false)
	}
	var parents []string
	if d != nil {
		parents = d.Parents
		if f != nil {
			parents = f.parentsOf() // shared by the pods of one service account
		}
		for i, p := range parents {
			if !slices.Contains(oldParents, p) && !slices.Contains(parents[:i], p) {
				e.addDep(p)
			}
		}
	}
	if ep.pod != nil && ep.pod != f {
		// The facts the endpoint held stay the pod's until newer ones
		// are installed or the pod goes (see facts).
		if _, pending := e.podFacts[id]; !pending {
			e.podFacts[id] = ep.pod
		}
	}
	if f != nil && e.podFacts[id] == f {
		delete(e.podFacts, id)
	}
	ep.src, ep.d, ep.pod, ep.own, ep.err = src, d, f, own, nil
	if f != nil && f.d == nil {
		ep.d = nil // a remote pod: d is made again when needed (derived)
	}
	if d != nil {
		// Only this node's endpoints need their effective labels (render
		// and explain read them); remote ones are matched in the owners
		// index through their own labels and parents.
		ep.err = d.Resolve(e.profile, e.isLocal(d))
	}
	valid := d != nil && ep.err == nil
	e.updateOwner(ep, d, valid)
	e.updateLocal(ep, d, d != nil) // an unresolved endpoint is local too: it fails closed
	var q []netip.Prefix
	if d != nil && ep.err != nil {
		q = d.Prefixes()
	}
	e.setQuarantine(id, q)
	if d != nil && !ep.owner {
		e.setLone(ep, parents, true)
	}
	for i, p := range oldParents {
		if !slices.Contains(parents, p) && !slices.Contains(oldParents[:i], p) {
			e.removeDep(p)
		}
	}
	if d == nil {
		delete(e.eps, id)
	}
}

// isLocal reports whether d is a workload or host endpoint of this node.
func (e *Engine) isLocal(d *policy.Derived) bool {
	return (d.Workload != nil && d.Workload.Node == e.node) || (d.HostEndpoint != nil && d.HostEndpoint.Node == e.node)
}

// updateOwner keeps ep's place in the owners index and the named-port
// index, and invalidates the memberships its address changes touch.
func (e *Engine) updateOwner(ep *endpoint, d *policy.Derived, valid bool) {
	var prefixes []netip.Prefix
	var ports []policy.NamedPort
	switch {
	case valid && ep.pod != nil && ep.pod.d == nil:
		prefixes, ports = ep.pod.prefixes, ep.pod.ports // shared with the facts
	case valid:
		prefixes, ports = d.Prefixes(), d.Ports()
	}
	owner := len(prefixes) > 0
	if !owner {
		ports = nil
	}
	if (e.activePorts(ep.ports) || e.activePorts(ports)) &&
		(!slices.Equal(ports, ep.ports) || !slices.Equal(prefixes, ep.prefixes)) {
		// Named port members are the addresses and ports of the owners
		// that a rule side's selector (registered, so its matches report
		// label changes) matches.
		e.markDirty("owner with an active named port")
	}
	for _, np := range ep.ports {
		if set := e.portOwn[np.Name]; set != nil {
			delete(set, ep)
			if len(set) == 0 {
				delete(e.portOwn, np.Name)
			}
		}
	}
	for _, np := range ports {
		if e.portOwn[np.Name] == nil {
			e.portOwn[np.Name] = map[*endpoint]struct{}{}
		}
		e.portOwn[np.Name][ep] = struct{}{}
	}
	switch {
	case owner:
		e.owners.updateItem(ep.id, ep.own, ep.parents())
		e.owners.items[ep.id].ep = ep
		if ep.owner && !slices.Equal(prefixes, ep.prefixes) {
			e.owners.eachSelectorOf(e.owners.items[ep.id], func(s *selRec) {
				delete(e.members, s.id)
				e.markDirty("member address")
			})
		}
	case ep.owner:
		e.owners.DeleteItem(ep.id)
	}
	ep.owner, ep.prefixes, ep.ports = owner, prefixes, ports
}

func (e *Engine) activePorts(ports []policy.NamedPort) bool {
	for _, np := range ports {
		if e.portRefs[np.Name] > 0 {
			return true
		}
	}
	return false
}

// updateLocal keeps ep's place among this node's endpoints: the local
// index, the lists render reads, and the profiles whose rules it keeps
// active.
func (e *Engine) updateLocal(ep *endpoint, d *policy.Derived, valid bool) {
	var wl *policy.Workload
	var hep *policy.HostEndpoint
	var profiles []*policy.Profile
	if valid {
		switch {
		case d.Workload != nil && d.Workload.Node == e.node:
			wl, profiles = d.Workload, d.Workload.Profiles
		case d.HostEndpoint != nil && d.HostEndpoint.Node == e.node:
			hep, profiles = d.HostEndpoint, d.HostEndpoint.Profiles
		}
	}
	local := wl != nil || hep != nil
	if !local && !ep.local {
		return
	}
	e.listsOK, e.dispatch = false, nil
	var f face
	if local {
		f = faceOf(wl, hep)
	}
	var was localState
	if ep.loc != nil {
		was = *ep.loc
	}
	if !local || !ep.local || (wl != nil) != (was.wl != nil) || !f.equal(was.face) {
		e.markDirty("local endpoint")
		ep.invalidate()
	}
	if local && ep.loc == nil {
		ep.loc = &localState{}
	}
	if local {
		ep.loc.face = f
	}
	delete(e.localWL, was.wl)
	delete(e.localHEP, was.hep)
	if local {
		ep.loc.wl, ep.loc.hep = wl, hep
		if wl != nil {
			e.localWL[wl] = ep
		} else {
			e.localHEP[hep] = ep
		}
		for _, name := range d.Parents {
			if p := e.profiles[name]; p != nil && !e.local.parentDefined(name) {
				e.local.UpdateParentShared(name, p.Labels)
			}
		}
		e.local.updateItem(ep.id, ep.own, d.Parents)
	} else {
		e.local.DeleteItem(ep.id)
	}
	var active []*policy.Profile
	for _, p := range profiles {
		if p != nil {
			active = append(active, p)
			e.refProfile(p, 1)
		}
	}
	for _, p := range was.active {
		e.refProfile(p, -1)
	}
	if local {
		ep.loc.active = active
	} else {
		ep.loc = nil
	}
	ep.local = local
	e.updateExists()
}

// face is what render reads of a local endpoint apart from the policies
// that apply (the local index reports those): a workload's key, interface
// and profiles; a host endpoint's name, node, interface, expected
// addresses and profiles. Labels matter only through the indexes. It is
// copied out, since re-resolving profiles updates a workload in place.
type face struct {
	ns, name, node, iface string
	unresolved            string
	ips                   []netip.Addr
	profiles              []*policy.Profile
}

func faceOf(wl *policy.Workload, hep *policy.HostEndpoint) face {
	if wl != nil {
		return face{ns: wl.Namespace, name: wl.Name, iface: wl.Interface, profiles: wl.Profiles, unresolved: wl.Unresolved}
	}
	return face{name: hep.Name, node: hep.Node, iface: hep.Interface, ips: hep.ExpectedIPs, profiles: hep.Profiles,
		unresolved: hep.Unresolved}
}

func (f face) equal(g face) bool {
	return f.ns == g.ns && f.name == g.name && f.node == g.node && f.iface == g.iface && f.unresolved == g.unresolved &&
		slices.Equal(f.ips, g.ips) && slices.EqualFunc(f.profiles, g.profiles, sameRules)
}

// sameRules reports whether two resolutions of a profile render alike:
// render reads a profile's name and rules, not the labels it applies.
func sameRules(a, b *policy.Profile) bool {
	if a == b {
		return true
	}
	return a != nil && b != nil && a.Name == b.Name &&
		reflect.DeepEqual(a.Ingress, b.Ingress) && reflect.DeepEqual(a.Egress, b.Egress)
}

// updateExists notes whether the node exists: a Node object names it, or
// a workload or host endpoint is on it.
func (e *Engine) updateExists() {
	exists := e.k8sNodes[e.node] != nil || e.calicoNodes[e.node] != nil || len(e.localWL)+len(e.localHEP) > 0
	if exists != e.nodeExists {
		e.nodeExists = exists
		e.markDirty("node existence")
	}
}

// invalidate drops ep's cached tier lists.
func (ep *endpoint) invalidate() {
	if ep.loc != nil {
		ep.loc.tiersOK = [4][2]bool{}
	}
}

// invalidateTiers drops ep's cached tier lists.
func (e *Engine) invalidateTiers(ep *endpoint) {
	ep.invalidate()
	if ep.loc != nil && ep.loc.hep != nil {
		e.dispatch = nil
	}
}

// sortLists brings the sorted lists of local endpoints up to date.
func (e *Engine) sortLists() {
	if e.listsOK {
		return
	}
	e.sortedWL = e.sortedWL[:0]
	for w := range e.localWL {
		e.sortedWL = append(e.sortedWL, w)
	}
	slices.SortFunc(e.sortedWL, func(a, b *policy.Workload) int {
		if c := compareStrings(a.Key(), b.Key()); c != 0 {
			return c
		}
		return compareStrings(e.localWL[a].id, e.localWL[b].id) // pods before workload endpoints
	})
	e.sortedHEP = e.sortedHEP[:0]
	for h := range e.localHEP {
		e.sortedHEP = append(e.sortedHEP, h)
	}
	slices.SortFunc(e.sortedHEP, func(a, b *policy.HostEndpoint) int { return compareStrings(a.Name, b.Name) })
	e.listsOK = true
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// setQuarantine records the addresses of endpoint id while it is
// unresolved (nil: it is not).
func (e *Engine) setQuarantine(id string, q []netip.Prefix) {
	old, had := e.quarantine[id]
	if len(q) == 0 && !had || slices.Equal(old, q) {
		return
	}
	if len(q) == 0 {
		delete(e.quarantine, id)
	} else {
		e.quarantine[id] = slices.Clone(q)
	}
	e.quarantined = nil
	e.markDirty("quarantine")
}
