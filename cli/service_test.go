package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstallService(t *testing.T) {
	dir := t.TempDir()
	wantContains(t, "", 0, "palisade-agent.service", "", "install-service", "agent", "--unit-dir", dir,
		"--executable", "/usr/local/bin/palisade", "--", "--node", "node 1", "--etcd-endpoints", "https://10.0.0.1:2379")
	data, err := os.ReadFile(filepath.Join(dir, "palisade-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=60", "AmbientCapabilities=CAP_NET_ADMIN",
		`ExecStart=/usr/local/bin/palisade agent --node "node 1" --etcd-endpoints https://10.0.0.1:2379`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the agent's unit lacks %q:\n%s", want, data)
		}
	}
	wantContains(t, "", 0, "palisade-server.service", "", "install-service", "server", "--unit-dir", dir)
	if data, _ := os.ReadFile(filepath.Join(dir, "palisade-server.service")); !strings.Contains(string(data), "Type=notify") ||
		strings.Contains(string(data), "CAP_NET_ADMIN") {
		t.Errorf("the server's unit:\n%s", data)
	}
	wantContains(t, "", 1, "", "want server or agent", "install-service", "controller", "--unit-dir", dir)

	// systemd's own check, where systemd is installed (units naming a binary that exists).
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: the units' syntax is not checked by systemd")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"agent", "server"} {
		wantContains(t, "", 0, "wrote", "", "install-service", name, "--unit-dir", dir, "--executable", exe)
		out, err := exec.Command(analyze, "verify", filepath.Join(dir, "palisade-"+name+".service")).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze verify palisade-%s.service: %v\n%s", name, err, out)
		}
	}
}
