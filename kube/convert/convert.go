package convert

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/k8sconv"
	"github.com/palisade-net/palisade/policy"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations palisade writes on mirrored objects.
const (
	// SourceAnnotation records the Kubernetes object a mirror comes from:
	// "<Kind> <namespace>/<name> uid=<uid> rv=<resourceVersion>".
	SourceAnnotation = "palisade.io/source"
	// KubeLabelsAnnotation on a Calico Node lists (as JSON) the labels that
	// came from the Kubernetes Node, so that a label removed there is
	// removed here while labels users set survive.
	KubeLabelsAnnotation = "palisade.io/kube-labels"
	// NetworkPolicyPrefix names the mirrors of Kubernetes NetworkPolicies.
	NetworkPolicyPrefix = "knp.default."
	// DefaultInterfacePrefix is the interface prefix when none is configured.
	DefaultInterfacePrefix = "cali"
)

// Source is the value of SourceAnnotation for an object.
func Source(kind string, o metav1.Object) string {
	return fmt.Sprintf("%s %s/%s uid=%s rv=%s", kind, o.GetNamespace(), o.GetName(), o.GetUID(), o.GetResourceVersion())
}

// SourceKey is a SourceAnnotation without its resourceVersion: what two
// mirrors of the same object share whatever the source's version.
func SourceKey(s string) string {
	if i := strings.LastIndex(s, " rv="); i >= 0 {
		return s[:i]
	}
	return s
}

func meta(name, ns, source string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{SourceAnnotation: source}}
}

// NetworkPolicy mirrors a Kubernetes NetworkPolicy. A rule that cannot be
// converted is left out (the conversion fails closed: an allow is dropped)
// and reported in the error, beside the policy.
func NetworkPolicy(np *networkingv1.NetworkPolicy) (*api.NetworkPolicy, error) {
	p, err := k8sconv.Convert(np)
	if p == nil {
		return nil, err
	}
	p.ObjectMeta = meta(NetworkPolicyPrefix+np.Name, np.Namespace, Source("NetworkPolicy", np))
	api.SetTypeMeta(p)
	return p, err
}

// NamespaceProfile mirrors a Namespace as Profile kns.<ns>: allow both ways,
// with the labels the policy model gives a namespace's profile (prefixed
// pcns., and pcns.projectcalico.org/name).
func NamespaceProfile(ns *corev1.Namespace) *api.Profile {
	labels := policy.NamespaceProfile(ns.Name, ns.Labels).Labels
	p := &api.Profile{ObjectMeta: meta("kns."+ns.Name, "", Source("Namespace", ns)),
		Spec: api.ProfileSpec{Ingress: []api.Rule{{Action: api.Allow}}, Egress: []api.Rule{{Action: api.Allow}},
			LabelsToApply: labels}}
	api.SetTypeMeta(p)
	return p
}

// ServiceAccountProfile mirrors a ServiceAccount as Profile ksa.<ns>.<sa>:
// no rules, with the labels the policy model gives a service account's
// profile (prefixed pcsa., and pcsa.projectcalico.org/name).
func ServiceAccountProfile(sa *corev1.ServiceAccount) *api.Profile {
	labels := policy.ServiceAccountProfile(sa.Namespace, sa.Name, sa.Labels).Labels
	p := &api.Profile{ObjectMeta: meta("ksa."+sa.Namespace+"."+sa.Name, "", Source("ServiceAccount", sa)),
		Spec: api.ProfileSpec{LabelsToApply: labels}}
	api.SetTypeMeta(p)
	return p
}

// WorkloadEndpointName is libcalico-go's name: <node>-k8s-<pod>-<endpoint>
// with every '-' inside a part doubled.
func WorkloadEndpointName(node, pod, endpoint string) string {
	esc := func(s string) string { return strings.ReplaceAll(s, "-", "--") }
	return esc(node) + "-k8s-" + esc(pod) + "-" + esc(endpoint)
}

// InterfaceName is the host-side interface Calico's convention gives a
// pod: the prefix and the first 11 hex digits of SHA-1("<namespace>.<pod>").
func InterfaceName(prefix, namespace, pod string) string {
	return policy.InterfaceName(prefix, namespace, pod)
}

// Finished reports whether a pod's containers are done: its addresses are
// free for another pod.
func Finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// Endpoint mirrors a scheduled, non-host-networked pod as a
// WorkloadEndpoint (nil otherwise). Its addresses come from status.podIPs
// (status.podIP as a fallback) and are empty once the pod is finished;
// its interface follows the naming convention with the first of the
// configured prefixes.
func Endpoint(p *corev1.Pod, prefix string) *api.WorkloadEndpoint {
	if p.Spec.HostNetwork || p.Spec.NodeName == "" {
		return nil
	}
	if prefix == "" {
		prefix = DefaultInterfacePrefix
	}
	sa := policy.PodServiceAccount(p)
	labels := map[string]string{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	labels[api.LabelNamespace] = p.Namespace
	labels[api.LabelOrchestrator] = "k8s"
	labels["projectcalico.org/serviceaccount"] = sa
	w := &api.WorkloadEndpoint{
		ObjectMeta: meta(WorkloadEndpointName(p.Spec.NodeName, p.Name, "eth0"), p.Namespace, Source("Pod", p)),
		Spec: api.WorkloadEndpointSpec{Orchestrator: "k8s", Node: p.Spec.NodeName, Pod: p.Name, Endpoint: "eth0",
			ServiceAccountName: sa, Profiles: []string{"kns." + p.Namespace, "ksa." + p.Namespace + "." + sa},
			InterfaceName: InterfaceName(prefix, p.Namespace, p.Name)},
	}
	w.Labels = labels
	if !Finished(p) {
		w.Spec.IPNetworks = podNetworks(p)
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "" {
				continue
			}
			proto := string(cp.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			w.Spec.Ports = append(w.Spec.Ports, api.WorkloadEndpointPort{Name: cp.Name,
				Protocol: api.ProtocolFromString(proto), Port: uint16(cp.ContainerPort)})
		}
	}
	api.SetTypeMeta(w)
	return w
}

func podNetworks(p *corev1.Pod) []string {
	var ips []string
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && p.Status.PodIP != "" {
		ips = append(ips, p.Status.PodIP)
	}
	var out []string
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		a = a.Unmap()
		if n := netip.PrefixFrom(a, a.BitLen()).String(); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// NodeLabels merges a Kubernetes Node's labels into a Calico Node (nil:
// a new one): labels that came from Kubernetes before (the
// KubeLabelsAnnotation) and are gone are removed, the Kubernetes labels
// are set, labels users set on the Calico Node survive. It returns the
// updated copy and whether anything changed.
func NodeLabels(existing *api.Node, k *corev1.Node) (*api.Node, bool) {
	out := &api.Node{}
	if existing != nil {
		b, _ := json.Marshal(existing)
		_ = json.Unmarshal(b, out)
	} else {
		out.Name = k.Name
		api.SetTypeMeta(out)
	}
	var before map[string]string
	if out.Annotations != nil {
		_ = json.Unmarshal([]byte(out.Annotations[KubeLabelsAnnotation]), &before)
	}
	labels := map[string]string{}
	for k, v := range out.Labels {
		if _, fromKube := before[k]; !fromKube {
			labels[k] = v
		}
	}
	for k, v := range k.Labels {
		labels[k] = v
	}
	kube, _ := json.Marshal(k.Labels)
	if k.Labels == nil {
		kube = []byte("{}")
	}
	changed := existing == nil || !maps.Equal(labels, out.Labels) || out.Annotations[KubeLabelsAnnotation] != string(kube)
	out.Labels = labels
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[KubeLabelsAnnotation] = string(kube)
	out.Annotations[SourceAnnotation] = Source("Node", k)
	return out, changed
}

// EndpointSlice mirrors an EndpointSlice for explain's NodePort view: its
// endpoints and ports, without cluster-managed metadata.
func EndpointSlice(es *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := &discoveryv1.EndpointSlice{ObjectMeta: meta(es.Name, es.Namespace, Source("EndpointSlice", es)),
		AddressType: es.AddressType}
	out.Labels = es.Labels
	for _, ep := range es.Endpoints {
		out.Endpoints = append(out.Endpoints, discoveryv1.Endpoint{Addresses: ep.Addresses,
			Conditions: *ep.Conditions.DeepCopy(), NodeName: ep.NodeName, TargetRef: ep.TargetRef.DeepCopy()})
	}
	for _, p := range es.Ports {
		out.Ports = append(out.Ports, *p.DeepCopy())
	}
	api.SetTypeMeta(out)
	return out
}

// NodePortType reports whether a Service has node ports (NodePort or
// LoadBalancer): the Services whose EndpointSlices explain needs.
func NodePortType(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// Service mirrors a Service for explain's NodePort view: its spec, without
// status and cluster-managed metadata.
func Service(s *corev1.Service) *corev1.Service {
	out := &corev1.Service{ObjectMeta: meta(s.Name, s.Namespace, Source("Service", s)), Spec: *s.Spec.DeepCopy()}
	out.Labels = s.Labels
	api.SetTypeMeta(out)
	return out
}
