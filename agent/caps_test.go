package agent

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
)

func TestHasCapability(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   bool
		err    bool
	}{
		{"Name:\tpalisade\nCapEff:\t000001ffffffffff\n", true, false}, // root
		{"CapEff:\t0000000000001000\n", true, false},                  // CAP_NET_ADMIN alone
		{"CapEff:\t0000000000000000\n", false, false},                 // an unprivileged user
		{"CapEff:\t0000000000000800\n", false, false},                 // CAP_NET_BROADCAST only
		{"CapEff:\tzz\n", false, true},
		{"Name:\tx\n", false, true},
	} {
		got, err := hasCapability(bufio.NewScanner(strings.NewReader(tc.status)), capNetAdmin)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%q: %v %v, want %v (error %v)", tc.status, got, err, tc.want, tc.err)
		}
	}
}

// TestAgentRefusesWithoutNetAdmin: `palisade agent` without CAP_NET_ADMIN
// stops before it touches the datastore, saying what it lacks.
func TestAgentRefusesWithoutNetAdmin(t *testing.T) {
	bin := binary(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		cannotRun(t, "no setpriv (util-linux) to drop a capability")
	}
	cmd := exec.Command(setpriv, "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--",
		bin, "agent", "--node", "n1", "--etcd-endpoints", "unix:///nonexistent/etcd.sock", "--health-listen", "-")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "needs CAP_NET_ADMIN") || strings.Contains(string(out), "agent starting") {
		t.Errorf("agent without CAP_NET_ADMIN: %v\n%s", err, out)
	}
}
