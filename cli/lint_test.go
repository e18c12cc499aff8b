package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLint: findings name their file and line; warnings alone exit 0
// (1 with --strict); an error exits 1.
func TestLint(t *testing.T) {
	dir := t.TempDir()
	warn := filepath.Join(dir, "warn.yaml")
	if err := os.WriteFile(warn, []byte(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: nothing}
spec: {selector: app == 'db', ingress: [{action: Allow}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	want(t, "", 0, warn+":1: warning: GlobalNetworkPolicy(nothing): selects no endpoint (selector app == \"db\")\n"+
		warn+":1: warning: GlobalNetworkPolicy(nothing) selector: selects on label \"app\", which no endpoint, network set or namespace has\n"+
		"0 error(s), 2 warning(s)\n", "", "lint", "-f", warn)
	wantContains(t, "", 1, "2 warning(s)", "", "lint", "-f", warn, "--strict")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {failsafeInboundHostPorts: []}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h, labels: {role: node}}
spec: {node: n1, interfaceName: eth0}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: https}
spec: {selector: role == 'node', ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantContains(t, "", 1, bad+":6: error: HostEndpoint(h): has ingress policy", "", "lint", "-f", bad)
}
