// Package controller runs palisade's controllers against the datastore.
// Today there is one: AutoHEP, the automatic host endpoint controller, which
// does what Calico's kube-controllers node controller does (docs/api.md §7).
//
// # What AutoHEP does
//
// AutoHEP watches four kinds through store.Store.Watch: the
// KubeControllersConfiguration "default", Calico Nodes, Kubernetes Nodes
// (store.KindK8sNode) and HostEndpoints. A node is the union of the Calico
// and the Kubernetes Node of one name (autohep.Merge: Kubernetes labels
// win, Calico addresses win). The desired endpoints of a node are
// autohep.ForNode of the node under controllers.node.hostEndpoint; a
// HostEndpoint is managed when it carries the label
// projectcalico.org/created-by=calico-kube-controllers (autohep.IsManaged).
//
// The reconcile behaviour is docs/api.md §7.5:
//
//   - nothing is written before the watch reports Synced; then one full
//     sync (every node, every managed endpoint; managed endpoints of unknown
//     nodes are deleted);
//   - afterwards node adds, updates and deletes mark the node dirty and the
//     dirty nodes are synced in a batch after Options.BatchDelay (default
//     50 ms), so label and address changes reach the endpoint well within a
//     second;
//   - an add, edit or delete of a managed endpoint by anyone else marks its
//     node dirty, so the edit is reverted or the endpoint recreated;
//   - a change to the configuration triggers a full sync (Calico restarts
//     its controllers instead); autoCreate Disabled, or no node controller
//     configured, deletes every managed endpoint; a missing "default"
//     configuration is recreated with autoCreate Disabled, as kube-controllers
//     does;
//   - a full sync runs every Options.ResyncPeriod (default 5 minutes); it
//     re-lists HostEndpoints from the store, so it also repairs drift that no
//     event reported;
//   - every write has a timeout (Options.WriteTimeout, 10 s as in Calico);
//     a failed write is logged, counted, and retried: the failed node (or the
//     full sync) is retried after Options.RetryDelay, doubling up to one
//     minute, and in any case at the next full sync.
//
// # Invariants
//
//   - One goroutine (Run's) owns the caches and does every write; Status and
//     Ready read a snapshot under a mutex.
//   - The endpoint cache holds managed endpoints only and never goes back in
//     resourceVersion: the results of the controller's own writes are put in
//     it at once, and older watch events for the same name are ignored, so a
//     sync that follows a write never acts on a stale copy.
//   - An invalid configuration (one Calico's validation would refuse) makes
//     the controller do nothing until it is fixed; it never deletes
//     endpoints because of it.
//   - Time is read only through Options.Clock (the periodic resync and the
//     retry timers), so tests drive the periodic resync with a fake clock.
//     The batch delay uses real time: it is short and only coalesces.
//
// # Health and metrics
//
// Ready reports nil once the watch is synced and the first full sync has
// succeeded, and otherwise a *NotReadyError saying why. Status returns a
// snapshot for health endpoints. The Prometheus collectors
// (palisade_autohep_*) are registered with Options.Registerer when set.
package controller
