package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

// A host endpoint whose profile does not exist and a policy whose stored
// value cannot be read: the agent renders both closed, readiness names
// them, the metric counts them; repairing them makes the agent ready.
func TestAgentFailClosedReadiness(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: typo, labels: {role: node}}
spec: {node: `+testNode+`, interfaceName: eth0, profiles: [projectcalico-default-alow]}
`)...)
	bad := store.Key{Kind: api.KindGlobalNetworkPolicy, Name: "deny-ssh"}
	if err := st.PutRaw(context.Background(), bad, []byte("{broken")); err != nil {
		t.Fatal(err)
	}
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 3*time.Second, func() error {
		return textHas(f, "unresolved endpoint, failing closed")
	})
	eventually(t, 3*time.Second, func() error {
		err := a.Ready()
		if err == nil || !strings.Contains(err.Error(), `HostEndpoint(typo): spec.profiles: profile "projectcalico-default-alow" does not exist`) ||
			!strings.Contains(err.Error(), "GlobalNetworkPolicy(deny-ssh): stored value cannot be read") {
			return fmt.Errorf("Ready = %v", err)
		}
		return nil
	})
	if code, body := get(t, a, "/metrics"); code != 200 || strings.Count(body, "palisade_agent_fail_closed{") != 2 {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	if _, err := st.Delete(context.Background(), bad, ""); err != nil {
		t.Fatal(err)
	}
	put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: projectcalico-default-alow}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
`)...)
	eventually(t, 3*time.Second, a.Ready)
}

// Anything that removes or replaces palisade's table is undone within a
// drift interval, and counted.
func TestAgentRestoresTamperedTable(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, hepYAML+"---"+policyYAML("p80", 80))...)
	f := nft.NewFake()
	cfg := testConfig(t)
	cfg.DriftInterval = 20 * time.Millisecond
	a := startAgent(t, cfg, st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 3*time.Second, func() error { return textHas(f, policyMark("p80")) })
	eventually(t, 3*time.Second, a.Ready)
	want := f.Text()
	drift := func() float64 { return value(a.m.drift) }
	// nft flush ruleset, or palisade agent --cleanup by mistake.
	if err := f.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, func() error {
		if f.Text() != want {
			return fmt.Errorf("table not restored")
		}
		return nil
	})
	if drift() != 1 {
		t.Errorf("drift repairs = %v, want 1", drift())
	}
	// Another tool replaces the table with its own.
	if err := f.Apply(context.Background(), &render.Ruleset{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, func() error {
		if f.Text() != want {
			return fmt.Errorf("table not restored")
		}
		return nil
	})
	if drift() != 2 {
		t.Errorf("drift repairs = %v, want 2", drift())
	}
	// An unchanged table is never rewritten.
	_, calls, _ := f.Counts()
	time.Sleep(200 * time.Millisecond)
	if _, again, _ := f.Counts(); again != calls {
		t.Errorf("%d writes to an untouched table", again-calls)
	}
}

// With the default probe settings, losing the datastore makes the agent
// unready within ProbeInterval + ProbeTimeout (2.5 s), not the ~7 s it
// took with a 5 s interval.
func TestDefaultProbeNoticesLostDatastoreSoon(t *testing.T) {
	mem := store.NewMemory()
	st := &flakyStore{Memory: mem}
	put(t, mem, objects(t, hepYAML)...)
	cfg := testConfig(t)
	cfg.ProbeInterval = 0 // the default
	if d := cfg.Defaults(); d.ProbeInterval+d.ProbeTimeout > 2500*time.Millisecond {
		t.Fatalf("default probe interval %v + timeout %v", d.ProbeInterval, d.ProbeTimeout)
	}
	a := startAgent(t, cfg, st, nft.NewFake(), NewStaticInterfaces(testIfaces()...))
	eventually(t, 3*time.Second, a.Ready)
	st.setDown(true)
	eventually(t, 3*time.Second, func() error {
		if err := a.Ready(); err == nil || !strings.Contains(err.Error(), "datastore unreachable") {
			return fmt.Errorf("Ready = %v", err)
		}
		return nil
	})
}
