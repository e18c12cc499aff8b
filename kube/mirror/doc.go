// Package mirror keeps palisade's datastore a mirror of a Kubernetes
// cluster: NetworkPolicies, Namespaces, ServiceAccounts, scheduled Pods,
// Nodes' labels and Services, converted by kube/convert into the objects
// Calico keeps in etcd mode.
//
// It is level-based: informers keep the cluster's state; every reconcile
// computes the desired objects, lists the objects the mirror owns (those
// carrying palisade.io/source), and creates, updates (only when the
// content changed; the source's resourceVersion alone is no change) and
// deletes the differences. The first reconcile is the start-of-day sweep.
// A guard refuses to delete more than a share of the owned objects of a
// kind in one pass (the apiserver answering with an empty list must not
// wipe the datastore); a failed reconcile is retried with capped backoff,
// never dropped. One server at a time runs it (the controllers'
// election).
package mirror
