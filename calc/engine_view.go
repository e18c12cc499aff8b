package calc

import (
	"net/netip"
	"slices"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/selector"
)

// view is the render.Source an Engine hands out: its node's model as of
// one generation. Queries are answered from the engine's indexes and
// caches, computed on first use.
type view struct {
	e   *Engine
	gen uint64
}

func (v *view) engine() *Engine {
	if v.gen != v.e.gen {
		panic("calc: Source used after the engine changed")
	}
	return v.e
}

func (v *view) Node(name string) *policy.Node {
	e := v.engine()
	if name != e.node || !e.nodeExists {
		return nil
	}
	return e.nodeModel
}

func (v *view) WorkloadsOn(node string) []*policy.Workload {
	e := v.engine()
	if node != e.node {
		return nil
	}
	e.sortLists()
	return e.sortedWL
}

func (v *view) HostEndpointsOn(node string) []*policy.HostEndpoint {
	e := v.engine()
	if node != e.node {
		return nil
	}
	e.sortLists()
	return e.sortedHEP
}

func (v *view) WorkloadPolicies(w *policy.Workload, d policy.Direction) []policy.TierPolicies {
	e := v.engine()
	ep := e.localWL[w]
	if ep == nil {
		return nil
	}
	return e.tierList(ep, policy.StageNormal, d)
}

func (v *view) HostEndpointPolicies(h *policy.HostEndpoint, k policy.StageKind, d policy.Direction) []policy.TierPolicies {
	e := v.engine()
	ep := e.localHEP[h]
	if ep == nil {
		return nil
	}
	return e.tierList(ep, k, d)
}

// hostDispatch returns policy's dispatch over the node's host endpoints,
// built when they or their preDNAT and untracked policies changed.
func (e *Engine) hostDispatch() *policy.HostDispatch {
	if e.dispatch == nil {
		e.sortLists()
		e.dispatch = policy.NewHostDispatch(e.nodeModel, e.sortedHEP,
			func(h *policy.HostEndpoint, k policy.StageKind, d policy.Direction) bool {
				return len(e.tierList(e.localHEP[h], k, d)) > 0
			})
	}
	return e.dispatch
}

func (v *view) NamedHostEndpoint(n *policy.Node, iface string) *policy.HostEndpoint {
	return v.engine().hostDispatch().Named(n, iface)
}

func (v *view) WildcardHostEndpoint(n *policy.Node) *policy.HostEndpoint {
	return v.engine().hostDispatch().Wildcard(n)
}

func (v *view) PreDNATHostEndpoint(n *policy.Node, iface string) *policy.HostEndpoint {
	return v.engine().hostDispatch().PreDNAT(n, iface)
}

func (v *view) UntrackedHostEndpoint(n *policy.Node, iface string, d policy.Direction) *policy.HostEndpoint {
	return v.engine().hostDispatch().Untracked(n, iface, d)
}

// SelectorMembers is policy.Model.SelectorMembers from the owners index:
// the members of an active selector are its matches there, and their
// prefixes are cached until a match or an address changes.
func (v *view) SelectorMembers(sel, notSel *selector.Selector) iplist.List {
	e := v.engine()
	switch {
	case sel == nil && notSel == nil:
		return iplist.List{}
	case notSel == nil:
		return e.members1(sel)
	case sel == nil:
		return e.members1(notSel)
	}
	out := e.scratch[:0]
	e.eachMatch(sel, func(it *item) {
		if !e.matchesOwner(notSel, it) {
			out = it.ep.appendAddrs(out)
		}
	})
	return e.compact(out)
}

// members1 is the sorted, de-duplicated prefixes of the owners a selector
// matches.
func (e *Engine) members1(sel *selector.Selector) iplist.List {
	id := sel.String()
	if m, ok := e.members[id]; ok {
		return m
	}
	out := e.scratch[:0]
	e.eachMatch(sel, func(it *item) { out = it.ep.appendAddrs(out) })
	l := e.compact(out)
	if e.owners.sels[id] != nil {
		e.members[id] = l
	}
	return l
}

// compact sorts gathered prefixes into a compact list (kept, and shared
// by the rendered set: 4 bytes an IPv4 address, not netip.Prefix's 32)
// and keeps the gathering slice for the next selector unless it grew
// large (a selector matching much of the cluster).
func (e *Engine) compact(ps []netip.Prefix) iplist.List {
	l := iplist.Of(policy.SortPrefixes(ps))
	e.scratch = nil
	if cap(ps) <= maxScratch {
		clear(ps)
		e.scratch = ps[:0]
	}
	return l
}

// maxScratch is the most prefixes the gathering slice keeps room for
// (2 MiB).
const maxScratch = 1 << 16

// eachMatch calls fn for every owner sel matches: from the owners index
// when sel is active, else (never, if the engine registers what render
// asks for) by scanning every owner.
func (e *Engine) eachMatch(sel *selector.Selector, fn func(it *item)) {
	if s := e.owners.sels[sel.String()]; s != nil {
		e.owners.eachMember(s, fn)
		return
	}
	e.fallbacks++
	for _, it := range e.owners.live() {
		if sel.Matches(resolved{it}) {
			fn(it)
		}
	}
}

func (e *Engine) matchesOwner(sel *selector.Selector, it *item) bool {
	if s := e.owners.sels[sel.String()]; s != nil {
		return e.owners.has(s, it)
	}
	e.fallbacks++
	return sel.Matches(resolved{it})
}

// NamedPortMembers is policy.Model.NamedPortMembers over the owners with a
// port of one of the names (the named-port index), matched against sel.
func (v *view) NamedPortMembers(sel *selector.Selector, names []string) []policy.NamedPortMember {
	e := v.engine()
	seen := map[*endpoint]bool{}
	var out []policy.NamedPortMember
	for _, name := range names {
		owners, ok := e.portOwn[name]
		if !ok { // a name no active rule uses (tests: fallbacks stays 0)
			e.fallbacks++
			owners = e.ownersWithPort(name)
		}
		for ep := range owners {
			if seen[ep] {
				continue
			}
			seen[ep] = true
			if sel != nil && !e.matchesOwner(sel, ep.oi) {
				continue
			}
			for p := range ep.addrs().all {
				if !p.IsSingleIP() {
					continue
				}
				for _, np := range ep.namedPorts() {
					if slices.Contains(names, np.Name) {
						out = append(out, policy.NamedPortMember{Addr: p.Addr(), Proto: np.Proto, Port: np.Port})
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b policy.NamedPortMember) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		if a.Proto != b.Proto {
			return int(a.Proto) - int(b.Proto)
		}
		return int(a.Port) - int(b.Port)
	})
	return out
}

// Quarantined is policy.Model.Quarantined from the unresolved endpoints.
func (v *view) Quarantined() []netip.Prefix {
	e := v.engine()
	if e.quarantined == nil {
		var out []netip.Prefix
		for _, q := range e.quarantine {
			out = append(out, q...)
		}
		e.quarantined = policy.SortPrefixes(out)
	}
	return e.quarantined
}
