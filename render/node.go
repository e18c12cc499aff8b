package render

import (
	"fmt"
	"sort"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/policy"
)

// builder accumulates one node's ruleset.
type builder struct {
	src    Source
	n      *policy.Node
	chains map[string]*Chain
	sets   map[string]*Set
	maps   map[string]*Map
	// members caches SelectorMembers per selector pair (both families).
	members map[string]iplist.List
	// ifaces are the host (non-workload) interfaces dispatch considers.
	ifaces []string
	wild   *policy.HostEndpoint
	// counters are the named counters, by name (counters.go).
	counters map[string]*Counter
	// flowLog is the flow log limit, once a rule uses it (flowlog.go).
	flowLog *FlowLogLimit
	// endpoints are the interfaces' endpoints, for flow logs.
	endpoints map[string]string
	// stg is the staged view (NodeStaged), and its endpoints by key.
	stg    Source
	stgWL  map[string]*policy.Workload
	stgHEP map[string]*policy.HostEndpoint
}

// Names of the fixed chains and maps.
const (
	chainRawPre     = "raw-prerouting"
	chainManglePre  = "mangle-prerouting"
	chainInput      = "filter-input"
	chainForward    = "filter-forward"
	chainRawOut     = "raw-output"
	chainOutput     = "filter-output"
	chainManglePost = "mangle-postrouting"

	chainWlToHost = "workload-to-host"

	dispNormalIn  = "dispatch-hep-ingress"
	dispNormalOut = "dispatch-hep-egress"
	dispFwdIn     = "dispatch-hep-fwd-ingress"
	dispFwdOut    = "dispatch-hep-fwd-egress"
	dispPreDNAT   = "dispatch-hep-prednat"
	dispRawIn     = "dispatch-hep-raw-ingress"
	dispRawOut    = "dispatch-hep-raw-egress"
	dispWepFrom   = "dispatch-wep-from"
	dispWepTo     = "dispatch-wep-to"

	mapNormalIn  = "map-hep-ingress"
	mapNormalOut = "map-hep-egress"
	mapFwdIn     = "map-hep-fwd-ingress"
	mapFwdOut    = "map-hep-fwd-egress"
	mapPreDNAT   = "map-hep-prednat"
	mapRawIn     = "map-hep-raw-ingress"
	mapRawOut    = "map-hep-raw-egress"
	mapWepFrom   = "map-wep-from"
	mapWepTo     = "map-wep-to"
)

// Node renders the ruleset of one node (docs/semantics.md §2, §3.3, §14) from
// a source: a *policy.Model, or an incremental engine's view.
func Node(src Source, node string) (*Ruleset, error) {
	return renderNode(src, nil, node)
}

func renderNode(src, stg Source, node string) (*Ruleset, error) {
	n := src.Node(node)
	if n == nil {
		return nil, fmt.Errorf("render: no node named %q in the model", node)
	}
	b := &builder{src: src, n: n, chains: map[string]*Chain{}, sets: map[string]*Set{}, maps: map[string]*Map{},
		members: map[string]iplist.List{}, stg: stg}
	if err := b.collectInterfaces(); err != nil {
		return nil, err
	}
	b.wild = src.WildcardHostEndpoint(n)
	b.failsafeChains()
	if err := b.workloadDispatch(); err != nil {
		return nil, err
	}
	b.hostDispatch()
	b.baseChains()
	return Versioned(b.ruleset()), nil
}

// collectInterfaces lists the node's host interfaces and the interfaces
// its named host endpoints name, without workload interfaces.
func (b *builder) collectInterfaces() error {
	seen := map[string]bool{}
	add := func(name string) error {
		if name == "" || name == "*" || seen[name] || b.isWorkload(name) {
			return nil
		}
		if len(name) > ifnamsiz {
			return fmt.Errorf("render: node %s: interface name %q is longer than %d characters", b.n.Name, name, ifnamsiz)
		}
		seen[name] = true
		b.ifaces = append(b.ifaces, name)
		return nil
	}
	for _, ifc := range b.n.Interfaces {
		if err := add(ifc.Name); err != nil {
			return err
		}
	}
	for _, h := range b.src.HostEndpointsOn(b.n.Name) {
		if err := add(h.Interface); err != nil {
			return err
		}
	}
	sort.Strings(b.ifaces)
	return nil
}

func (b *builder) isWorkload(iface string) bool { return b.n.IsWorkloadInterface(iface) }

// workloadPatterns are the ifname patterns of workload interfaces: each
// interface prefix ("cali*"), sorted, then each interface an agent bound
// to a workload by route lookup whose name no prefix covers.
func (b *builder) workloadPatterns() []string {
	var ps []string
	for _, p := range b.n.Felix.InterfacePrefixes {
		ps = append(ps, p+"*")
	}
	sort.Strings(ps)
	return append(ps, b.n.BoundInterfaces()...)
}

func (b *builder) addChain(c *Chain) *Chain {
	if old, ok := b.chains[c.Name]; ok {
		return old
	}
	b.chains[c.Name] = c
	return c
}

func (b *builder) addMap(name, comment string) *Map {
	mp := &Map{Name: name, Comment: comment}
	b.maps[name] = mp
	return mp
}

// workloadDispatch builds the maps from workload interfaces to their
// endpoint chains and the dispatch chains that drop unknown workload
// interfaces (§1.1 item 3).
func (b *builder) workloadDispatch() error {
	from := b.addMap(mapWepFrom, "workload interface -> the pod's egress chain")
	to := b.addMap(mapWepTo, "workload interface -> the pod's ingress chain")
	byIface := map[string]*policy.Workload{}
	for _, w := range b.src.WorkloadsOn(b.n.Name) {
		ifc := b.n.WorkloadInterface(w)
		if !b.isWorkload(ifc) {
			continue
		}
		if len(ifc) > ifnamsiz {
			return fmt.Errorf("render: workload %s: interface name %q is longer than %d characters", w.Key(), ifc, ifnamsiz)
		}
		byIface[ifc] = w // the last one wins, as in the model's index
	}
	names := make([]string, 0, len(byIface))
	for n := range byIface {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, ifc := range names {
		w := byIface[ifc]
		b.endpoint(ifc, "WorkloadEndpoint "+w.Key())
		from.Elements = append(from.Elements, MapElement{Key: ifc, Verdict: Goto(b.workloadChain(w, policy.Egress))})
		to.Elements = append(to.Elements, MapElement{Key: ifc, Verdict: Goto(b.workloadChain(w, policy.Ingress))})
	}
	b.addChain(&Chain{Name: dispWepFrom, Comment: "packets from a workload interface: the pod's egress policy", Rules: []Rule{
		{Verdict: Verdict{Kind: VerdictVmap, Map: mapWepFrom, Key: FieldIifname}},
		{Verdict: Drop, Comment: "unknown workload interface"},
	}})
	b.addChain(&Chain{Name: dispWepTo, Comment: "packets to a workload interface: the pod's ingress policy", Rules: []Rule{
		{Verdict: Verdict{Kind: VerdictVmap, Map: mapWepTo, Key: FieldOifname}},
		{Verdict: Drop, Comment: "unknown workload interface"},
	}})
	return nil
}

// endpoint records the endpoint behind an interface.
func (b *builder) endpoint(ifc, what string) {
	if b.endpoints == nil {
		b.endpoints = map[string]string{}
	}
	b.endpoints[ifc] = what
}

// hostDispatch builds, for each stage, the map from interface to host
// endpoint chain and the dispatch chain with the wildcard fallback (§3.2
// and the errata's preDNAT rule).
func (b *builder) hostDispatch() {
	type stage struct {
		disp, mp string
		key      Field
		k        policy.StageKind
		d        policy.Direction
		comment  string
	}
	stages := []stage{
		{dispNormalIn, mapNormalIn, FieldIifname, policy.StageNormal, policy.Ingress, "HEP(iif) normal ingress"},
		{dispNormalOut, mapNormalOut, FieldOifname, policy.StageNormal, policy.Egress, "HEP(oif) normal egress"},
		{dispFwdIn, mapFwdIn, FieldIifname, policy.StageForward, policy.Ingress, "HEP(iif) applyOnForward ingress"},
		{dispFwdOut, mapFwdOut, FieldOifname, policy.StageForward, policy.Egress, "HEP(oif) applyOnForward egress"},
		{dispPreDNAT, mapPreDNAT, FieldIifname, policy.StagePreDNAT, policy.Ingress, "preDNAT: own endpoint with preDNAT policy, else the wildcard's"},
		{dispRawIn, mapRawIn, FieldIifname, policy.StageUntracked, policy.Ingress, "untracked ingress: named or IP-matched endpoints only"},
		{dispRawOut, mapRawOut, FieldOifname, policy.StageUntracked, policy.Egress, "untracked egress: named or IP-matched endpoints only"},
	}
	for _, s := range stages {
		mp := b.addMap(s.mp, s.comment)
		for _, ifc := range b.ifaces {
			if s.k == policy.StageNormal {
				if h := b.stageHEP(ifc, s.k, s.d); h != nil {
					b.endpoint(ifc, "HostEndpoint "+h.Name)
				} else if b.wild != nil {
					b.endpoint(ifc, "HostEndpoint "+b.wild.Name)
				}
			}
			if h := b.stageHEP(ifc, s.k, s.d); h != nil {
				mp.Elements = append(mp.Elements, MapElement{Key: ifc, Verdict: Goto(b.hostChain(h, s.k, s.d))})
			}
		}
		c := &Chain{Name: s.disp, Comment: s.comment, Rules: []Rule{{Verdict: Verdict{Kind: VerdictVmap, Map: s.mp, Key: s.key}}}}
		if w := b.wildcardFor(s.k, s.d); w != nil {
			c.Rules = append(c.Rules, Rule{Verdict: Goto(b.hostChain(w, s.k, s.d)), Comment: "wildcard host endpoint " + w.Name})
		}
		b.addChain(c)
	}
}

// stageHEP is the named or IP-matched endpoint a stage consults for a host
// interface (the wildcard is the dispatch chain's fallback).
func (b *builder) stageHEP(ifc string, k policy.StageKind, d policy.Direction) *policy.HostEndpoint {
	switch k {
	case policy.StagePreDNAT:
		h := b.src.PreDNATHostEndpoint(b.n, ifc)
		if h == nil || h.IsWildcard() {
			return nil
		}
		return h
	case policy.StageUntracked:
		return b.src.UntrackedHostEndpoint(b.n, ifc, d)
	}
	return b.src.NamedHostEndpoint(b.n, ifc)
}

// wildcardFor is the wildcard endpoint when it takes part in a stage:
// always for normal and forward, with preDNAT policy for preDNAT, never for
// untracked (§3.2).
func (b *builder) wildcardFor(k policy.StageKind, d policy.Direction) *policy.HostEndpoint {
	w := b.wild
	if w == nil {
		return nil
	}
	switch k {
	case policy.StagePreDNAT:
		if len(b.src.HostEndpointPolicies(w, policy.StagePreDNAT, policy.Ingress)) == 0 {
			return nil
		}
	case policy.StageUntracked:
		return nil
	}
	return w
}

// ruleset collects the chains, sets and maps in their canonical order.
func (b *builder) ruleset() *Ruleset {
	r := &Ruleset{Table: TableName, Family: TableFamily}
	for _, c := range b.chains {
		r.Chains = append(r.Chains, c)
	}
	sort.Slice(r.Chains, func(i, j int) bool { return chainLess(r.Chains[i], r.Chains[j]) })
	for _, s := range b.sets {
		r.Sets = append(r.Sets, s)
	}
	sort.Slice(r.Sets, func(i, j int) bool { return r.Sets[i].Name < r.Sets[j].Name })
	for _, mp := range b.maps {
		r.Maps = append(r.Maps, mp)
	}
	sort.Slice(r.Maps, func(i, j int) bool { return r.Maps[i].Name < r.Maps[j].Name })
	r.Counters = b.sortedCounters()
	r.FlowLog = b.flowLog
	r.Endpoints = b.endpoints
	return r
}

var hookOrder = map[Hook]int{HookPrerouting: 0, HookInput: 1, HookForward: 2, HookOutput: 3, HookPostrouting: 4}

func chainLess(a, b *Chain) bool {
	switch {
	case a.Base != nil && b.Base == nil:
		return true
	case a.Base == nil && b.Base != nil:
		return false
	case a.Base != nil:
		if a.Base.Hook != b.Base.Hook {
			return hookOrder[a.Base.Hook] < hookOrder[b.Base.Hook]
		}
		if a.Base.Priority != b.Base.Priority {
			return a.Base.Priority < b.Base.Priority
		}
	}
	return a.Name < b.Name
}
