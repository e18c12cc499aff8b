package convert

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{WorkloadEndpointName("node-a", "web-1", "eth0"), "node--a-k8s-web--1-eth0"},
		{WorkloadEndpointName("n1", "p", "eth0"), "n1-k8s-p-eth0"},
		{InterfaceName("cali", "default", "web"), "cali68caf03a5f4"},
		{InterfaceName("eni", "a", "b")[:3], "eni"},
		{SourceKey("Pod a/b uid=1 rv=7"), "Pod a/b uid=1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if n := InterfaceName("cali", "default", "web"); len(n) != 15 {
		t.Errorf("interface %q is not 15 characters", n)
	}
}

func pod(mod func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-1", UID: "u1", ResourceVersion: "9",
		Labels: map[string]string{"app": "web", api.LabelNamespace: "evil"}},
		Spec: corev1.PodSpec{NodeName: "node-a", ServiceAccountName: "builder",
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "198.18.0.5",
			PodIPs: []corev1.PodIP{{IP: "198.18.0.5"}, {IP: "fd00::5"}}}}
	if mod != nil {
		mod(p)
	}
	return p
}

func TestEndpoint(t *testing.T) {
	w := Endpoint(pod(nil), "eni")
	want := &api.WorkloadEndpoint{
		TypeMeta: metav1.TypeMeta{Kind: api.KindWorkloadEndpoint, APIVersion: api.GroupVersionV3},
		ObjectMeta: metav1.ObjectMeta{Name: "node--a-k8s-web--1-eth0", Namespace: "app",
			Labels: map[string]string{"app": "web", api.LabelNamespace: "app", api.LabelOrchestrator: "k8s",
				"projectcalico.org/serviceaccount": "builder"},
			Annotations: map[string]string{SourceAnnotation: "Pod app/web-1 uid=u1 rv=9"}},
		Spec: api.WorkloadEndpointSpec{Orchestrator: "k8s", Node: "node-a", Pod: "web-1", Endpoint: "eth0",
			ServiceAccountName: "builder", IPNetworks: []string{"198.18.0.5/32", "fd00::5/128"},
			Profiles: []string{"kns.app", "ksa.app.builder"}, InterfaceName: InterfaceName("eni", "app", "web-1"),
			Ports: []api.WorkloadEndpointPort{{Name: "http", Protocol: api.ProtocolFromString("TCP"), Port: 8080}}},
	}
	if d := cmp.Diff(want, w); d != "" {
		t.Errorf("Endpoint (-want +got):\n%s", d)
	}
	for what, p := range map[string]*corev1.Pod{
		"host network": pod(func(p *corev1.Pod) { p.Spec.HostNetwork = true }),
		"unscheduled":  pod(func(p *corev1.Pod) { p.Spec.NodeName = "" }),
	} {
		if Endpoint(p, "") != nil {
			t.Errorf("%s: an endpoint", what)
		}
	}
	done := Endpoint(pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), "")
	if len(done.Spec.IPNetworks) != 0 || !strings.HasPrefix(done.Spec.InterfaceName, "cali") {
		t.Errorf("finished pod: %v %s", done.Spec.IPNetworks, done.Spec.InterfaceName)
	}
	late := Endpoint(pod(func(p *corev1.Pod) { p.Status.PodIPs, p.Status.PodIP = nil, "" }), "")
	if len(late.Spec.IPNetworks) != 0 {
		t.Errorf("pod without IPs yet: %v", late.Spec.IPNetworks)
	}
	if sa := Endpoint(pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "" }), ""); sa.Spec.Profiles[1] != "ksa.app.default" {
		t.Errorf("default service account: %v", sa.Spec.Profiles)
	}
}

func TestProfilesAndPolicy(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app", UID: "n", ResourceVersion: "3",
		Labels: map[string]string{"team": "blue", "projectcalico.org/name": "evil"}}}
	p := NamespaceProfile(ns)
	if p.Name != "kns.app" || p.Spec.LabelsToApply["pcns.team"] != "blue" ||
		p.Spec.LabelsToApply["pcns.projectcalico.org/name"] != "app" || len(p.Spec.Ingress) != 1 || len(p.Spec.Egress) != 1 {
		t.Errorf("namespace profile: %+v", p)
	}
	sa := ServiceAccountProfile(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "builder",
		Labels: map[string]string{"role": "ci"}}})
	if sa.Name != "ksa.app.builder" || sa.Spec.LabelsToApply["pcsa.role"] != "ci" ||
		sa.Spec.LabelsToApply["pcsa.projectcalico.org/name"] != "builder" || len(sa.Spec.Ingress)+len(sa.Spec.Egress) != 0 {
		t.Errorf("service account profile: %+v", sa)
	}
	np, err := NetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "deny", UID: "x"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}})
	if err != nil || np.Name != "knp.default.deny" || np.Namespace != "app" || np.Annotations[SourceAnnotation] != "NetworkPolicy app/deny uid=x rv=" {
		t.Errorf("policy: %v %+v", err, np.ObjectMeta)
	}
}

func TestNodeLabels(t *testing.T) {
	k := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a", "kubernetes.io/hostname": "n1"}}}
	n, changed := NodeLabels(nil, k)
	if !changed || n.Labels["zone"] != "a" || n.Name != "n1" {
		t.Fatalf("new node: %v %+v", changed, n)
	}
	n.Labels["rack"] = "r1" // set by a user
	if _, changed := NodeLabels(n, k); changed {
		t.Error("nothing changed, but NodeLabels says it did")
	}
	k.Labels = map[string]string{"kubernetes.io/hostname": "n1", "zone": "b"} // zone changed
	n2, changed := NodeLabels(n, k)
	if !changed || n2.Labels["zone"] != "b" || n2.Labels["rack"] != "r1" {
		t.Errorf("after a change: %v %v", changed, n2.Labels)
	}
	delete(k.Labels, "zone") // removed in Kubernetes: removed here too, the user's label stays
	n3, _ := NodeLabels(n2, k)
	if _, ok := n3.Labels["zone"]; ok || n3.Labels["rack"] != "r1" {
		t.Errorf("after a removal: %v", n3.Labels)
	}
}
