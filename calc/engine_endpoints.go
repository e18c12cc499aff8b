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
// item of the local index. A pod's endpoint reads its own labels, and a
// remote pod's its addresses and named ports, from the pod's facts; what
// other endpoints hold besides is behind more, so that a remote pod's
// endpoint (most of a cluster's) is 64 bytes.
type endpoint struct {
	id    string
	d     *policy.Derived // nil for a remote pod: pod.derive makes it
	pod   *podFacts       // a pod's facts
	more  *epMore         // nil for a valid remote pod
	loc   *localState     // set while local: what only this node's endpoints need
	oi    *item           // its item in the owners index (keyless), while an owner
	owner bool            // in the owners index
	local bool            // in the local index, and loc.wl or loc.hep set
}

// epMore is what an endpoint holds that a valid remote pod's does not:
// the object derived and its own labels packed (an endpoint that is not a
// pod), the addresses and named ports in the owners index (all but a
// remote pod, whose facts hold them), and why a derivation is invalid.
type epMore struct {
	src      api.Object // the object derived (an automatic host endpoint's own)
	own      labelSet   // the derivation's own labels, packed
	err      error      // why a derived workload or host endpoint is invalid
	prefixes []netip.Prefix
	ports    []policy.NamedPort
}

// remotePod reports whether ep is a pod's on another node: its facts hold
// its addresses and named ports.
func (ep *endpoint) remotePod() bool { return ep.pod != nil && ep.pod.local() == nil }

// source is the object ep was derived from (nil for a pod).
func (ep *endpoint) source() api.Object {
	if ep.more == nil {
		return nil
	}
	return ep.more.src
}

// own is ep's derivation's own labels, packed.
func (ep *endpoint) own() labelSet {
	switch {
	case ep.pod != nil:
		return ep.pod.own
	case ep.more != nil:
		return ep.more.own
	}
	return labelSet{}
}

// err is why ep's derivation is invalid (nil: valid).
func (ep *endpoint) err() error {
	if ep.more == nil {
		return nil
	}
	return ep.more.err
}

// addrs is ep's addresses in the owners index (nil unless an owner).
func (ep *endpoint) addrs() addrs {
	switch {
	case !ep.owner:
		return addrs{}
	case ep.remotePod():
		return ep.pod.addrs()
	case ep.more != nil:
		return addrs{list: ep.more.prefixes}
	}
	return addrs{}
}

// appendAddrs appends ep's addresses in the owners index to out (the
// members of a selector are gathered so: a remote pod's one IPv4 address
// is read without building addrs).
func (ep *endpoint) appendAddrs(out []netip.Prefix) []netip.Prefix {
	if f := ep.pod; ep.owner && f != nil && f.one { // only a remote pod's facts hold one inline
		return append(out, netip.PrefixFrom(netip.AddrFrom4(f.v4), 32))
	}
	return ep.addrs().appendTo(out)
}

// namedPorts is ep's named ports in the owners index (nil unless an
// owner).
func (ep *endpoint) namedPorts() []policy.NamedPort {
	switch {
	case !ep.owner:
		return nil
	case ep.remotePod():
		return ep.pod.namedPorts()
	case ep.more != nil:
		return ep.more.ports
	}
	return nil
}

// setMore sets what ep holds beyond a remote pod's needs, dropping more
// when it holds nothing.
func (ep *endpoint) setMore(m epMore) {
	if m.src == nil && m.own == (labelSet{}) && m.err == nil && m.prefixes == nil && m.ports == nil {
		ep.more = nil
		return
	}
	if ep.more == nil {
		ep.more = &epMore{}
	}
	*ep.more = m
}

// moreOf is what ep holds beyond a remote pod's needs.
func (ep *endpoint) moreOf() epMore {
	if ep.more == nil {
		return epMore{}
	}
	return *ep.more
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
		own = ep.own()
	default:
		own = e.packer.pack(d.Own)
	}
	e.setEndpointOwn(id, src, d, own, nil)
}

// setPodEndpoint installs the workload of a pod with facts f as endpoint
// id: the one derived for a pod of this node; a remote pod's endpoint
// keeps f alone (remotePod).
func (e *Engine) setPodEndpoint(id string, f *podFacts) {
	d := f.local()
	if d == nil {
		d = remotePod
	}
	e.setEndpointOwn(id, nil, d, f.own, f)
}

// reresolve resolves ep's profiles again.
func (e *Engine) reresolve(ep *endpoint) {
	if ep.pod != nil {
		e.setPodEndpoint(ep.id, ep.pod)
	} else {
		e.setEndpoint(ep.id, ep.source(), ep.d)
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
	// What the owners index has of ep: read before its facts change.
	oldAddrs, oldPorts := ep.addrs(), ep.namedPorts()
	remote := d == remotePod // its facts say all
	m := ep.moreOf()
	m.src, m.own, m.err = src, own, nil
	if f != nil {
		m.own = labelSet{} // the facts' (setPodEndpoint passes f.own)
	}
	ep.d, ep.pod = d, f
	if remote {
		ep.d = nil // a remote pod: d is made again when needed (derived)
	}
	if d != nil && !remote {
		// Only this node's endpoints need their effective labels (render
		// and explain read them); remote ones are matched in the owners
		// index through their own labels and parents.
		m.err = d.Resolve(e.profile, e.isLocal(d))
	}
	ep.setMore(m)
	valid := d != nil && m.err == nil
	e.updateOwner(ep, d, valid, oldAddrs, oldPorts)
	e.updateLocal(ep, d, d != nil && !remote) // an unresolved endpoint is local too: it fails closed
	var q []netip.Prefix
	if d != nil && m.err != nil {
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
// oldAddrs and oldPorts are what the owners index had of ep.
func (e *Engine) updateOwner(ep *endpoint, d *policy.Derived, valid bool, oldAddrs addrs, oldPorts []policy.NamedPort) {
	var a addrs
	var ports []policy.NamedPort
	switch {
	case valid && ep.remotePod():
		a, ports = ep.pod.addrs(), ep.pod.namedPorts() // the facts' (endpoint.addrs)
	case valid:
		a, ports = addrs{list: d.Prefixes()}, d.Ports()
	}
	owner := a.len() > 0
	if !owner {
		a, ports = addrs{}, nil
	}
	if (e.activePorts(oldPorts) || e.activePorts(ports)) &&
		(!slices.Equal(ports, oldPorts) || !a.equal(oldAddrs)) {
		// Named port members are the addresses and ports of the owners
		// that a rule side's selector (registered, so its matches report
		// label changes) matches.
		e.markDirty("owner with an active named port")
	}
	for _, np := range oldPorts {
		if set := e.portOwn[np.Name]; set != nil {
			delete(set, ep)
		}
	}
	for _, np := range ports {
		if set := e.portOwn[np.Name]; set != nil { // an active name (refPort)
			set[ep] = struct{}{}
		}
	}
	switch {
	case owner:
		e.owners.setItem(&ep.oi, ep.id, ep.own(), ep.parents())
		ep.oi.ep = ep
		if ep.owner && !a.equal(oldAddrs) {
			e.owners.eachSelectorOf(ep.oi, func(s *selRec) {
				delete(e.members, s.id)
				e.markDirty("member address")
			})
		}
	case ep.owner:
		e.owners.dropItem(&ep.oi)
	}
	ep.owner = owner
	m := ep.moreOf()
	m.prefixes, m.ports = a.list, ports
	if ep.remotePod() {
		m.prefixes, m.ports = nil, nil // the facts hold them
	}
	ep.setMore(m)
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
		e.local.updateItem(ep.id, ep.own(), d.Parents)
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
