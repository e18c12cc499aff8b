package api

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindInfo describes one kind palisade reads.
type kindInfo struct {
	kind       string
	namespaced bool
	plural     string
	aliases    []string // calicoctl aliases, lower case (docs/api.md §1.3)
	noCRDv1    bool     // no crd.projectcalico.org/v1 CRD exists (docs/api.md §1.1)
	newObj     func() Object
}

var calicoKinds = []kindInfo{
	{KindGlobalNetworkPolicy, false, "globalnetworkpolicies",
		[]string{"globalnetworkpolicy", "globalnetworkpolicies", "gnp", "gnps"}, false,
		func() Object { return &GlobalNetworkPolicy{} }},
	{KindNetworkPolicy, true, "networkpolicies",
		[]string{"networkpolicy", "networkpolicies", "policy", "policies", "np", "pol", "pols"}, false,
		func() Object { return &NetworkPolicy{} }},
	{KindStagedGlobalNetworkPolicy, false, "stagedglobalnetworkpolicies",
		[]string{"stagedglobalnetworkpolicy", "stagedglobalnetworkpolicies", "sgnp", "sgnps"}, false,
		func() Object { return &StagedGlobalNetworkPolicy{} }},
	{KindStagedNetworkPolicy, true, "stagednetworkpolicies",
		[]string{"stagednetworkpolicy", "stagednetworkpolicies", "stagedpolicy", "stagedpolicies", "snp", "spol", "spols"}, false,
		func() Object { return &StagedNetworkPolicy{} }},
	{KindStagedKubernetesNetworkPolicy, true, "stagedkubernetesnetworkpolicies",
		[]string{"stagedkubernetesnetworkpolicy", "stagedkubernetesnetworkpolicies", "stagedkubernetespolicy",
			"stagedkubernetespolicies", "sknp", "skpol", "skpols"}, false,
		func() Object { return &StagedKubernetesNetworkPolicy{} }},
	{KindTier, false, "tiers", []string{"tier", "tiers"}, false,
		func() Object { return &Tier{} }},
	{KindHostEndpoint, false, "hostendpoints", []string{"hostendpoint", "hostendpoints", "hep", "heps"}, false,
		func() Object { return &HostEndpoint{} }},
	{KindWorkloadEndpoint, true, "workloadendpoints", []string{"workloadendpoint", "workloadendpoints", "wep", "weps"}, true,
		func() Object { return &WorkloadEndpoint{} }},
	{KindProfile, false, "profiles", []string{"profile", "profiles", "pro", "pros"}, true,
		func() Object { return &Profile{} }},
	{KindGlobalNetworkSet, false, "globalnetworksets", []string{"globalnetworkset", "globalnetworksets", "gnetsets"}, false,
		func() Object { return &GlobalNetworkSet{} }},
	{KindNetworkSet, true, "networksets", []string{"networkset", "networksets", "netsets"}, false,
		func() Object { return &NetworkSet{} }},
	{KindFelixConfiguration, false, "felixconfigurations",
		[]string{"felixconfiguration", "felixconfigurations", "felixconfig", "felixconfigs"}, false,
		func() Object { return &FelixConfiguration{} }},
	{KindKubeControllersConfiguration, false, "kubecontrollersconfigurations",
		[]string{"kubecontrollersconfiguration", "kubecontrollersconfigurations", "kubecontrollersconfig", "kubecontrollersconfigs"}, false,
		func() Object { return &KubeControllersConfiguration{} }},
	{KindNode, false, "nodes", []string{"node", "nodes", "no", "nos"}, true,
		func() Object { return &Node{} }},
}

// Kubernetes kinds, keyed by apiVersion then kind.
var kubeKinds = map[string]map[string]kindInfo{
	GroupVersionCoreV1: {
		KindNamespace:      {kind: KindNamespace, plural: "namespaces", newObj: func() Object { return &corev1.Namespace{} }},
		KindPod:            {kind: KindPod, namespaced: true, plural: "pods", newObj: func() Object { return &corev1.Pod{} }},
		KindNode:           {kind: KindNode, plural: "nodes", newObj: func() Object { return &corev1.Node{} }},
		KindService:        {kind: KindService, namespaced: true, plural: "services", newObj: func() Object { return &corev1.Service{} }},
		KindServiceAccount: {kind: KindServiceAccount, namespaced: true, plural: "serviceaccounts", newObj: func() Object { return &corev1.ServiceAccount{} }},
	},
	GroupVersionNetV1: {
		KindNetworkPolicy: {kind: KindNetworkPolicy, namespaced: true, plural: "networkpolicies",
			newObj: func() Object { return &networkingv1.NetworkPolicy{} }},
	},
	GroupVersionDiscV1: {
		KindEndpointSlice: {kind: KindEndpointSlice, namespaced: true, plural: "endpointslices",
			newObj: func() Object { return &discoveryv1.EndpointSlice{} }},
	},
}

var (
	calicoByKind  = map[string]*kindInfo{}
	calicoByAlias = map[string]string{}
)

func init() {
	for i := range calicoKinds {
		k := &calicoKinds[i]
		calicoByKind[k.kind] = k
		calicoByAlias[strings.ToLower(k.kind)] = k.kind
		for _, a := range k.aliases {
			calicoByAlias[a] = k.kind
		}
	}
}

// New returns an empty object of the given kind and apiVersion with its
// TypeMeta filled in. Calico kinds are returned with apiVersion
// projectcalico.org/v3 even when asked for crd.projectcalico.org/v1.
func New(kind, apiVersion string) (Object, error) {
	switch apiVersion {
	case GroupVersionV3, GroupVersionCRDV1:
		k, ok := calicoByKind[kind]
		if !ok || (apiVersion == GroupVersionCRDV1 && k.noCRDv1) {
			break
		}
		o := k.newObj()
		setTypeMeta(o, kind, GroupVersionV3)
		return o, nil
	default:
		if k, ok := kubeKinds[apiVersion][kind]; ok {
			o := k.newObj()
			setTypeMeta(o, kind, apiVersion)
			return o, nil
		}
	}
	return nil, &UnknownKindError{Kind: kind, APIVersion: apiVersion}
}

// isKnownKind reports whether kind is a kind palisade reads under any
// apiVersion (used to recognise "<Kind>List" documents).
func isKnownKind(kind string) bool {
	if _, ok := calicoByKind[kind]; ok {
		return true
	}
	for _, m := range kubeKinds {
		if _, ok := m[kind]; ok {
			return true
		}
	}
	return false
}

func setTypeMeta(o Object, kind, apiVersion string) {
	o.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
}

// SetTypeMeta fills in kind and apiVersion from o's Go type when they are
// empty: projectcalico.org/v3 for Calico kinds, the Kubernetes group version
// for the Kubernetes kinds. It is what encoders call before printing.
func SetTypeMeta(o Object) {
	tm := o.GetObjectKind().GroupVersionKind()
	if tm.Kind != "" && tm.Version != "" {
		return
	}
	setTypeMeta(o, KindOf(o), APIVersionOf(o))
}

// APIVersionOf returns the apiVersion palisade prints for o.
func APIVersionOf(o Object) string {
	switch o.(type) {
	case *networkingv1.NetworkPolicy:
		return GroupVersionNetV1
	case *discoveryv1.EndpointSlice:
		return GroupVersionDiscV1
	}
	if IsKubernetes(o) {
		return GroupVersionCoreV1
	}
	return GroupVersionV3
}

// IsNamespaced reports whether objects of kind live in a namespace. Kind is
// matched exactly; NetworkPolicy is namespaced in both worlds.
func IsNamespaced(kind string) bool {
	if k, ok := calicoByKind[kind]; ok {
		return k.namespaced
	}
	for _, m := range kubeKinds {
		if k, ok := m[kind]; ok {
			return k.namespaced
		}
	}
	return false
}

// DefaultNamespace sets o's namespace to ns when o is of a namespaced kind
// and has none.
func DefaultNamespace(o Object, ns string) {
	if o.GetNamespace() == "" && IsNamespaced(KindOf(o)) {
		o.SetNamespace(ns)
	}
}

// KindAliases lists every kind name and alias LookupKind accepts, lower
// case.
func KindAliases() []string {
	out := make([]string, 0, len(calicoByAlias))
	for a := range calicoByAlias {
		out = append(out, a)
	}
	return out
}

// LookupKind resolves a calicoctl resource-type alias (case-insensitive:
// "gnp", "HostEndpoints", "felixconfig", ...) to its Calico kind.
func LookupKind(alias string) (kind string, ok bool) {
	kind, ok = calicoByAlias[strings.ToLower(strings.TrimSpace(alias))]
	return kind, ok
}

// Plural returns the lower-case plural used in etcd keys (docs/api.md §9.1).
func Plural(kind string) string {
	if k, ok := calicoByKind[kind]; ok {
		return k.plural
	}
	for _, m := range kubeKinds {
		if k, ok := m[kind]; ok {
			return k.plural
		}
	}
	extra := map[string]string{
		"ClusterInformation": "clusterinformations", "IPPool": "ippools", "IPReservation": "ipreservations",
		"BGPConfiguration": "bgpconfigurations", "BGPPeer": "bgppeers", "IPAMConfiguration": "ipamconfigurations",
		"CalicoNodeStatus": "caliconodestatuses",
	}
	if p, ok := extra[kind]; ok {
		return p
	}
	l := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(l, "y"):
		return l[:len(l)-1] + "ies"
	case strings.HasSuffix(l, "s"):
		return l + "es"
	}
	return l + "s"
}

// CalicoKinds lists the Calico kinds palisade handles, in docs/api.md §1.3 order.
func CalicoKinds() []string {
	out := make([]string, len(calicoKinds))
	for i, k := range calicoKinds {
		out[i] = k.kind
	}
	return out
}
