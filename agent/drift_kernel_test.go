package agent

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

// With the real kernel: whatever removes or edits palisade's table in the
// agent's namespace (nft flush ruleset, a deleted chain, an added rule), the
// agent restores it at once through the netlink monitor, well before the
// 10 s safety-net read-back.
func TestKernelDriftRestored(t *testing.T) {
	lab := netlab.ForTest(t, "pal-drift")
	ns, err := lab.NewNS("node")
	if err != nil {
		t.Fatal(err)
	}
	k, err := nft.NewKernel(nft.Config{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory()
	put(t, st, objects(t, hepYAML+"---"+policyYAML("p80", 80))...)
	cfg := testConfig(t)
	cfg.DriftResync = time.Minute // only the monitor can restore it in time
	a := startAgent(t, cfg, st, k, NewStaticInterfaces(testIfaces()...))
	eventually(t, 5*time.Second, a.Ready)
	ctx := context.Background()
	// Compared as data: a repair may declare the chains in another order.
	want, err := k.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = nft.Canonical(want)
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name, "nft"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("nft %v: %v\n%s", args, err, out)
		}
	}
	restored := func() error {
		got, err := k.Show(ctx)
		if err != nil {
			return err
		}
		if nft.Canonical(got) != want {
			return fmt.Errorf("table differs from what the agent applied")
		}
		return nil
	}
	for i, tamper := range [][]string{
		{"flush", "ruleset"},
		{"delete", "table", "inet", "palisade"},
		{"flush", "chain", "inet", "palisade", "hep-n1-eth0-ingress"},
		{"insert", "rule", "inet", "palisade", "filter-input", "accept"},
		// An element only: the monitor's event names no table.
		{"add", "element", "inet", "palisade", "map-wep-to", `{ "calitamper0" : accept }`},
	} {
		run(tamper...)
		eventually(t, time.Second, restored)
		if got := value(a.m.drift); got != float64(i+1) {
			t.Errorf("after %s: drift repairs = %v, want %d", strings.Join(tamper, " "), got, i+1)
		}
	}
}
