// Package convert turns Kubernetes objects into the Calico objects
// palisade's datastore holds for them, in the names Calico uses in etcd
// mode: a NetworkPolicy becomes NetworkPolicy knp.default.<name>, a
// Namespace Profile kns.<ns>, a ServiceAccount Profile ksa.<ns>.<sa>, a
// scheduled Pod a WorkloadEndpoint <node>-k8s-<pod>-eth0, a Node's labels
// the labels of the Calico Node (user-set labels survive, as with Calico's
// kube-labels annotation). Every object records its source in the
// palisade.io/source annotation. Pure functions: no I/O.
package convert
