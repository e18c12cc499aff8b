package calc

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/policy"
)

// TestPodFactsDeriveTheSame: the engine keeps a pod's facts (podFacts);
// deriving the workload from the pod they rebuild gives what the whole pod
// gives.
func TestPodFactsDeriveTheSame(t *testing.T) {
	full := func(mut func(p *corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app", ResourceVersion: "7", UID: "u",
				Labels: map[string]string{"app": "web", "projectcalico.org/namespace": "spoof"}, Annotations: map[string]string{"a": "b"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
			Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "api", Containers: []corev1.Container{
				{Name: "c", Image: "nginx", Env: []corev1.EnvVar{{Name: "X", Value: "1"}},
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {ContainerPort: 81}, {Name: "dns", Protocol: corev1.ProtocolUDP, ContainerPort: 53}}},
				{Name: "side", Ports: []corev1.ContainerPort{{ContainerPort: 9090}}},
				{Name: "sctp", Ports: []corev1.ContainerPort{{Name: "s", Protocol: corev1.ProtocolSCTP, ContainerPort: 5000}}},
			}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "10.0.0.1", PodIP: "198.18.1.10",
				PodIPs: []corev1.PodIP{{IP: "198.18.1.10"}, {IP: "fd00:18::10"}}, Conditions: []corev1.PodCondition{{Type: corev1.PodReady}}},
		}
		if mut != nil {
			mut(p)
		}
		return p
	}
	for name, p := range map[string]*corev1.Pod{
		"running":          full(nil),
		"default account":  full(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "" }),
		"host network":     full(func(p *corev1.Pod) { p.Spec.HostNetwork = true }),
		"no address yet":   full(func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "", nil }),
		"not scheduled":    full(func(p *corev1.Pod) { p.Spec.NodeName = "" }),
		"no named port":    full(func(p *corev1.Pod) { p.Spec.Containers = []corev1.Container{{Name: "c"}} }),
		"PodIP not in IPs": full(func(p *corev1.Pod) { p.Status.PodIPs = nil }),
	} {
		want, wok := policy.DerivePod(p)
		got, gok := policy.DerivePod(factsOf(p).pod())
		if wok != gok {
			t.Errorf("%s: derived %v from the pod, %v from its facts", name, wok, gok)
			continue
		}
		if d := cmp.Diff(want, got, cmp.AllowUnexported(policy.Derived{}), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); d != "" {
			t.Errorf("%s: (-pod +facts):\n%s", name, d)
		}
	}
}
