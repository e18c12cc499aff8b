package controller

import (
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/store"
)

// ConfigName is the name of the one KubeControllersConfiguration the
// controller reads.
const ConfigName = "default"

// watchedKinds are the kinds the controller watches.
var watchedKinds = []store.Kind{
	store.Kind(api.KindKubeControllersConfiguration),
	store.Kind(api.KindNode),
	store.KindK8sNode,
	store.Kind(api.KindHostEndpoint),
}

// cache is what the controller knows, fed by the watch and by its own
// writes. It is owned by Run's goroutine.
type cache struct {
	kcc    *api.KubeControllersConfiguration
	calico map[string]*api.Node
	k8s    map[string]*corev1.Node
	// heps holds managed host endpoints only, by name.
	heps map[string]*api.HostEndpoint
	// floor is the store revision of the last list of host endpoints:
	// events for endpoints not in the cache at or below it are stale.
	floor int64
	// gone holds the resourceVersion of endpoints the controller deleted,
	// until the watch reports the deletion: older events are stale.
	gone map[string]int64
}

func newCache() *cache {
	return &cache{
		calico: map[string]*api.Node{},
		k8s:    map[string]*corev1.Node{},
		heps:   map[string]*api.HostEndpoint{},
		gone:   map[string]int64{},
	}
}

// change is what an event asks of the controller.
type change struct {
	full  bool     // the configuration changed: sync everything
	nodes []string // these nodes need a sync
}

// apply records one watch event and says what must be synced.
func (c *cache) apply(ev store.Event) change {
	switch ev.Key.Kind {
	case store.Kind(api.KindKubeControllersConfiguration):
		if ev.Key.Name != ConfigName {
			return change{}
		}
		kcc, _ := ev.Object.(*api.KubeControllersConfiguration)
		c.kcc = kcc // nil on Deleted
		return change{full: true}
	case store.Kind(api.KindNode):
		n, _ := ev.Object.(*api.Node)
		setOrDelete(c.calico, ev.Key.Name, n)
		return change{nodes: []string{ev.Key.Name}}
	case store.KindK8sNode:
		n, _ := ev.Object.(*corev1.Node)
		setOrDelete(c.k8s, ev.Key.Name, n)
		return change{nodes: []string{ev.Key.Name}}
	case store.Kind(api.KindHostEndpoint):
		return c.applyHEP(ev)
	}
	return change{}
}

func setOrDelete[T any](m map[string]*T, name string, v *T) {
	if v == nil {
		delete(m, name)
		return
	}
	m[name] = v
}

// applyHEP records a host endpoint event. Only managed endpoints are kept;
// an event older than what the cache holds is ignored, and so is the echo
// of the controller's own write (same resourceVersion).
func (c *cache) applyHEP(ev store.Event) change {
	name := ev.Key.Name
	cur := c.heps[name]
	if ev.Type == store.Deleted {
		rv := ev.Revision
		if ev.Old != nil {
			rv = rvOf(ev.Old)
		}
		delete(c.gone, name)
		if cur == nil || rv < rvOf(cur) {
			return change{}
		}
		delete(c.heps, name)
		return change{nodes: []string{cur.Spec.Node}}
	}
	h, ok := ev.Object.(*api.HostEndpoint)
	if !ok {
		return change{}
	}
	rv := rvOf(h)
	switch {
	case cur != nil && rv <= rvOf(cur):
		return change{} // older than, or our own write
	case cur == nil && (rv <= c.floor || rv <= c.gone[name]):
		return change{} // from before the last list, or before our delete
	}
	var nodes []string
	if cur != nil {
		nodes = append(nodes, cur.Spec.Node)
		delete(c.heps, name)
	}
	if autohep.IsManaged(h) {
		c.heps[name] = h
		if !slices.Contains(nodes, h.Spec.Node) {
			nodes = append(nodes, h.Spec.Node)
		}
	}
	return change{nodes: nodes}
}

// put records the result of the controller's own create or update.
func (c *cache) put(h *api.HostEndpoint) {
	if cur := c.heps[h.Name]; cur != nil && rvOf(cur) > rvOf(h) {
		return
	}
	if autohep.IsManaged(h) {
		c.heps[h.Name] = h
	}
}

// remove records the controller's own delete of h.
func (c *cache) remove(h *api.HostEndpoint) {
	delete(c.heps, h.Name)
	c.gone[h.Name] = max(c.gone[h.Name], rvOf(h))
}

// replaceHEPs replaces the endpoint cache with a fresh list read at rev.
func (c *cache) replaceHEPs(list []api.Object, rev int64) {
	c.heps = map[string]*api.HostEndpoint{}
	c.gone = map[string]int64{}
	c.floor = rev
	for _, o := range list {
		if h, ok := o.(*api.HostEndpoint); ok && autohep.IsManaged(h) {
			c.heps[h.Name] = h
		}
	}
}

// nodeNames returns every known node, sorted.
func (c *cache) nodeNames() []string {
	var out []string
	for n := range c.calico {
		out = append(out, n)
	}
	for n := range c.k8s {
		if _, dup := c.calico[n]; !dup {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// node returns what is known of a node; ok is false when neither a Calico
// nor a Kubernetes Node of that name exists.
func (c *cache) node(name string) (autohep.NodeInfo, bool) {
	cn, kn := c.calico[name], c.k8s[name]
	if cn == nil && kn == nil {
		return autohep.NodeInfo{}, false
	}
	return autohep.Merge(cn, kn), true
}

// hepConfig returns the host endpoint configuration in force: nil when the
// configuration is missing or has no node controller (no endpoints
// wanted).
func (c *cache) hepConfig() *api.AutoHostEndpointConfig {
	if c.kcc == nil || c.kcc.Spec.Controllers.Node == nil {
		return nil
	}
	return c.kcc.Spec.Controllers.Node.HostEndpoint
}

// managedFor returns the managed endpoints of a node, and those holding one
// of the given names (an endpoint moved to another node by an edit).
func (c *cache) managedFor(node string, names map[string]bool) []*api.HostEndpoint {
	var out []*api.HostEndpoint
	for _, h := range c.heps {
		if h.Spec.Node == node || names[h.Name] {
			out = append(out, h)
		}
	}
	return out
}

func (c *cache) allManaged() []*api.HostEndpoint {
	out := make([]*api.HostEndpoint, 0, len(c.heps))
	for _, h := range c.heps {
		out = append(out, h)
	}
	return out
}

// rvOf reads an object's resourceVersion as a revision (0 if unset or not
// numeric).
func rvOf(o api.Object) int64 {
	n, _ := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
	return n
}
