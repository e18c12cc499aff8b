package agent

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestConfirmWithinRestoresPath cuts, with a commit-confirmed change, the
// path an administrator uses (ext to the node's port 80), sees the packets
// stop, leaves the change unconfirmed, and sees the elected server roll it
// back and the agent restore the path in the kernel, with no one having to
// reach the node.
func TestConfirmWithinRestoresPath(t *testing.T) {
	e := newE2E(t)
	e.apply(t, e2eManifests(80))
	e.startAgent(t)
	e.ready(t, 30*time.Second)
	expect(t, check{e.ext, e2eNodeA, 80, true, "from-ext allows the administrator's port"})

	cut := e2eManifests(8080) + `
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: cut-admin}
spec:
  order: 1
  selector: role == 'node'
  ingress:
  - {action: Deny, protocol: TCP, destination: {ports: [80]}}
`
	f, err := os.CreateTemp(e.dir, "cut-*.yaml")
	must(t, err)
	_, err = f.WriteString(cut)
	must(t, err)
	must(t, f.Close())
	out, err := e.cli("apply", "-f", f.Name(), "--confirm-within", "3s")
	if err != nil || !strings.Contains(out, "palisade confirm") {
		t.Fatalf("apply --confirm-within: %v\n%s", err, out)
	}
	start := time.Now()
	eventually(t, 5*time.Second, func() error {
		if probe(e.ext, e2eNodeA, 80, 200*time.Millisecond) == nil {
			return fmt.Errorf("the path is not cut yet")
		}
		return nil
	})
	cutAt := time.Since(start)
	if pending, err := e.cli("changes"); err != nil || !strings.Contains(pending, "apply") {
		t.Errorf("palisade changes does not list the pending change: %v\n%s", err, pending)
	}
	eventually(t, 10*time.Second, func() error {
		return probe(e.ext, e2eNodeA, 80, 200*time.Millisecond)
	})
	t.Logf("path cut %v after the apply, restored %v after it (deadline 3s, the server checks every second)",
		cutAt.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if time.Since(start) < 3*time.Second {
		t.Errorf("restored before the deadline (%v)", time.Since(start))
	}
	out, err = e.cli("get", "globalnetworkpolicy", "-o", "name")
	if err != nil || strings.Contains(out, "cut-admin") {
		t.Errorf("cut-admin is still in the datastore after the rollback: %v\n%s", err, out)
	}
	expect(t, check{e.ext, e2eNodeA, 8080, false, "from-ext is back to port 80 only"})
	if pending, err := e.cli("changes"); err != nil || strings.Contains(pending, "apply") {
		t.Errorf("the change is still pending after its rollback: %v\n%s", err, pending)
	}
}
