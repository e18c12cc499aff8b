package calc

import (
	"net/netip"
	"reflect"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/selector"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Engine keeps one node's model up to date from datastore events and
// serves it to render through Source. It derives everything
// policy.NewModel derives that the node's ruleset depends on, reusing
// policy's per-object derivations, and does work per event in proportion to
// what the event touches (see the package documentation). An Engine is not
// safe for concurrent use.
type Engine struct {
	node   string
	synced bool
	dirty  bool   // see Changed
	why    string // what first made it dirty (tests)
	gen    uint64 // bumped by every mutating call; views check it

	objs map[store.Key]version // every object but pods (podFacts), to tell repeats

	// Inputs of the synthesised profiles.
	namespaces map[string]map[string]string // namespace -> labels
	nsPods     map[string]int               // namespace -> pods (host-networked too)
	sas        map[string]map[string]string // "ns/sa" -> labels
	saPods     map[string]*saUse            // ksa profile name -> pods that are not host-networked
	podFacts   map[string]*podFacts         // pods' facts not installed as their endpoint's (see facts)
	kinds      map[kindKey]*podKind         // remote pods' kinds in use
	wepKeys    map[store.Key]string         // WorkloadEndpoint -> its workload key
	wepCount   map[string]int               // workload key -> WorkloadEndpoints with it
	userProf   map[string]*policy.Profile   // compiled Profile objects (nil: invalid)

	// Profiles that endpoints name: the resolution and who depends on it.
	profiles map[string]*policy.Profile
	profRefs map[string]int                  // profile -> how many endpoints name it
	profLone map[string]*smallSet[*endpoint] // profile -> the endpoints that name it and are not owners

	eps    map[string]*endpoint // workloads, host endpoints, network sets by id
	packer labelPacker          // packs endpoints' own labels

	k8sNodes    map[string]*corev1.Node
	calicoNodes map[string]*api.Node
	felix       map[string]*api.FelixConfiguration
	kcc         *api.KubeControllersConfiguration
	storedHEPs  map[string]*api.HostEndpoint
	autoHEPs    map[string][]*api.HostEndpoint          // node -> its automatic endpoints
	autoByName  map[string]map[string]*api.HostEndpoint // name -> node -> endpoint
	services    map[store.Key]*corev1.Service
	slices      map[store.Key]*discoveryv1.EndpointSlice

	nodeModel    *policy.Node // this node as derived, whether or not it exists
	nodeExists   bool
	nodeProblems []error

	problems map[string]error // objects left out, by what they are (see Problems)

	tiers    map[string]*policy.Tier
	policies map[string]*polRec
	tierPols map[string]map[string]struct{} // tier name -> ids of policies naming it
	touched  map[string]struct{}            // policies whose activity may have changed

	local  *LabelIndex // policy selectors x this node's endpoints
	owners *LabelIndex // active rule selectors x every address owner

	selRefs  map[string]*ruleSel               // active rule selectors by canonical text
	portRefs map[string]int                    // active named ports
	portOwn  map[string]map[*endpoint]struct{} // active port name -> owners with a port of that name
	members  map[string]iplist.List            // SelectorMembers of one selector, cached
	scratch  []netip.Prefix                    // reused to gather a selector's members
	// quarantine holds the addresses of unresolved endpoints by id;
	// quarantined is their sorted union, nil until asked for.
	quarantine  map[string][]netip.Prefix
	quarantined []netip.Prefix
	fallbacks   int // queries answered by scanning (tests)

	localWL   map[*policy.Workload]*endpoint
	localHEP  map[*policy.HostEndpoint]*endpoint
	sortedWL  []*policy.Workload // by key, then id
	sortedHEP []*policy.HostEndpoint
	listsOK   bool                 // the sorted lists are up to date
	dispatch  *policy.HostDispatch // nil when stale
}

// ruleSel counts the active rules that refer to a selector.
type ruleSel struct {
	sel *selector.Selector
	n   int
}

// NewEngine returns an empty engine for the named node. Until it has seen
// the node's objects the node does not exist (Source().Node returns nil).
func NewEngine(node string) *Engine {
	e := &Engine{
		node:        node,
		dirty:       true,
		objs:        map[store.Key]version{},
		namespaces:  map[string]map[string]string{},
		nsPods:      map[string]int{},
		sas:         map[string]map[string]string{},
		saPods:      map[string]*saUse{},
		podFacts:    map[string]*podFacts{},
		kinds:       map[kindKey]*podKind{},
		wepKeys:     map[store.Key]string{},
		wepCount:    map[string]int{},
		userProf:    map[string]*policy.Profile{},
		profiles:    map[string]*policy.Profile{},
		profRefs:    map[string]int{},
		profLone:    map[string]*smallSet[*endpoint]{},
		eps:         map[string]*endpoint{},
		k8sNodes:    map[string]*corev1.Node{},
		calicoNodes: map[string]*api.Node{},
		felix:       map[string]*api.FelixConfiguration{},
		storedHEPs:  map[string]*api.HostEndpoint{},
		autoHEPs:    map[string][]*api.HostEndpoint{},
		autoByName:  map[string]map[string]*api.HostEndpoint{},
		services:    map[store.Key]*corev1.Service{},
		slices:      map[store.Key]*discoveryv1.EndpointSlice{},
		tiers:       map[string]*policy.Tier{api.DefaultTierName: policy.DefaultTier()},
		policies:    map[string]*polRec{},
		tierPols:    map[string]map[string]struct{}{},
		touched:     map[string]struct{}{},
		selRefs:     map[string]*ruleSel{},
		portRefs:    map[string]int{},
		portOwn:     map[string]map[*endpoint]struct{}{},
		members:     map[string]iplist.List{},
		quarantine:  map[string][]netip.Prefix{},
		localWL:     map[*policy.Workload]*endpoint{},
		localHEP:    map[*policy.HostEndpoint]*endpoint{},
		problems:    map[string]error{},
	}
	e.local = NewLabelIndex(e.localMatch, e.localMatch)
	e.owners = NewLabelIndex(e.ownerMatch, e.ownerMatch)
	e.owners.denseOK = true // the local index reads endpoints' policies from their match entries
	e.owners.keyless()      // endpoints hold their items (endpoint.oi)
	e.owners.lazy = true    // new rule selectors are matched when Source is asked for (fresh.go)
	e.refreshNode()
	return e
}

// Apply feeds one store event: Added and Modified update the object,
// Deleted removes it, Synced marks the engine in sync.
func (e *Engine) Apply(ev store.Event) {
	switch ev.Type {
	case store.Added, store.Modified:
		if ev.Object != nil {
			e.OnUpdate(ev.Object)
		}
	case store.Deleted:
		e.OnDelete(ev.Key)
	case store.Synced:
		e.synced = true
	}
}

// InSync reports whether a Synced event has been applied: every object
// that existed at some revision has been seen.
func (e *Engine) InSync() bool { return e.synced }

// Changed reports whether the node's rendered state may have changed since
// the last call of Source (true before the first). It is never false when
// the state changed; it may be true when it did not.
func (e *Engine) Changed() bool { return e.dirty }

// Source returns the node's model as render reads it, and clears Changed.
// The view is valid until the next OnUpdate, OnDelete or Apply; using it
// afterwards panics.
func (e *Engine) Source() render.Source {
	e.owners.matchFresh() // before Changed is cleared: matching reports to ownerMatch
	e.dirty, e.why = false, ""
	return &view{e: e, gen: e.gen}
}

// markDirty records that the node's rendering may have changed.
func (e *Engine) markDirty(why string) {
	if !e.dirty {
		e.dirty, e.why = true, why
	}
}

// OnUpdate adds or replaces an object. The engine never modifies obj and
// may keep parts of it (a namespace's labels, a service); the caller must
// not modify it afterwards either. Kinds that do not take part in policy
// are ignored.
func (e *Engine) OnUpdate(obj api.Object) {
	key := store.KeyOf(obj)
	if !relevant(key.Kind) {
		return
	}
	if p, ok := obj.(*corev1.Pod); ok {
		e.onPodUpdate(key, p)
		return
	}
	if old, ok := e.objs[key]; ok && old.same(obj) {
		return
	}
	e.gen++
	e.objs[key] = versionOf(obj)
	e.handle(key, obj)
	e.settle()
}

// OnDelete removes the object at key, if the engine has it.
func (e *Engine) OnDelete(key store.Key) {
	_, stored := e.objs[key]
	pod := key.Kind == store.KindK8sPod && e.facts(endpointID(key)) != nil
	if !stored && !pod {
		return
	}
	e.gen++
	delete(e.objs, key)
	e.handle(key, nil) // a pod's facts go in onPod
	e.settle()
}

// onPodUpdate is OnUpdate for a pod: the engine keeps its facts (what
// deriving its workload reads), not the object.
func (e *Engine) onPodUpdate(key store.Key, p *corev1.Pod) {
	f, d := e.factsOf(p)
	if old := e.facts(endpointID(key)); old != nil && old.same(f) {
		return
	}
	e.gen++
	if _, ok := e.objs[key]; ok { // an unreadable value stored before, a problem
		delete(e.objs, key)
		e.setProblem(unreadableID(key), nil)
	}
	e.onPod(key, f, d)
	e.settle()
}

// version is what the engine keeps of an object to tell a repeated
// update: its resource version and uid, and the object itself only when
// it has no resource version (then content tells). What the engine needs
// of an object it keeps where it uses it (a namespace's labels, a
// policy's compiled form); holding every object besides would cost an
// agent its whole datastore again (100k namespaces: about 100 MB).
type version struct {
	stamp
	obj api.Object // nil when the object has a resource version
}

func versionOf(o api.Object) version {
	v := version{stamp: stampOf(o.GetResourceVersion(), string(o.GetUID()))}
	if !v.hasRV() {
		v.obj = o
	}
	return v
}

// same reports whether an update to o repeats what the engine has: the
// same resource version and uid, or (without a resource version) equal
// content.
func (v version) same(o api.Object) bool {
	s := stampOf(o.GetResourceVersion(), string(o.GetUID()))
	if v.hasRV() || s.hasRV() {
		return v.equal(s)
	}
	return v.obj == o || reflect.DeepEqual(v.obj, o)
}

// settle reconciles what the last change may have made active or inactive.
func (e *Engine) settle() {
	for len(e.touched) > 0 {
		for id := range e.touched {
			delete(e.touched, id)
			e.reconcilePolicy(id)
		}
	}
}

// Has reports whether the engine holds the object at key: one it was given
// and has not had deleted. Objects of kinds that take no part in policy
// are not held.
func (e *Engine) Has(key store.Key) bool {
	if _, ok := e.objs[key]; ok {
		return true
	}
	if key.Kind != store.KindK8sPod {
		return false
	}
	// The pod's endpoint id, looked up without allocating it (the agent
	// asks for every pod event).
	var buf [96]byte
	id := append(append(append(append(buf[:0], "pod/"...), key.Namespace...), '/'), key.Name...)
	if f, ok := e.podFacts[string(id)]; ok {
		return f != nil
	}
	ep := e.eps[string(id)]
	return ep != nil && ep.pod != nil
}

// Keys yields the key of every object the engine holds (Has), once each,
// in no order. The engine must not change while it runs.
func (e *Engine) Keys(yield func(store.Key) bool) {
	for k := range e.objs {
		if !yield(k) {
			return
		}
	}
	for id := range e.podFacts {
		if !yield(podKey(id)) {
			return
		}
	}
	for id, ep := range e.eps {
		if _, apart := e.podFacts[id]; ep.pod != nil && !apart && !yield(podKey(id)) {
			return
		}
	}
}

// podKey is the key of the pod whose endpoint id is id (endpointID).
func podKey(id string) store.Key {
	ns, name, _ := strings.Cut(strings.TrimPrefix(id, "pod/"), "/")
	return store.Key{Kind: store.KindK8sPod, Namespace: ns, Name: name}
}
