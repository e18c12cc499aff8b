package policy_test

import (
	"strings"
	"testing"
)

// One test per rule of how Calico builds the labels a selector sees
// (serviceAccountSelector, serviceAccounts, reserved prefixes, profile
// names, stored workload labels, long service account names).

const nodeAHEP = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node-a-eth0, labels: {role: node}}
spec: {node: node-a, interfaceName: eth0, expectedIPs: [198.19.0.1], profiles: [projectcalico-default-allow]}`

func denyAllGNP(name, extra string) string {
	return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " + name + "}\n" +
		"spec:\n  types: [Ingress]\n" + extra
}

// Rule 1: on a GlobalNetworkPolicy every all() of the combined selector,
// the policy's own included, becomes has(projectcalico.org/serviceaccount);
// an empty selector is not all().
func TestGNPServiceAccountSelectorRewritesAll(t *testing.T) {
	explicit := model(t, topology, nodeAHEP, denyAllGNP("p", "  selector: all()\n  serviceAccountSelector: '!has(role)'\n"))
	checkFlows(t, explicit, []flowCase{
		{"198.19.15.254", "node:node-a", "8080/TCP", "allow", false, false}, // the host endpoint has no service account
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
	})
	empty := model(t, topology, nodeAHEP, denyAllGNP("p", "  serviceAccountSelector: '!has(role)'\n"))
	checkFlows(t, empty, []flowCase{
		{"198.19.15.254", "node:node-a", "8080/TCP", "deny", false, false}, // !has(pcsa.role) holds for it
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
	})
}

// Rule 1, namespaced: the service account selector is appended and nothing
// is rewritten, so all() selects a workload without a service account.
func TestNPServiceAccountSelectorNotRewritten(t *testing.T) {
	m := model(t, topology, `
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node--b-k8s-nosa-eth0, namespace: app}
spec: {node: node-b, orchestrator: k8s, pod: nosa, endpoint: eth0, interfaceName: calinosa, ipNetworks: [198.18.2.9/32], profiles: [kns.app]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: p, namespace: app}
spec: {selector: all(), serviceAccountSelector: all(), types: [Ingress]}`)
	checkFlows(t, m, []flowCase{
		{"other/client", "198.18.2.9", "80/TCP", "deny", false, false},
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
	})
}

// Rule 2: a rule's serviceAccounts.selector keeps all(), and like any rule
// selector it matches network sets.
func TestRuleServiceAccountSelectorMatchesNetworkSets(t *testing.T) {
	m := model(t, topology, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: partners, labels: {kind: partner}}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p}
spec:
  selector: app == 'web'
  ingress:
  - {action: Deny, source: {serviceAccounts: {selector: all()}}}
  - {action: Allow}`)
	checkFlows(t, m, []flowCase{
		{"198.51.100.7", "app/web", "8080/TCP", "deny", false, false},
		{"198.19.15.254", "app/web", "8080/TCP", "allow", false, false},
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
	})
}

// Rule 3: a workload's own pcns./pcsa. labels are dropped; rule 4: the
// profiles' name labels come from the object's name, over a label of that
// name.
func TestReservedPrefixesAndProfileNames(t *testing.T) {
	m := model(t, strings.ReplaceAll(topology, "metadata: {name: other}",
		"metadata: {name: other, labels: {projectcalico.org/name: app}}"), `
apiVersion: v1
kind: Pod
metadata: {name: spoof, namespace: other, labels: {pcns.team: blue, pcsa.role: admin}}
spec: {nodeName: node-b, containers: [{name: c, image: x}]}
status: {podIP: 198.18.2.7}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: app, labels: {projectcalico.org/name: admin}}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  selector: app == 'web'
  ingress:
  - {action: Allow, source: {namespaceSelector: team == 'blue'}}
  - {action: Allow, source: {namespaceSelector: projectcalico.org/name == 'app'}}
  - {action: Allow, source: {serviceAccounts: {selector: role == 'admin'}}}
  - {action: Allow, source: {serviceAccounts: {selector: projectcalico.org/name == 'admin'}}}`)
	checkFlows(t, m, []flowCase{
		{"app/db", "app/web", "8080/TCP", "allow", false, false},      // namespace app: team blue
		{"198.18.2.7", "app/web", "8080/TCP", "deny", false, false},   // pcns.team and pcsa.role of its own are dropped
		{"other/client", "app/web", "8080/TCP", "deny", false, false}, // other's label projectcalico.org/name does not rename it
	})
}

// Rule 5: a WorkloadEndpoint's namespace and orchestrator labels come from
// its metadata and spec, over what the user wrote; rule 6: the service
// account label is there whatever the name's length.
func TestStoredWorkloadLabels(t *testing.T) {
	long := strings.Repeat("s", 70)
	m := model(t, topology, `
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node--b-k8s-liar-eth0, namespace: other, labels: {projectcalico.org/namespace: app, projectcalico.org/orchestrator: k8s}}
spec: {node: node-b, orchestrator: cni, pod: liar, endpoint: eth0, interfaceName: caliliar, ipNetworks: [198.18.2.8/32], profiles: [kns.other]}
---
apiVersion: v1
kind: Pod
metadata: {name: longsa, namespace: other}
spec: {nodeName: node-b, serviceAccountName: `+long+`, containers: [{name: c, image: x}]}
status: {podIP: 198.18.2.6}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: all-app, namespace: app}
spec: {selector: all(), types: [Egress]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: app == 'web'
  ingress:
  - {action: Allow, source: {serviceAccounts: {names: [`+long+`]}}}
  - {action: Allow, source: {selector: projectcalico.org/orchestrator == 'cni'}}`)
	checkFlows(t, m, []flowCase{
		{"198.18.2.8", "198.19.15.254", "443/TCP", "allow", false, false}, // not in namespace app: all-app does not select it
		{"198.18.2.8", "app/web", "8080/TCP", "allow", false, false},      // orchestrator cni, from the spec
		{"198.18.2.6", "app/web", "8080/TCP", "allow", false, false},      // a 70-character service account name matches
		{"other/client", "app/web", "8080/TCP", "deny", false, false},
	})
}
