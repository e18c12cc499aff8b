package cli

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/policy"
)

const guardCluster = `
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {interfaces: [{name: eth0, addresses: [198.19.0.2]}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [198.19.0.2]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: node-access}
spec:
  selector: role == 'node'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [22, 443]}}]
`

// TestLockoutGuard: with failsafes off, a change that would deny the SSH
// session the command runs in is refused with the policy that cuts it;
// --force writes it anyway; a change that keeps SSH passes.
func TestLockoutGuard(t *testing.T) {
	st := newMemory(t)
	put(t, st, `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: default}
spec: {order: 1000000, defaultAction: Deny}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {failsafeInboundHostPorts: []}
`)
	put(t, st, guardCluster)
	env := map[string]string{"SSH_CONNECTION": "198.19.15.254 50022 198.19.0.2 22", "ETCD_ENDPOINTS": "unix:///run/test.sock"}
	getenv = func(k string) string { return env[k] }
	only443 := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: node-access}
spec:
  selector: role == 'node'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]
`
	wantContains(t, only443, 1, "", "refusing the change: it would cut the SSH session this command runs in "+
		"(198.19.15.254 -> 198.19.0.2 22/TCP: denied at n1", "apply", "-f", "-")
	wantContains(t, "", 1, "", "refusing the change: it would cut the SSH session", "delete", "gnp", "node-access")
	keeps := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: node-access}
spec:
  selector: role == 'node'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [22]}}]
`
	want(t, keeps, 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	want(t, only443, 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-", "--force")
}

// TestGuardPaths: the datastore endpoints the command uses (not loopback,
// not unix sockets) give its own path and every node's; $SSH_CONNECTION
// gives the session's.
func TestGuardPaths(t *testing.T) {
	old, oldEnv := localAddrFor, getenv
	localAddrFor = func(netip.AddrPort) (netip.Addr, bool) { return netip.MustParseAddr("198.19.15.254"), true }
	getenv = func(k string) string {
		if k == "SSH_CONNECTION" {
			return "198.19.15.253 40000 198.19.0.1 22"
		}
		return ""
	}
	t.Cleanup(func() { localAddrFor, getenv = old, oldEnv })
	got := guardPaths([]string{"http://198.19.0.1:2379", "http://127.0.0.1:2379", "unix:///run/etcd.sock"},
		[]*policy.Node{{Name: "n1"}})
	want := []guardedPath{
		{"this command's connection to the datastore", "198.19.15.254", "198.19.0.1", "2379/TCP"},
		{"the SSH session this command runs in", "198.19.15.253", "198.19.0.1", "22/TCP"},
		{"node n1's agent's path to the datastore", "node:n1", "198.19.0.1", "2379/TCP"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(guardedPath{})); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}
