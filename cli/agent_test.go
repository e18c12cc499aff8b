package cli

import (
	"bytes"
	"github.com/palisade-net/palisade/agent"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseNodeLabels(t *testing.T) {
	got, err := parseNodeLabels(" rack=r1, zone = a ,empty=,")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"rack": "r1", "zone": "a", "empty": ""}, got); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	for _, bad := range []string{"rack", "=v", "a=b,c"} {
		if _, err := parseNodeLabels(bad); err == nil {
			t.Errorf("parseNodeLabels(%q) accepted", bad)
		}
	}
}

func TestAgentConfigDefaultsToHostname(t *testing.T) {
	f := &agentFlags{nodeLabels: "rack=r1"}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := os.Hostname()
	if cfg.Node != strings.ToLower(h) || cfg.NodeLabels["rack"] != "r1" {
		t.Errorf("config = node %q labels %v", cfg.Node, cfg.NodeLabels)
	}
}

func TestAgentHelpListsFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run([]string{"agent", "--help"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, flag := range []string{"--node ", "--node-labels", "--health-listen", "--cleanup", "--etcd-endpoints", "--config"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("agent --help lacks %s", flag)
		}
	}
}

func TestAgentRejectsBadLabels(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run([]string{"agent", "--node", "n1", "--node-labels", "nokey", "--etcd-endpoints", "http://127.0.0.1:1"},
		nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--node-labels") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

// --cleanup refuses while an agent holds this network namespace's lock
// (it never reaches the kernel then).
func TestCleanupRefusedWhileAgentRuns(t *testing.T) {
	old := agent.LockDir
	agent.LockDir = t.TempDir()
	t.Cleanup(func() { agent.LockDir = old })
	release, err := agent.LockNamespace()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	wantContains(t, "", 1, "", "refusing --cleanup: an agent is running in this network namespace (pid ", "agent", "--cleanup")
}
