package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/kube/convert"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Config configures a Mirror.
type Config struct {
	Client kubernetes.Interface
	Store  store.Store
	// Resync is the period of a full reconcile without events (default 5m).
	Resync time.Duration
	// Debounce batches events before a reconcile (default 50ms).
	Debounce time.Duration
	// MaxDeleteShare is the largest share of a kind's owned objects one
	// reconcile may delete (default 0.5); more is refused and reported,
	// unless ForceDelete. Kinds with fewer than MinGuarded owned objects are
	// not guarded (default 10).
	MaxDeleteShare float64
	MinGuarded     int
	ForceDelete    bool
	// InterfacePrefix is the interface prefix when FelixConfiguration
	// default sets none (default cali).
	InterfacePrefix string
	Logger          *slog.Logger
}

// Status is what health and metrics report.
type Status struct {
	Synced       bool      // informers synced and one reconcile done
	LastSync     time.Time // end of the last successful reconcile
	LastError    string    // of the last reconcile, "" if it succeeded
	FailingKeys  []string  // objects the last reconcile could not write
	GuardRefused []string  // kinds whose deletions the guard refused
	Writes       int       // objects written or deleted since the start
}

// Mirror mirrors a cluster into the datastore.
type Mirror struct {
	cfg     Config
	factory informers.SharedInformerFactory
	kick    chan struct{}
	mu      sync.Mutex
	status  Status
}

// New returns a Mirror; Run starts it.
func New(cfg Config) *Mirror {
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 50 * time.Millisecond
	}
	if cfg.MaxDeleteShare <= 0 {
		cfg.MaxDeleteShare = 0.5
	}
	if cfg.MinGuarded <= 0 {
		cfg.MinGuarded = 10
	}
	if cfg.InterfacePrefix == "" {
		cfg.InterfacePrefix = convert.DefaultInterfacePrefix
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Mirror{cfg: cfg, kick: make(chan struct{}, 1),
		factory: informers.NewSharedInformerFactory(cfg.Client, 0)}
}

// Status returns a copy of the mirror's status.
func (m *Mirror) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.status
	s.FailingKeys = slices.Clone(s.FailingKeys)
	s.GuardRefused = slices.Clone(s.GuardRefused)
	return s
}

// Run mirrors until ctx ends.
func (m *Mirror) Run(ctx context.Context) error {
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { m.poke() },
		UpdateFunc: func(any, any) { m.poke() },
		DeleteFunc: func(any) { m.poke() },
	}
	for _, inf := range []cache.SharedIndexInformer{
		m.factory.Core().V1().Pods().Informer(), m.factory.Core().V1().Namespaces().Informer(),
		m.factory.Core().V1().ServiceAccounts().Informer(), m.factory.Core().V1().Nodes().Informer(),
		m.factory.Core().V1().Services().Informer(), m.factory.Networking().V1().NetworkPolicies().Informer(),
		m.factory.Discovery().V1().EndpointSlices().Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
	}
	m.factory.Start(ctx.Done())
	defer m.factory.Shutdown()
	for typ, ok := range m.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("kubernetes mirror: %v informer did not sync: %w", typ, ctx.Err())
		}
	}
	m.cfg.Logger.Info("kubernetes mirror: informers synced; reconciling")
	backoff := time.Second
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
			if !sleep(ctx, m.cfg.Debounce) {
				return nil
			}
		case <-timer.C:
		}
		err := m.Reconcile(ctx)
		next := m.cfg.Resync
		if err != nil {
			m.cfg.Logger.Warn("kubernetes mirror: reconcile failed; retrying", "error", err, "in", backoff)
			next, backoff = backoff, min(2*backoff, time.Minute)
		} else {
			backoff = time.Second
		}
		timer.Reset(next)
	}
}

func (m *Mirror) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// mirrored are the stored kinds the mirror owns objects of.
var mirrored = []store.Kind{api.KindNetworkPolicy, api.KindProfile, api.KindWorkloadEndpoint, store.KindK8sService,
	store.KindK8sEndpointSlice}

// Reconcile brings the datastore to the cluster's state once.
func (m *Mirror) Reconcile(ctx context.Context) error {
	snap, err := m.informed()
	if err != nil {
		return m.finish(err, nil, nil)
	}
	desired := desired(snap, interfacePrefix(ctx, m.cfg.Store, m.cfg.InterfacePrefix), func(np *networkingv1.NetworkPolicy, err error) {
		m.cfg.Logger.Warn("kubernetes mirror: NetworkPolicy converted with problems (rules left out fail closed)",
			"policy", np.Namespace+"/"+np.Name, "error", err)
	})
	var failing, refused []string
	var errs []error
	for _, kind := range mirrored {
		f, r, err := m.reconcileKind(ctx, kind, desired)
		failing, refused = append(failing, f...), append(refused, r...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	f, err := m.reconcileNodes(ctx, snap.nodes)
	failing = append(failing, f...)
	if err != nil {
		errs = append(errs, err)
	}
	return m.finish(errors.Join(errs...), failing, refused)
}

func (m *Mirror) finish(err error, failing, refused []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status.FailingKeys, m.status.GuardRefused = failing, refused
	if err != nil {
		m.status.LastError = err.Error()
		return err
	}
	m.status.LastError, m.status.LastSync, m.status.Synced = "", time.Now(), true
	return nil
}

// snapshot is the cluster's objects the mirror converts.
type snapshot struct {
	nps    []*networkingv1.NetworkPolicy
	nss    []*corev1.Namespace
	sas    []*corev1.ServiceAccount
	pods   []*corev1.Pod
	svcs   []*corev1.Service
	slices []*discoveryv1.EndpointSlice
	nodes  []*corev1.Node
}

// informed is the informers' snapshot.
func (m *Mirror) informed() (snapshot, error) {
	var s snapshot
	var err error
	core := m.factory.Core().V1()
	all := labels.Everything()
	for _, list := range []func() error{
		func() error {
			s.nps, err = m.factory.Networking().V1().NetworkPolicies().Lister().List(all)
			return err
		},
		func() error { s.nss, err = core.Namespaces().Lister().List(all); return err },
		func() error { s.sas, err = core.ServiceAccounts().Lister().List(all); return err },
		func() error { s.pods, err = core.Pods().Lister().List(all); return err },
		func() error { s.svcs, err = core.Services().Lister().List(all); return err },
		func() error {
			s.slices, err = m.factory.Discovery().V1().EndpointSlices().Lister().List(all)
			return err
		},
		func() error { s.nodes, err = core.Nodes().Lister().List(all); return err },
	} {
		if err := list(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// desired converts a snapshot; warn reports a policy converted with
// problems.
func desired(s snapshot, prefix string, warn func(np *networkingv1.NetworkPolicy, err error)) map[store.Key]api.Object {
	out := map[store.Key]api.Object{}
	add := func(o api.Object) { out[store.KeyOf(o)] = o }
	for _, np := range s.nps {
		p, err := convert.NetworkPolicy(np)
		if err != nil && warn != nil {
			warn(np, err)
		}
		if p != nil {
			add(p)
		}
	}
	for _, ns := range s.nss {
		add(convert.NamespaceProfile(ns))
	}
	sas := map[string]bool{}
	for _, sa := range s.sas {
		add(convert.ServiceAccountProfile(sa))
		sas[sa.Namespace+"/"+sa.Name] = true
	}
	for _, p := range s.pods {
		w := convert.Endpoint(p, prefix)
		if w == nil {
			continue
		}
		add(w)
		// A pod may run as a service account that has no object (no
		// controller made it yet): its profile still exists, with the
		// name label only, as the policy model resolves it for pods.
		if !sas[p.Namespace+"/"+w.Spec.ServiceAccountName] {
			sa := &corev1.ServiceAccount{}
			sa.Namespace, sa.Name = p.Namespace, w.Spec.ServiceAccountName
			add(convert.ServiceAccountProfile(sa))
		}
	}
	nodePorts := map[string]bool{}
	for _, svc := range s.svcs {
		add(convert.Service(svc))
		if convert.NodePortType(svc) {
			nodePorts[svc.Namespace+"/"+svc.Name] = true
		}
	}
	for _, es := range s.slices {
		if nodePorts[es.Namespace+"/"+es.Labels[discoveryv1.LabelServiceName]] {
			add(convert.EndpointSlice(es))
		}
	}
	return out
}

// Pending lists what the datastore does not yet hold of the cluster as the
// apiserver has it now: mirrors to write, change or delete, and Nodes
// whose labels are to merge. Empty means a mirror has caught up with every
// change made before the call (tests and the lab wait on it).
func Pending(ctx context.Context, client kubernetes.Interface, st store.Store) ([]string, error) {
	s, err := listed(ctx, client)
	if err != nil {
		return nil, err
	}
	want := desired(s, interfacePrefix(ctx, st, convert.DefaultInterfacePrefix), nil)
	var out []string
	for _, kind := range mirrored {
		stored, _, err := st.List(ctx, kind, "")
		if err != nil {
			return nil, err
		}
		have := map[store.Key]bool{}
		for _, o := range stored {
			k := store.KeyOf(o)
			have[k] = true
			if w, ok := want[k]; ok && !same(o, w) {
				out = append(out, "update "+k.String())
			} else if !ok && owned(o) {
				out = append(out, "delete "+k.String())
			}
		}
		for k := range want {
			if k.Kind == kind && !have[k] {
				out = append(out, "create "+k.String())
			}
		}
	}
	for _, k := range s.nodes {
		cur, err := st.Get(ctx, store.Key{Kind: api.KindNode, Name: k.Name})
		n, _ := cur.(*api.Node)
		if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		if _, changed := convert.NodeLabels(n, k); changed {
			out = append(out, "labels of Node("+k.Name+")")
		}
	}
	slices.Sort(out)
	return out, nil
}

// listed is the apiserver's snapshot, listed now.
func listed(ctx context.Context, c kubernetes.Interface) (snapshot, error) {
	var s snapshot
	opts := metav1.ListOptions{}
	nps, err := c.NetworkingV1().NetworkPolicies("").List(ctx, opts)
	if err != nil {
		return s, err
	}
	nss, err := c.CoreV1().Namespaces().List(ctx, opts)
	if err != nil {
		return s, err
	}
	sas, err := c.CoreV1().ServiceAccounts("").List(ctx, opts)
	if err != nil {
		return s, err
	}
	pods, err := c.CoreV1().Pods("").List(ctx, opts)
	if err != nil {
		return s, err
	}
	svcs, err := c.CoreV1().Services("").List(ctx, opts)
	if err != nil {
		return s, err
	}
	eps, err := c.DiscoveryV1().EndpointSlices("").List(ctx, opts)
	if err != nil {
		return s, err
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, opts)
	if err != nil {
		return s, err
	}
	s.nps, s.nss, s.sas = ptrs(nps.Items), ptrs(nss.Items), ptrs(sas.Items)
	s.pods, s.svcs, s.slices, s.nodes = ptrs(pods.Items), ptrs(svcs.Items), ptrs(eps.Items), ptrs(nodes.Items)
	return s, nil
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// interfacePrefix is the first prefix of FelixConfiguration default's
// interfacePrefix (a comma list), else def.
func interfacePrefix(ctx context.Context, st store.Store, def string) string {
	o, err := st.Get(ctx, store.Key{Kind: api.KindFelixConfiguration, Name: "default"})
	if fc, ok := o.(*api.FelixConfiguration); err == nil && ok {
		if first, _, _ := strings.Cut(fc.Spec.InterfacePrefix, ","); strings.TrimSpace(first) != "" {
			return strings.TrimSpace(first)
		}
	}
	return def
}

// owned reports whether the mirror made a stored object.
func owned(o api.Object) bool {
	_, ok := o.GetAnnotations()[convert.SourceAnnotation]
	return ok
}

// reconcileKind writes the differences for one kind.
func (m *Mirror) reconcileKind(ctx context.Context, kind store.Kind, desired map[store.Key]api.Object) (failing, refused []string, err error) {
	stored, _, err := m.cfg.Store.List(ctx, kind, "")
	if err != nil {
		return nil, nil, fmt.Errorf("listing %s: %w", kind, err)
	}
	have := map[store.Key]api.Object{}
	var gone []store.Key
	ownedCount := 0
	for _, o := range stored {
		k := store.KeyOf(o)
		have[k] = o
		if !owned(o) {
			continue
		}
		ownedCount++
		if _, want := desired[k]; !want {
			gone = append(gone, k)
		}
	}
	var errs []error
	for k, want := range desired {
		if k.Kind != kind {
			continue
		}
		cur, exists := have[k]
		switch {
		case !exists:
			_, err = m.cfg.Store.Create(ctx, want)
		case isUnreadable(cur):
			_, err = m.cfg.Store.Update(ctx, want) // repair an unreadable value
		case same(cur, want):
			continue
		default:
			want.SetResourceVersion(cur.GetResourceVersion()) // desired objects are fresh each pass
			_, err = m.cfg.Store.Update(ctx, want)
		}
		if err != nil {
			failing = append(failing, k.String())
			errs = append(errs, err)
			continue
		}
		m.wrote()
	}
	if len(gone) > 0 && ownedCount >= m.cfg.MinGuarded &&
		float64(len(gone)) > m.cfg.MaxDeleteShare*float64(ownedCount) && !m.cfg.ForceDelete {
		m.cfg.Logger.Error("kubernetes mirror: refusing to delete most mirrored objects of a kind in one pass "+
			"(is the apiserver answering with empty lists?); pass --kube-force-delete to allow it",
			"kind", kind, "delete", len(gone), "owned", ownedCount)
		return failing, []string{string(kind)}, errors.Join(errs...)
	}
	for _, k := range gone {
		if _, err := m.cfg.Store.Delete(ctx, k, ""); err != nil && !store.IsNotFound(err) {
			failing = append(failing, k.String())
			errs = append(errs, err)
			continue
		}
		m.wrote()
	}
	return failing, nil, errors.Join(errs...)
}

func isUnreadable(o api.Object) bool { _, ok := o.(*api.Unreadable); return ok }

func (m *Mirror) wrote() {
	m.mu.Lock()
	m.status.Writes++
	m.mu.Unlock()
}

// reconcileNodes merges Kubernetes Nodes' labels into Calico Nodes and
// deletes the Calico Nodes the mirror made whose Kubernetes Node is gone.
func (m *Mirror) reconcileNodes(ctx context.Context, nodes []*corev1.Node) ([]string, error) {
	stored, _, err := m.cfg.Store.List(ctx, api.KindNode, "")
	if err != nil {
		return nil, fmt.Errorf("listing Node: %w", err)
	}
	have := map[string]*api.Node{}
	for _, o := range stored {
		if n, ok := o.(*api.Node); ok {
			have[n.Name] = n
		}
	}
	var failing []string
	var errs []error
	seen := map[string]bool{}
	for _, k := range nodes {
		seen[k.Name] = true
		cur := have[k.Name]
		n, changed := convert.NodeLabels(cur, k)
		if !changed {
			continue
		}
		if cur == nil {
			_, err = m.cfg.Store.Create(ctx, n)
		} else {
			_, err = m.cfg.Store.Update(ctx, n)
		}
		if err != nil {
			failing = append(failing, "Node("+k.Name+")")
			errs = append(errs, err)
			continue
		}
		m.wrote()
	}
	for name, n := range have {
		if seen[name] || !owned(n) || !strings.HasPrefix(n.Annotations[convert.SourceAnnotation], "Node ") {
			continue
		}
		if _, err := m.cfg.Store.Delete(ctx, store.Key{Kind: api.KindNode, Name: name}, n.ResourceVersion); err != nil &&
			!store.IsNotFound(err) {
			failing = append(failing, "Node("+name+")")
			errs = append(errs, err)
			continue
		}
		m.wrote()
	}
	return failing, errors.Join(errs...)
}

// same compares a stored object with a desired one: their content, and
// their source but for its resourceVersion.
func same(stored, want api.Object) bool {
	return canonical(stored) == canonical(want)
}

func canonical(o api.Object) string {
	c := copyObject(o)
	c.SetResourceVersion("")
	c.SetUID("")
	c.SetCreationTimestamp(metav1.Time{})
	c.SetGeneration(0)
	c.SetManagedFields(nil)
	ann := map[string]string{}
	for k, v := range c.GetAnnotations() {
		ann[k] = v
	}
	ann[convert.SourceAnnotation] = convert.SourceKey(ann[convert.SourceAnnotation])
	c.SetAnnotations(ann)
	b, _ := json.Marshal(c)
	return string(b)
}

func copyObject(o api.Object) api.Object {
	b, _ := json.Marshal(o)
	out, err := api.New(api.KindOf(o), groupVersion(o))
	if err != nil {
		return o
	}
	_ = json.Unmarshal(b, out)
	api.SetTypeMeta(out)
	return out
}

func groupVersion(o api.Object) string {
	if _, ok := o.(*corev1.Service); ok {
		return api.GroupVersionCoreV1
	}
	return api.GroupVersionV3
}
