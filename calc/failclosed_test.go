package calc

import (
	"errors"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// renderAllowingProblems renders the engine and the model of objs, which
// may have problems, and requires them to agree.
func renderAllowingProblems(t *testing.T, e *Engine, objs []api.Object) string {
	t.Helper()
	m, err := policy.NewModel(objs)
	var be *policy.BuildError
	if err != nil && !errors.As(err, &be) {
		t.Fatal(err)
	}
	got, want := renderText(e.Source(), e.node), renderText(m, e.node)
	if got != want {
		t.Fatalf("engine and model differ at %s", firstDiff(got, want))
	}
	return got
}

// A running engine that sees a Deny policy become unreadable enforces the
// same as an engine that starts with the unreadable value: the stand-in,
// which denies, never the old version and never nothing.
func TestUnreadablePolicySameRunningAndRestarted(t *testing.T) {
	base := []api.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n0"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}},
		testPod("ns", "a", "n0", "198.18.0.1", map[string]string{"app": "web"}),
	}
	deny := testGNP("deny-db", "app == 'web'", "")
	deny.Spec.Ingress[0].Action = api.Deny
	bad := api.NewUnreadable(api.KindGlobalNetworkPolicy, "", "deny-db", "unexpected end of JSON input")

	running := NewEngine("n0")
	for _, o := range append(base, deny) {
		running.OnUpdate(o)
	}
	running.OnUpdate(bad)
	objs := append(append([]api.Object(nil), base...), bad)
	got := renderAllowingProblems(t, running, objs)

	restarted := NewEngine("n0")
	for _, o := range objs {
		restarted.OnUpdate(o)
	}
	if again := renderAllowingProblems(t, restarted, objs); again != got {
		t.Fatalf("running and restarted engines differ at %s", firstDiff(again, got))
	}
	if !strings.Contains(got, "(unreadable)") || !strings.Contains(got, "drop") {
		t.Errorf("no fail-closed tier in the ruleset:\n%s", got)
	}
	var found bool
	for _, p := range running.Problems() {
		found = found || strings.Contains(p.Error(), "GlobalNetworkPolicy(deny-db): stored value cannot be read")
	}
	if !found {
		t.Errorf("problems = %v", running.Problems())
	}
	// Repairing it brings the policy back.
	running.OnUpdate(deny)
	if fixed := renderAllowingProblems(t, running, append(append([]api.Object(nil), base...), deny)); strings.Contains(fixed, "(unreadable)") {
		t.Error("the stand-in outlived the repair")
	}
}

// Unresolved endpoints and missing tiers, step by step: the engine agrees
// with the model at every step, and the quarantine follows the profile.
func TestFailClosedEngineSteps(t *testing.T) {
	e := NewEngine("n0")
	var objs []api.Object
	set := func(o api.Object) {
		for i, x := range objs {
			if store.KeyOf(x) == store.KeyOf(o) {
				objs = append(objs[:i], objs[i+1:]...)
				break
			}
		}
		objs = append(objs, o)
		e.OnUpdate(o)
	}
	set(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n0"}})
	set(testPod("ns", "a", "n0", "198.18.0.1", map[string]string{"app": "web"}))
	wep := &api.WorkloadEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "n1-k8s-b-eth0"},
		Spec: api.WorkloadEndpointSpec{Node: "n1", Pod: "b", InterfaceName: "calib", IPNetworks: []string{"198.18.1.2/32"},
			Profiles: []string{"team-x"}}}
	set(wep)
	r := renderAllowingProblems(t, e, objs)
	if !strings.Contains(r, "198.18.1.2") {
		t.Errorf("the unresolved remote endpoint is not quarantined:\n%s", r)
	}
	set(&api.Profile{ObjectMeta: metav1.ObjectMeta{Name: "team-x"}})
	if r = renderAllowingProblems(t, e, objs); strings.Contains(r, "198.18.1.2") {
		t.Errorf("quarantine outlived the missing profile:\n%s", r)
	}
	gnp := testGNP("security.p", "app == 'web'", "")
	gnp.Spec.Tier = "security"
	set(gnp)
	if r = renderAllowingProblems(t, e, objs); !strings.Contains(r, "tier-security") {
		t.Errorf("no fail-closed tier for the missing tier:\n%s", r)
	}
	order := 5.0
	set(&api.Tier{ObjectMeta: metav1.ObjectMeta{Name: "security"}, Spec: api.TierSpec{Order: &order}})
	renderAllowingProblems(t, e, objs)
}

// TestUnreadablePodThenReadable: a pod whose stored value cannot be read is
// a problem until a readable value replaces it.
func TestUnreadablePodThenReadable(t *testing.T) {
	e := NewEngine("n0")
	e.OnUpdate(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})
	e.OnUpdate(api.NewUnreadable(string(store.KindK8sPod), "ns", "a", "unexpected end of JSON input"))
	if len(e.Problems()) != 1 {
		t.Fatalf("problems after an unreadable pod: %v", e.Problems())
	}
	e.OnUpdate(testPod("ns", "a", "n0", "198.18.0.1", map[string]string{"app": "web"}))
	if p := e.Problems(); len(p) != 0 {
		t.Fatalf("problems after the pod became readable: %v", p)
	}
}
