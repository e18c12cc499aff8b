package gen

import (
	"fmt"
	"math/rand/v2"

	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Spec sizes a synthetic cluster.
type Spec struct {
	Seed       uint64
	Namespaces int
	Pods       int
	Policies   int // split between Kubernetes and Calico policies
	Apps       int // distinct app label values
}

// Cluster returns namespaces, pods (addresses in 198.18.0.0/16, and
// 10.0.0.0/8 beyond 64,000 pods: podIP) and
// policies: Kubernetes NetworkPolicies selecting by app and allowing from
// apps, namespaces and ipBlocks on a few ports; Calico NetworkPolicies and
// GlobalNetworkPolicies with selectors, nets and port ranges.
func Cluster(s Spec) []api.Object {
	r := rand.New(rand.NewPCG(s.Seed, 0x9a11))
	if s.Apps == 0 {
		s.Apps = 50
	}
	var out []api.Object
	for i := 0; i < s.Namespaces; i++ {
		out = append(out, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i),
			Labels: map[string]string{"team": fmt.Sprintf("t%d", i%10), "env": []string{"prod", "staging", "dev"}[i%3]}}})
	}
	for i := 0; i < s.Pods; i++ {
		ip := podIP(i)
		out = append(out, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: nsName(i % s.Namespaces),
				Labels: map[string]string{"app": fmt.Sprintf("app-%d", r.IntN(s.Apps)),
					"tier": []string{"web", "api", "db", "cache"}[r.IntN(4)]}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
		})
	}
	for i := 0; i < s.Policies; i++ {
		ns := nsName(r.IntN(s.Namespaces))
		switch i % 3 {
		case 0, 1:
			out = append(out, k8sPolicy(r, i, ns, s.Apps))
		default:
			out = append(out, calicoPolicy(r, i, ns, s.Apps))
		}
	}
	return out
}

// podIP is pod i's address: in 198.18.0.0/16 for the first 64,000 pods,
// then in 10.0.0.0/8 (benchmarks of a quarter million pods never put them
// in a network namespace).
func podIP(i int) string {
	if i < 64_000 {
		return fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
	}
	return fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
}

func nsName(i int) string { return fmt.Sprintf("ns-%d", i) }

func k8sPolicy(r *rand.Rand, i int, ns string, apps int) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	port := intstr.FromInt32(int32([]int{80, 443, 8080, 5432}[r.IntN(4)]))
	peer := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"app": fmt.Sprintf("app-%d", r.IntN(apps))}}}
	if r.IntN(3) == 0 {
		peer = networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", r.IntN(10))}}}
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("knp-%d", i), Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%d", r.IntN(apps))}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{peer, {IPBlock: &networkingv1.IPBlock{CIDR: "198.19.0.0/16", Except: []string{"198.19.1.0/24"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
			}},
		},
	}
	if r.IntN(4) == 0 {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}}}}
	}
	return np
}

func calicoPolicy(r *rand.Rand, i int, ns string, apps int) api.Object {
	order := float64(r.IntN(2000))
	rules := []api.Rule{
		{Action: api.Deny, Protocol: ptrProto("TCP"), Source: api.EntityRule{Nets: []string{"198.18.200.0/24"}}},
		{Action: api.Allow, Protocol: ptrProto("TCP"), Source: api.EntityRule{
			Selector: fmt.Sprintf("tier == 'web' && app != 'app-%d'", r.IntN(apps))},
			Destination: api.EntityRule{Ports: []api.Port{api.PortRange(8000, 8100), api.SinglePort(443)}}},
		{Action: api.Allow, Protocol: ptrProto("UDP"), Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(53)}}},
	}
	sel := fmt.Sprintf("app == 'app-%d' && tier in {'api', 'db'}", r.IntN(apps))
	if i%2 == 0 {
		return &api.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gnp-%d", i)},
			Spec: api.GlobalNetworkPolicySpec{Order: &order, Selector: sel, Ingress: rules,
				Types: []api.PolicyType{api.PolicyTypeIngress}}}
	}
	return &api.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("np-%d", i), Namespace: ns},
		Spec: api.NetworkPolicySpec{Order: &order, Selector: sel, Ingress: rules,
			Types: []api.PolicyType{api.PolicyTypeIngress}}}
}

func ptrProto(s string) *api.Protocol {
	p := api.ProtocolFromString(s)
	return &p
}
