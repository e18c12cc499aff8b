package calc

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/palisade-net/palisade/policy"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestPodFactsSame: the engine keeps a pod's derived workload, not the pod;
// an update repeats what it has when resource version and uid are the same,
// or (without a resource version) when the workload is. The pods are on
// n1: an engine for n1 keeps their label maps, one for n2 only their
// packed labels, and both must tell a new label.
func TestPodFactsSame(t *testing.T) {
	pod := func(rv, uid, app, ip string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app", ResourceVersion: rv, UID: types.UID(uid),
			Labels: map[string]string{"app": app}}, Spec: corev1.PodSpec{NodeName: "n1"},
			Status: corev1.PodStatus{PodIP: ip}}
	}
	for _, tc := range []struct {
		name string
		a, b *corev1.Pod
		same bool
	}{
		{"same version", pod("7", "1", "web", "198.18.1.10"), pod("7", "1", "db", "198.18.1.11"), true},
		{"new version", pod("7", "1", "web", "198.18.1.10"), pod("8", "1", "web", "198.18.1.10"), false},
		{"recreated", pod("7", "1", "web", "198.18.1.10"), pod("7", "2", "web", "198.18.1.10"), false},
		{"no version, same workload", pod("", "1", "web", "198.18.1.10"), pod("", "1", "web", "198.18.1.10"), true},
		{"no version, new label", pod("", "1", "web", "198.18.1.10"), pod("", "1", "db", "198.18.1.10"), false},
		{"no version, new address", pod("", "1", "web", "198.18.1.10"), pod("", "1", "web", "198.18.1.11"), false},
	} {
		for _, node := range []string{"n1", "n2"} {
			e := NewEngine(node)
			fa, _ := e.factsOf(tc.a)
			fb, _ := e.factsOf(tc.b)
			if got := fa.same(fb); got != tc.same {
				t.Errorf("%s, engine for %s: same = %v, want %v", tc.name, node, got, tc.same)
			}
		}
	}
	host := pod("", "1", "web", "")
	host.Spec.HostNetwork = true
	if f, d := NewEngine("n1").factsOf(host); f.workload() || d != nil {
		t.Errorf("a host-networked pod has a workload: %+v", f)
	}
	// A remote pod keeps no derived workload, and makes one again equal
	// to what DerivePod gave (labels packed and unpacked).
	p := pod("", "1", "web", "198.18.1.10")
	p.Spec.Containers = []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}}}
	p.Status.PodIPs = []corev1.PodIP{{IP: "198.18.1.10"}, {IP: "fd00::10"}}
	local, _ := NewEngine("n1").factsOf(p)
	remote, fresh := NewEngine("n2").factsOf(p)
	if local.local() == nil || local.local().Own == nil || remote.local() != nil || !remote.workload() {
		t.Fatalf("workloads kept: local %v, remote %v (want only the local one)", local.local(), remote.local())
	}
	if local.own != remote.own || local.own.toMap()["app"] != "web" {
		t.Errorf("packed labels: local %q, remote %q", local.own.s, remote.own.s)
	}
	want, _ := policy.DerivePod(p)
	// Profiles are bound by Resolve (DerivePod's are label-less stand-ins).
	opts := cmp.Options{cmp.AllowUnexported(policy.Derived{}), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
		cmpopts.IgnoreFields(policy.Workload{}, "Profiles")}
	if diff := cmp.Diff(want, remote.derive("pod/app/web"), opts); diff != "" {
		t.Errorf("remote pod made again (-DerivePod +derive):\n%s", diff)
	}
	// factsOf reads a remote pod without DerivePod: what installing its
	// endpoint reads (node, profiles) is DerivePod's, as are the facts;
	// the workload it returns is only the remotePod marker.
	if remote.node.Value() != want.Workload.Node || !cmp.Equal(remote.parentsOf(), want.Parents) || fresh != remotePod {
		t.Errorf("factsOf: node %q, parents %v, workload %p; DerivePod's %q, %v", remote.node.Value(), remote.parentsOf(), fresh,
			want.Workload.Node, want.Parents)
	}
	if diff := cmp.Diff(want.Prefixes(), remote.addrs().appendTo(nil), opts); diff != "" {
		t.Errorf("remote pod's addresses (-DerivePod +facts):\n%s", diff)
	}
	if _, d := NewEngine("n1").factsOf(p); !cmp.Equal(want, d, opts) {
		t.Errorf("a local pod's workload is not DerivePod's: %s", cmp.Diff(want, d, opts))
	}
}

// TestRemotePodLabels: a remote pod's labels are packed straight from the
// pod as DerivePod derives its own labels, reserved keys and the profiles'
// prefixes included.
func TestRemotePodLabels(t *testing.T) {
	for _, labels := range []map[string]string{
		nil,
		{"app": "web"},
		{"projectcalico.org/namespace": "other", "projectcalico.org/serviceaccount": "x", "projectcalico.org/orchestrator": "y"},
		{"pcns.team": "a", "pcsa.role": "b", "pcnsx": "c", "tier": "db", "": "empty key"},
	} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: labels},
			Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa1"}}
		want, _ := policy.DerivePod(p)
		f, _ := NewEngine("n2").factsOf(p)
		if !f.own.equalMap(want.Own) {
			t.Errorf("labels %v: packed %v, DerivePod's own %v", labels, f.own.toMap(), want.Own)
		}
	}
}

// TestVersionSame: the engine keeps of other objects their resource
// version and uid, and the object only when it has no resource version.
func TestVersionSame(t *testing.T) {
	ns := func(rv, uid, team string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app", ResourceVersion: rv, UID: types.UID(uid),
			Labels: map[string]string{"team": team}}}
	}
	for _, tc := range []struct {
		name string
		a, b *corev1.Namespace
		same bool
	}{
		{"same version", ns("7", "1", "a"), ns("7", "1", "b"), true},
		{"new version", ns("7", "1", "a"), ns("8", "1", "a"), false},
		{"recreated", ns("7", "1", "a"), ns("7", "2", "a"), false},
		{"version dropped", ns("7", "1", "a"), ns("", "1", "a"), false},
		{"no version, same content", ns("", "1", "a"), ns("", "1", "a"), true},
		{"no version, new label", ns("", "1", "a"), ns("", "1", "b"), false},
	} {
		v := versionOf(tc.a)
		if got := v.same(tc.b); got != tc.same {
			t.Errorf("%s: same = %v, want %v", tc.name, got, tc.same)
		}
		if (v.obj != nil) != (tc.a.ResourceVersion == "") {
			t.Errorf("%s: object kept %v with resource version %q", tc.name, v.obj != nil, tc.a.ResourceVersion)
		}
	}
}
