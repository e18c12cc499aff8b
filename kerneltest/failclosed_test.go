package kerneltest

import (
	"errors"
	"testing"

	"github.com/palisade-net/palisade/policy"
)

// TestFailClosed: a host endpoint naming a missing profile and a policy in
// a missing tier deny, in the kernel as in the evaluator, while failsafes
// and traffic they do not touch keep working. Before, both were left out
// of the model and the host and the pod were open.
func TestFailClosed(t *testing.T) {
	c := newCluster(t)
	m, err := decodeModel(baseYAML + `
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0}
spec: {node: node1, interfaceName: eth0, expectedIPs: [198.19.0.2, "fd00:19::2"], profiles: [projectcalico-default-alow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.web}
spec:
  tier: security
  selector: app == 'web'
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
`)
	var be *policy.BuildError
	if !errors.As(err, &be) || len(be.Problems) != 2 {
		t.Fatalf("want 2 problems (missing profile, missing tier), got %v", err)
	}
	must(t, c.applyModel(m))
	c.check(t, both(
		deny("ext", "node", "8080/TCP", "unresolved host endpoint"),
		allow("ext", "node", "22/TCP", "failsafe"),
		deny("ext", "app/db", "5432/TCP", "unresolved host endpoint: forward denied"),
		deny("other/client", "app/web", "80/TCP", "policy in a missing tier: deny-all stand-in"),
		deny("app/web", "app/db", "5432/TCP", "policy in a missing tier: web's egress"),
		allow("other/client", "app/db", "5432/TCP", "untouched"),
	)...)
}
