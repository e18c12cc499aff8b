package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
)

// modelProblems builds a model that is expected to have problems, and
// checks that each wanted text appears among them.
func modelProblems(t *testing.T, want []string, extra []api.Object, manifests ...string) *policy.Model {
	t.Helper()
	var objs []api.Object
	for i, m := range manifests {
		docs, errs := api.Decode("case", []byte(m))
		for _, e := range errs {
			t.Fatalf("manifest %d: %v", i, e)
		}
		for _, d := range docs {
			objs = append(objs, d.Object)
		}
	}
	m, err := policy.NewModel(append(objs, extra...))
	var be *policy.BuildError
	if !errors.As(err, &be) {
		t.Fatalf("NewModel: want problems, got %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("problems %q lack %q", err, w)
		}
	}
	return m
}

// A host endpoint naming a profile that does not exist is kept and denies
// (failsafes still open); before, it was dropped and the host was open.
func TestFailClosedHostEndpointMissingProfile(t *testing.T) {
	hep := `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-a-eth0}
spec: {node: node-a, interfaceName: eth0, expectedIPs: [198.19.0.1], profiles: [projectcalico-default-alow]}`
	m := modelProblems(t, []string{`HostEndpoint(node-a-eth0): spec.profiles: profile "projectcalico-default-alow" does not exist`}, nil, topology, hep)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "node:node-a", "8080/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "22/TCP", "allow", false, false},
		{"node:node-a", "198.19.15.254", "443/TCP", "deny", false, false},
		{"node:node-a", "198.19.15.254", "2379/TCP", "allow", false, false},
		// Established traffic keeps flowing (conntrack comes first).
		{"198.19.15.254", "node:node-a", "8080/TCP", "allow", true, false},
		// Its expected address is quarantined: node-b's pods may not reach it...
		{"app/db", "198.19.0.1", "8080/TCP", "deny", false, false},
		// ...but node-b's own traffic has no endpoint to police it.
		{"node:node-b", "app/db", "5432/TCP", "allow", false, false},
	})
}

// A workload endpoint naming a missing profile denies its own traffic, and
// its address is denied as a peer everywhere (its labels are incomplete).
func TestFailClosedWorkloadEndpointMissingProfile(t *testing.T) {
	wep := `
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node--b-k8s-orphan-eth0, namespace: app, labels: {app: orphan}}
spec: {node: node-b, orchestrator: k8s, pod: orphan, endpoint: eth0, interfaceName: cali0orphan,
  ipNetworks: [198.18.2.9/32], profiles: [kns.app, ksa.app.nosuch]}`
	m := modelProblems(t, []string{`profile "ksa.app.nosuch" does not exist`}, nil, topology, wep)
	checkFlows(t, m, []flowCase{
		{"198.18.2.9", "app/db", "5432/TCP", "deny", false, false},
		{"app/db", "198.18.2.9", "80/TCP", "deny", false, false},
		{"app/web", "198.18.2.9", "80/TCP", "deny", false, false},
		{"198.18.2.9", "app/web", "8080/TCP", "deny", false, false},
		// Everyone else is untouched.
		{"app/web", "app/db", "5432/TCP", "allow", false, false},
		{"other/client", "app/web", "8080/TCP", "allow", false, false},
	})
	if got := m.Quarantined(); len(got) != 1 || got[0].String() != "198.18.2.9/32" {
		t.Errorf("quarantine = %v", got)
	}
}

// A policy whose tier does not exist denies what it selects, whatever its
// rules say, in a fail-closed tier before every real one.
func TestFailClosedPolicyInMissingTier(t *testing.T) {
	gnp := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.allow-web}
spec:
  tier: security
  selector: app == 'web'
  ingress: [{action: Allow}]
  egress: [{action: Allow}]`
	m := modelProblems(t, []string{`spec.tier: tier "security" does not exist`}, nil, topology, gnp)
	checkFlows(t, m, []flowCase{
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
		{"app/web", "app/db", "5432/TCP", "deny", false, false},
		{"other/client", "app/db", "5432/TCP", "allow", false, false},
	})
	// With the tier, the policy applies as written.
	tier := `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 10}`
	m = model(t, topology, gnp, tier)
	checkFlows(t, m, []flowCase{
		{"other/client", "app/web", "8080/TCP", "allow", false, false},
	})
}

// A policy whose stored value cannot be read denies everything its kind
// could select; a namespaced one only in its namespace.
func TestFailClosedUnreadablePolicies(t *testing.T) {
	gnp := api.NewUnreadable(api.KindGlobalNetworkPolicy, "", "deny-db", "invalid character '}'")
	m := modelProblems(t, []string{`GlobalNetworkPolicy(deny-db): stored value cannot be read (invalid character '}'): enforced as deny-all`},
		[]api.Object{gnp}, topology, autoHEPs)
	checkFlows(t, m, []flowCase{
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "8080/TCP", "deny", false, false},
		{"198.19.15.254", "node:node-a", "22/TCP", "allow", false, false},
	})
	knp := api.NewUnreadable("k8s/NetworkPolicy", "app", "x", "unexpected end of JSON input")
	m = modelProblems(t, []string{"stored value cannot be read"}, []api.Object{knp}, topology)
	checkFlows(t, m, []flowCase{
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
		{"app/web", "other/client", "80/TCP", "deny", false, false},
		{"node:node-a", "other/client", "80/TCP", "allow", false, false},
	})
	// An unreadable profile is a missing one: the endpoints naming it fail closed.
	prof := api.NewUnreadable(api.KindProfile, "", "p1", "bad")
	hep := `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-a-eth0}
spec: {node: node-a, interfaceName: eth0, expectedIPs: [198.19.0.1], profiles: [p1]}`
	m = modelProblems(t, []string{"Profile(p1): stored value cannot be read: bad", `profile "p1" does not exist`},
		[]api.Object{prof}, topology, hep)
	checkFlows(t, m, []flowCase{
		{"198.19.15.254", "node:node-a", "8080/TCP", "deny", false, false},
	})
}
