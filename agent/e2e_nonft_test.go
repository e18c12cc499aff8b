package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgentWithoutNft: `palisade agent` with no nft binary to be found
// (PATH holds an empty directory) enforces the node's policy, follows a
// policy change, restores its table after someone deletes it, and says
// in its metrics that it wrote over netlink.
func TestAgentWithoutNft(t *testing.T) {
	e := newE2E(t)
	e.apply(t, e2eManifests(80))
	var env []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	empty := t.TempDir()
	env = append(env, "PATH="+empty)
	if _, err := os.Stat(filepath.Join(empty, "nft")); err == nil {
		t.Fatal("the empty PATH directory holds nft")
	}
	args := []string{"agent", "--node", e2eNode, "--etcd-endpoints", e.endpoint, "--node-labels", "rack=r1",
		"--probe-interval", "200ms", "--log-level", "debug", "--state-file", filepath.Join(e.dir, "ruleset.state")}
	e.agent = startInEnv(t, e.node, env, "palisade agent (no nft)", args...)
	e.ready(t, 30*time.Second)
	expect(t,
		check{e.ext, e2eNodeA, 22, true, "tcp:22 is an inbound failsafe"},
		check{e.ext, e2eNodeA, 21, false, "named HEP, no policy allows 21"},
		check{e.ext, e2eNodeA, 80, true, "policy from-ext"},
		check{e.ext, e2eNode6, 21, false, "IPv6 default deny"},
		check{e.ext, e2ePodA, 80, true, "forwarded to the pod"},
	)
	changePolicy(t, e)

	// Someone deletes the table: the agent notices and writes it again.
	_, err := e.node.Run(context.Background(), nil, "nft", "delete", "table", "inet", "palisade")
	must(t, err)
	eventually(t, 5*time.Second, func() error {
		if probe(e.ext, e2eNodeA, 21, 300*time.Millisecond) == nil {
			return fmt.Errorf("port 21 answers: the table is not back")
		}
		return nil
	})
	expect(t, check{e.ext, e2eNodeA, 8080, true, "the restored table allows the policy's port"})

	_, body, err := e.get("/metrics")
	must(t, err)
	for _, want := range []string{"palisade_agent_drift_repairs_total 1", "felix_int_dataplane_failures 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(body, "palisade_nft_netlink_applies_total") || strings.Contains(body, "palisade_nft_netlink_applies_total 0\n") {
		t.Errorf("/metrics does not count netlink transactions")
	}
	if strings.Contains(e.agent.log(), "executable file not found") {
		t.Errorf("the agent looked for nft:\n%s", e.agent.log())
	}
}
