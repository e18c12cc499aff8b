package api

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// API versions palisade reads.
const (
	GroupVersionV3      = "projectcalico.org/v3"
	GroupVersionCRDV1   = "crd.projectcalico.org/v1"
	GroupVersionCoreV1  = "v1"
	GroupVersionNetV1   = "networking.k8s.io/v1"
	GroupVersionDiscV1  = "discovery.k8s.io/v1"
	DefaultTierName     = "default"
	DefaultAllowProfile = "projectcalico-default-allow"
)

// Kind names, exactly as written in manifests.
const (
	KindGlobalNetworkPolicy          = "GlobalNetworkPolicy"
	KindNetworkPolicy                = "NetworkPolicy"
	KindStagedGlobalNetworkPolicy    = "StagedGlobalNetworkPolicy"
	KindStagedNetworkPolicy          = "StagedNetworkPolicy"
	KindTier                         = "Tier"
	KindHostEndpoint                 = "HostEndpoint"
	KindWorkloadEndpoint             = "WorkloadEndpoint"
	KindProfile                      = "Profile"
	KindGlobalNetworkSet             = "GlobalNetworkSet"
	KindNetworkSet                   = "NetworkSet"
	KindFelixConfiguration           = "FelixConfiguration"
	KindKubeControllersConfiguration = "KubeControllersConfiguration"
	KindNode                         = "Node"

	// Kubernetes kinds. NetworkPolicy and Node share their names with Calico
	// kinds; the API version tells them apart (see Object and IsKubernetes).
	KindNamespace      = "Namespace"
	KindPod            = "Pod"
	KindService        = "Service"
	KindServiceAccount = "ServiceAccount"
	KindEndpointSlice  = "EndpointSlice"
)

// Object is every resource palisade handles: the Calico types of this package
// and the Kubernetes types it reads. All of them carry TypeMeta and ObjectMeta.
type Object interface {
	metav1.Object
	GetObjectKind() schema.ObjectKind
}

// KindOf returns the kind of o, derived from its Go type so that it is right
// even when TypeMeta was never filled in.
func KindOf(o Object) string {
	switch o.(type) {
	case *GlobalNetworkPolicy:
		return KindGlobalNetworkPolicy
	case *NetworkPolicy, *networkingv1.NetworkPolicy:
		return KindNetworkPolicy
	case *StagedGlobalNetworkPolicy:
		return KindStagedGlobalNetworkPolicy
	case *StagedNetworkPolicy:
		return KindStagedNetworkPolicy
	case *StagedKubernetesNetworkPolicy:
		return KindStagedKubernetesNetworkPolicy
	case *Tier:
		return KindTier
	case *HostEndpoint:
		return KindHostEndpoint
	case *WorkloadEndpoint:
		return KindWorkloadEndpoint
	case *Profile:
		return KindProfile
	case *GlobalNetworkSet:
		return KindGlobalNetworkSet
	case *NetworkSet:
		return KindNetworkSet
	case *FelixConfiguration:
		return KindFelixConfiguration
	case *KubeControllersConfiguration:
		return KindKubeControllersConfiguration
	case *Node, *corev1.Node:
		return KindNode
	case *corev1.Namespace:
		return KindNamespace
	case *corev1.Pod:
		return KindPod
	case *corev1.Service:
		return KindService
	case *corev1.ServiceAccount:
		return KindServiceAccount
	case *discoveryv1.EndpointSlice:
		return KindEndpointSlice
	case *Unreadable:
		return o.(*Unreadable).BaseKind()
	}
	return o.GetObjectKind().GroupVersionKind().Kind
}

// IsKubernetes reports whether o is one of the Kubernetes types (core/v1 or
// networking.k8s.io/v1) rather than a Calico type.
func IsKubernetes(o Object) bool {
	switch o.(type) {
	case *networkingv1.NetworkPolicy, *corev1.Node, *corev1.Namespace, *corev1.Pod,
		*corev1.Service, *corev1.ServiceAccount, *discoveryv1.EndpointSlice:
		return true
	}
	return false
}

// ID returns a printable identifier in calicoctl's form: Kind(name) or
// Kind(namespace/name).
func ID(o Object) string {
	if ns := o.GetNamespace(); ns != "" {
		return KindOf(o) + "(" + ns + "/" + o.GetName() + ")"
	}
	return KindOf(o) + "(" + o.GetName() + ")"
}
