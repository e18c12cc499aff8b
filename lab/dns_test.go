package lab

import (
	"strings"
	"testing"
)

// The pods' hosts files name every service of the topology, with short
// names in the pod's own namespace only.
func TestHostsFor(t *testing.T) {
	topo, err := LoadTopology()
	if err != nil {
		t.Fatal(err)
	}
	staging := topo.HostsFor("staging")
	admin := topo.HostsFor("admin")
	for _, want := range []string{
		"198.18.0.90\tfrontend.staging.svc.cluster.local frontend.staging.svc frontend.staging frontend\n",
	} {
		if !strings.Contains(staging, want) {
			t.Errorf("staging's hosts lack %q:\n%s", want, staging)
		}
	}
	if !strings.Contains(admin, "frontend.staging.svc.cluster.local frontend.staging.svc frontend.staging\n") {
		t.Errorf("admin's hosts lack staging's frontend by its long names:\n%s", admin)
	}
	if strings.Contains(admin, " frontend\n") {
		t.Errorf("admin's hosts give staging's frontend its short name:\n%s", admin)
	}
	if !strings.HasPrefix(staging, "127.0.0.1\tlocalhost\n") {
		t.Errorf("no localhost:\n%s", staging)
	}
}
