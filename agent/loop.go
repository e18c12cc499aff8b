package agent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"github.com/palisade-net/palisade/nft"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/cni"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

// update is one datastore event, or (relist) the start of a new full list:
// keys the list does not send again before its Synced are gone.
type update struct {
	ev     store.Event
	relist bool
}

// heartbeatEvery is how often the idle loop proves it is alive.
const heartbeatEvery = time.Second

// loop is the agent's single owner of state: it takes datastore events and
// interface lists, feeds the engine, and applies the node's ruleset in
// batches. Nothing else touches the engine or the kernel.
type loop struct {
	a   *Agent
	eng engine
	reg *registrar // nil: no registration

	// The engine holds the keys (our Node excluded); the loop counts
	// those the cluster metrics report, as the engine takes and drops them.
	pods, weps, heps int
	nodes            map[string]int // Calico and Kubernetes Nodes held, by name (our own excluded)
	seen             keySet         // during a re-list: keys sent again
	synced           bool

	ifaces     []HostInterface // every interface, as discovered
	haveIfaces bool
	felix      map[string]string // FelixConfiguration name -> interfacePrefix
	prefixes   []string
	workloads  map[store.Key]localWorkload         // this node's workload endpoints and pods
	localWEPs  map[store.Key]*api.WorkloadEndpoint // this node's endpoints as stored
	cniBound   map[string]cni.Attachment           // workload key -> its CNI attachment
	report     api.InterfaceReport                 // how they are bound (bindInterfaces)
	stored     *api.Node                           // our Node as the datastore has it
	overlay    []byte                              // our Node as the engine has it (JSON)

	dirty        bool
	res          Result
	digest       [sha256.Size]byte // of res.Ruleset.Text(): the text itself is not kept (tens of MB at scale)
	haveRes      bool
	batchStart   time.Time
	why          map[string]int // kinds of the changes since the last transaction (for its log line)
	lastStats    render.Stats   // the ruleset last applied
	lastInfoLog  time.Time
	quietApplies int // transactions logged at Debug since the last Info line
	batch        *time.Timer
	batchC       <-chan time.Time
	retry        *time.Timer
	retryC       <-chan time.Time
	retryDelay   time.Duration
	failures     int
	applied      [sha256.Size]byte // the digest of the text this agent last applied
	hasApplied   bool
	kernelText   string          // the table as the kernel listed it after the last apply (normalised); "" until read
	appliedRS    *render.Ruleset // the ruleset the kernel holds (the last applied)
	monitored    bool            // the kernel's changes are reported (nft.Watcher): the read-back can wait
	problems     int
}

func newLoop(a *Agent, eng engine, reg *registrar) *loop {
	return &loop{a: a, eng: eng, reg: reg,
		nodes: map[string]int{}, felix: map[string]string{},
		workloads: map[store.Key]localWorkload{}, localWEPs: map[store.Key]*api.WorkloadEndpoint{}, why: map[string]int{},
		prefixes: []string{"cali"}, retryDelay: a.cfg.RetryDelay}
}

func (l *loop) run(ctx context.Context, updates <-chan update, ifaces <-chan []HostInterface, changes <-chan nft.Change) {
	hb := time.NewTicker(heartbeatEvery)
	defer hb.Stop()
	every := l.a.cfg.DriftInterval
	if changes != nil {
		every = l.a.cfg.DriftResync // the monitor reports changes at once; this is a safety net
		l.monitored = true
	}
	drift := time.NewTicker(every)
	defer drift.Stop()
	defer l.stopTimers()
	l.takeOver(ctx)
	defer l.saveOnExit(ctx)
	var cniChanged chan struct{}
	if l.a.cni != nil {
		cniChanged = l.a.cni.changed
		l.onCNI()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-cniChanged:
			l.onCNI()
		case u := <-updates:
			l.onUpdate(u)
		case ifs := <-ifaces:
			l.ifaces, l.haveIfaces = ifs, true
			l.why["interfaces"]++
			if l.a.cni != nil {
				l.a.cni.setLinks(ifs)
			}
			l.refreshNode()
		case <-l.batchC:
			l.batchC = nil
			l.flush(ctx)
		case <-l.retryC:
			l.retryC = nil
			l.flush(ctx)
		case <-hb.C:
		case <-drift.C:
			// A pending signal of another process's change goes first, so
			// that the check below never takes its change as the baseline.
			select {
			case ch, ok := <-changes:
				changes = l.onChange(ctx, ch, ok, changes, drift)
			default:
				l.checkDrift(ctx, false)
			}
		case ch, ok := <-changes:
			changes = l.onChange(ctx, ch, ok, changes, drift)
		}
		l.a.state.heartbeat()
	}
}

// onChange handles one signal of the kernel monitor (ok false: it
// stopped, and the agent polls from now on); it returns the channel to
// keep listening on.
func (l *loop) onChange(ctx context.Context, ch nft.Change, ok bool, changes <-chan nft.Change, drift *time.Ticker) <-chan nft.Change {
	if !ok {
		l.monitored = false
		drift.Reset(l.a.cfg.DriftInterval)
		if l.kernelText == "" {
			l.kernelText = l.readBack(ctx)
		}
		return nil
	}
	if ch.Definite {
		l.repairDrift(ctx, "changed") // another process wrote to palisade's table
	} else {
		l.checkDrift(ctx, true)
	}
	return changes
}

func (l *loop) stopTimers() {
	if l.batch != nil {
		l.batch.Stop()
	}
	if l.retry != nil {
		l.retry.Stop()
	}
}

// onUpdate feeds one datastore event to the engine.
func (l *loop) onUpdate(u update) {
	if u.relist {
		l.seen = keySet{}
		l.a.m.resync.Set(resyncInProgress)
		if ls, ok := l.eng.(lister); ok {
			ls.Listing()
		}
		return
	}
	ev := u.ev
	if ev.Type == store.Synced {
		l.onSynced(ev.Revision)
		return
	}
	if l.seen != nil {
		l.seen.add(ev.Key)
	}
	if ev.Key == nodeKey(l.a.cfg.Node) {
		l.stored, _ = ev.Object.(*api.Node)
		if ev.Type == store.Deleted {
			l.stored = nil
		}
		l.refreshNode()
		return
	}
	if ev.Key.Kind == store.Kind(api.KindFelixConfiguration) {
		l.onFelix(ev)
	}
	counted := countedKind(ev.Key.Kind)
	had := counted && l.eng.Has(ev.Key)
	l.eng.Apply(l.withCNI(ev))
	if counted {
		l.count(ev.Key, had)
	}
	if ls, ok := l.eng.(lister); ok && ls.WantList() {
		select {
		case l.a.relist <- struct{}{}: // the watch starts again from a new list
		default: // asked already
		}
	}
	l.why[strings.TrimPrefix(string(ev.Key.Kind), "k8s/")]++
	l.markDirty()
	if l.trackWorkload(ev) {
		l.refreshNode()
	}
}

// withCNI keeps this node's stored workload endpoints and gives one that
// has no address yet the addresses its CNI attachment reported: the pod's
// policy need not wait for the kubelet to report them.
func (l *loop) withCNI(ev store.Event) store.Event {
	w, ok := ev.Object.(*api.WorkloadEndpoint)
	if ev.Key.Kind != store.Kind(api.KindWorkloadEndpoint) {
		return ev
	}
	if !ok || ev.Type == store.Deleted || w.Spec.Node != l.a.cfg.Node {
		delete(l.localWEPs, ev.Key)
		return ev
	}
	l.localWEPs[ev.Key] = w
	if p := l.patchWEP(w); p != nil {
		ev.Object = p
	}
	return ev
}

// patchWEP returns a copy of w with its CNI attachment's addresses, or nil
// when w keeps its own.
func (l *loop) patchWEP(w *api.WorkloadEndpoint) *api.WorkloadEndpoint {
	if len(w.Spec.IPNetworks) > 0 || len(l.cniBound) == 0 {
		return nil
	}
	a, ok := l.cniBound[policy.DeriveWorkloadEndpoint(w).Workload.Key()]
	if !ok || len(a.IPs) == 0 {
		return nil
	}
	cp := *w // read-only from here on but for the new slice
	cp.Spec.IPNetworks = nil
	for _, ip := range a.IPs {
		if addr, err := netip.ParseAddr(ip); err == nil {
			cp.Spec.IPNetworks = append(cp.Spec.IPNetworks, netip.PrefixFrom(addr, addr.BitLen()).String())
		}
	}
	return &cp
}

// onCNI takes the CNI attachments again: bindings, and the addresses of
// endpoints that have none of their own.
func (l *loop) onCNI() {
	l.cniBound = cniBindings(l.a.cni.snapshot())
	l.why["cni"]++
	for k, w := range l.localWEPs {
		obj := api.Object(w)
		if p := l.patchWEP(w); p != nil {
			obj = p
		}
		l.eng.Apply(store.Event{Type: store.Modified, Key: k, Object: obj})
	}
	l.markDirty()
	l.refreshNode()
}

// trackWorkload keeps the node's workloads up to date with one event and
// reports whether one was added, changed or removed.
func (l *loop) trackWorkload(ev store.Event) bool {
	if k := ev.Key.Kind; k != store.Kind(api.KindWorkloadEndpoint) && k != store.KindK8sPod {
		return false
	}
	old, had := l.workloads[ev.Key]
	w, ok := workloadOf(l.a.cfg.Node, ev)
	if ok {
		l.workloads[ev.Key] = w
	} else {
		delete(l.workloads, ev.Key)
	}
	return had != ok || (ok && (old.iface != w.iface || !slices.Equal(old.ips, w.ips)))
}

// countedKind reports whether the cluster counts count objects of kind k.
func countedKind(k store.Kind) bool {
	switch k {
	case store.Kind(api.KindNode), store.KindK8sNode, store.Kind(api.KindWorkloadEndpoint), store.KindK8sPod,
		store.Kind(api.KindHostEndpoint):
		return true
	}
	return false
}

// count keeps the cluster counts (felix_cluster_num_*) as the engine
// starts or stops holding k (had: it held k before the event).
func (l *loop) count(k store.Key, had bool) {
	delta := 0
	switch has := l.eng.Has(k); {
	case has && !had:
		delta = 1
	case had && !has:
		delta = -1
	default:
		return
	}
	switch k.Kind {
	case store.Kind(api.KindNode), store.KindK8sNode:
		if l.nodes[k.Name] += delta; l.nodes[k.Name] <= 0 {
			delete(l.nodes, k.Name)
		}
	case store.Kind(api.KindWorkloadEndpoint):
		l.weps += delta
	case store.KindK8sPod:
		l.pods += delta
	case store.Kind(api.KindHostEndpoint):
		l.heps += delta
	default:
		return
	}
	hosts := len(l.nodes)
	if l.nodes[l.a.cfg.Node] == 0 {
		hosts++ // this node, whose Node the loop keeps apart
	}
	l.a.m.numHosts.Set(float64(hosts))
	// The lab's and Kubernetes-datastore views hold a pod and its endpoint:
	// one workload each.
	l.a.m.numWEPs.Set(float64(max(l.weps, l.pods)))
	l.a.m.numHEPs.Set(float64(l.heps))
}

// onSynced ends a full list: what a re-list did not send again is gone.
// The first Synced allows the first kernel write.
func (l *loop) onSynced(rev int64) {
	if l.seen != nil {
		var gone []store.Key         // what the engine holds that the list did not send again
		own := nodeKey(l.a.cfg.Node) // our Node as the loop gives it (refreshNode)
		for k := range l.eng.Keys {
			if k != own && !l.seen.has(k) {
				gone = append(gone, k)
			}
		}
		for _, k := range gone {
			had := l.eng.Has(k)
			delete(l.workloads, k)
			l.eng.Apply(store.Event{Type: store.Deleted, Key: k, Revision: rev})
			l.count(k, had)
			l.dirty = true
		}
		if nk := nodeKey(l.a.cfg.Node); l.stored != nil && !l.seen.has(nk) {
			l.stored = nil
		}
		l.seen = nil
	}
	l.eng.Apply(store.Event{Type: store.Synced, Revision: rev})
	l.a.m.resyncs.Inc()
	l.a.m.resync.Set(resyncInSync)
	if !l.synced {
		l.synced = true
		l.a.state.setSynced()
		l.a.m.synced.Set(1)
		n := 0
		for range l.eng.Keys {
			n++
		}
		l.a.log.Info("in sync with the datastore", "revision", rev, "objects", n)
	}
	l.dirty = true
	l.refreshNode()
	l.markDirty()
}

// onFelix tracks the interface prefixes of FelixConfiguration "default"
// and "node.<name>" (the latter wins), which decide which interfaces are
// workload interfaces.
func (l *loop) onFelix(ev store.Event) {
	name := ev.Key.Name
	if name != "default" && name != "node."+l.a.cfg.Node {
		return
	}
	if fc, ok := ev.Object.(*api.FelixConfiguration); ok && ev.Type != store.Deleted {
		l.felix[name] = fc.Spec.InterfacePrefix
	} else {
		delete(l.felix, name)
	}
	prefixes := []string{"cali"}
	for _, name := range []string{"default", "node." + l.a.cfg.Node} {
		if v := l.felix[name]; v != "" {
			prefixes = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					prefixes = append(prefixes, p)
				}
			}
		}
	}
	if !slices.Equal(prefixes, l.prefixes) {
		l.prefixes = prefixes
		l.refreshNode()
	}
}

// local is the agent's view of its node.
func (l *loop) local() localNode {
	labels := maps.Clone(l.a.cfg.NodeLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[HostnameLabel] = l.a.cfg.Node
	return localNode{name: l.a.cfg.Node, labels: labels, ifaces: hostInterfaces(l.ifaces, l.prefixes, l.report), report: l.report}
}

// rebind binds the node's workloads to its interfaces again (once the
// interfaces are known) and records the report.
func (l *loop) rebind() {
	if !l.haveIfaces {
		return
	}
	wls := make([]localWorkload, 0, len(l.workloads))
	for _, w := range l.workloads {
		wls = append(wls, w)
	}
	cniIfaces := map[string]string{}
	for k, a := range l.cniBound {
		cniIfaces[k] = a.HostInterface
	}
	r := bindInterfaces(wls, l.ifaces, l.prefixes, cniIfaces)
	if !r.Equal(l.report) {
		l.a.log.Info("workload interfaces", "bound_by_route", r.Bound, "unbound", r.Unbound, "missing", r.Missing)
	}
	l.report = r
	l.a.m.interfaceReport(r)
}

// refreshNode gives the engine our Node as the datastore has it with the
// discovered interfaces and addresses laid over it, so the model follows
// the host at once (and while the datastore is unreachable), and asks the
// registrar to write it when the datastore's copy differs.
func (l *loop) refreshNode() {
	l.rebind()
	key := nodeKey(l.a.cfg.Node)
	ln := l.local()
	var n *api.Node
	switch {
	case l.haveIfaces:
		n = ln.desired(l.stored)
	case l.stored != nil:
		n = l.stored
	case l.synced:
		n = ln.desired(nil) // no interfaces known yet; the node must exist to render
	}
	if n != nil {
		data, _ := json.Marshal(n)
		if string(data) != string(l.overlay) {
			l.overlay = data
			l.eng.Apply(store.Event{Type: store.Modified, Key: key, Object: n})
			l.markDirty()
		}
	}
	if l.reg != nil && l.synced && l.haveIfaces && !sameNode(l.stored, n) {
		l.reg.request(ln)
	}
}

// markDirty notes a change and schedules a flush: after BatchDelay of
// quiet, and at most MaxBatchDelay after the first change of the burst.
func (l *loop) markDirty() {
	l.dirty = true
	if !l.synced {
		return
	}
	now := time.Now()
	if l.batchC == nil {
		l.batchStart = now
	}
	wait := min(l.a.cfg.BatchDelay, time.Until(l.batchStart.Add(l.a.cfg.MaxBatchDelay)))
	wait = max(wait, 0)
	if l.batch == nil {
		l.batch = time.NewTimer(wait)
	} else {
		l.batch.Stop()
		select {
		case <-l.batch.C:
		default:
		}
		l.batch.Reset(wait)
	}
	l.batchC = l.batch.C
}
