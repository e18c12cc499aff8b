package store

import (
	"fmt"
	"strings"
	"sync"

	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Prefix is the root of every key palisade writes.
const Prefix = "/palisade/"

// Kind names a stored kind. The Calico kinds use their api kind names; the
// Kubernetes kinds palisade stores are prefixed "k8s/" so that
// Kubernetes NetworkPolicy and Node stay apart from Calico's.
type Kind string

// Kubernetes kinds palisade stores (for explain and matrix on a live
// datastore; the lab registers pods as WorkloadEndpoints instead).
const (
	KindK8sNetworkPolicy Kind = "k8s/NetworkPolicy"
	KindK8sNode          Kind = "k8s/Node"
	KindK8sNamespace     Kind = "k8s/Namespace"
	KindK8sPod           Kind = "k8s/Pod"
	KindK8sService       Kind = "k8s/Service"
	KindK8sServiceAcct   Kind = "k8s/ServiceAccount"
	KindK8sEndpointSlice Kind = "k8s/EndpointSlice"
)

// Key identifies one stored object.
type Key struct {
	Kind      Kind
	Namespace string
	Name      string
}

// KindOf returns the stored kind of an object.
func KindOf(o api.Object) Kind {
	switch o.(type) {
	case *networkingv1.NetworkPolicy:
		return KindK8sNetworkPolicy
	case *corev1.Node:
		return KindK8sNode
	case *corev1.Namespace:
		return KindK8sNamespace
	case *corev1.Pod:
		return KindK8sPod
	case *corev1.Service:
		return KindK8sService
	case *corev1.ServiceAccount:
		return KindK8sServiceAcct
	case *discoveryv1.EndpointSlice:
		return KindK8sEndpointSlice
	case *api.Unreadable:
		return Kind(o.(*api.Unreadable).Of)
	}
	return Kind(api.KindOf(o))
}

// KeyOf returns the key of an object.
func KeyOf(o api.Object) Key {
	return Key{Kind: KindOf(o), Namespace: o.GetNamespace(), Name: o.GetName()}
}

// Namespaced reports whether objects of the kind live in a namespace.
func (k Kind) Namespaced() bool {
	switch k {
	case KindK8sNetworkPolicy, KindK8sPod, KindK8sService, KindK8sServiceAcct, KindK8sEndpointSlice:
		return true
	case KindK8sNode, KindK8sNamespace:
		return false
	}
	return api.IsNamespaced(string(k))
}

// IsKubernetes reports whether the kind is one of the Kubernetes kinds.
func (k Kind) IsKubernetes() bool { return strings.HasPrefix(string(k), "k8s/") }

// prefix returns the key prefix of a kind: Calico kinds under
// /palisade/resources/v3/projectcalico.org/<plural>/ (docs/api.md §9.1),
// Kubernetes kinds under /palisade/resources/k8s/<plural>/.
func (k Kind) prefix() string {
	if k.IsKubernetes() {
		return Prefix + "resources/k8s/" + api.Plural(strings.TrimPrefix(string(k), "k8s/")) + "/"
	}
	return Prefix + "resources/v3/projectcalico.org/" + api.Plural(string(k)) + "/"
}

// Path is the etcd key of k.
func (k Key) Path() string {
	if k.Namespace != "" {
		return k.Kind.prefix() + k.Namespace + "/" + k.Name
	}
	return k.Kind.prefix() + k.Name
}

// ListPrefix is the key prefix that lists a kind, in one namespace or all.
func ListPrefix(kind Kind, namespace string) string {
	if namespace != "" && kind.Namespaced() {
		return kind.prefix() + namespace + "/"
	}
	return kind.prefix()
}

// String prints the key in calicoctl's identifier form: Kind(name) or
// Kind(namespace/name).
func (k Key) String() string {
	kind := strings.TrimPrefix(string(k.Kind), "k8s/")
	if k.Namespace != "" {
		return fmt.Sprintf("%s(%s/%s)", kind, k.Namespace, k.Name)
	}
	return fmt.Sprintf("%s(%s)", kind, k.Name)
}

// ParsePath turns an etcd key back into a Key; ok is false for keys that are
// not palisade resources.
func ParsePath(path string) (Key, bool) {
	for _, ki := range kindTable() {
		if !strings.HasPrefix(path, ki.prefix) {
			continue
		}
		rest := path[len(ki.prefix):]
		if ki.namespaced {
			ns, name, ok := strings.Cut(rest, "/")
			if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
				return Key{}, false
			}
			return Key{Kind: ki.kind, Namespace: ns, Name: name}, true
		}
		if rest == "" || strings.Contains(rest, "/") {
			return Key{}, false
		}
		return Key{Kind: ki.kind, Name: rest}, true
	}
	return Key{}, false
}

// kindEntry caches what the key layout needs to know about a kind.
type kindEntry struct {
	kind       Kind
	prefix     string
	namespaced bool
}

// kindTable is AllKinds with prefixes computed once (ParsePath runs for
// every watch event).
var kindTable = sync.OnceValue(func() []kindEntry {
	var out []kindEntry
	for _, k := range AllKinds() {
		out = append(out, kindEntry{kind: k, prefix: k.prefix(), namespaced: k.Namespaced()})
	}
	return out
})

// Known reports whether k is one of AllKinds.
func (k Kind) Known() bool {
	for _, ki := range kindTable() {
		if ki.kind == k {
			return true
		}
	}
	return false
}

// AllKinds lists every kind the store holds.
func AllKinds() []Kind {
	var out []Kind
	for _, k := range api.CalicoKinds() {
		out = append(out, Kind(k))
	}
	return append(out, KindK8sNetworkPolicy, KindK8sNode, KindK8sNamespace, KindK8sPod,
		KindK8sService, KindK8sServiceAcct, KindK8sEndpointSlice)
}
