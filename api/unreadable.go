package api

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Unreadable stands for a stored object whose value cannot be decoded. Its
// kind, namespace and name are known from its key, nothing else. The
// policy model fails closed on it (a policy that cannot be read denies what
// it might have selected); the CLI reports it beside the objects it can
// read.
type Unreadable struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	// Of is the stored kind: a Calico kind ("GlobalNetworkPolicy") or a
	// Kubernetes one prefixed "k8s/" ("k8s/NetworkPolicy").
	Of string
	// Err says why the value cannot be read.
	Err string
}

// UnreadableKind is the kind Unreadable reports in its TypeMeta.
const UnreadableKind = "Unreadable"

// NewUnreadable returns the stand-in for the value stored under a key.
func NewUnreadable(storedKind, namespace, name, why string) *Unreadable {
	u := &Unreadable{Of: storedKind, Err: why}
	u.Kind = UnreadableKind
	u.Namespace, u.Name = namespace, name
	return u
}

// Kubernetes reports whether the unreadable object is of a Kubernetes kind.
func (u *Unreadable) Kubernetes() bool { return strings.HasPrefix(u.Of, "k8s/") }

// BaseKind is the kind without the "k8s/" prefix.
func (u *Unreadable) BaseKind() string { return strings.TrimPrefix(u.Of, "k8s/") }
