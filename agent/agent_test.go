package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

const hepYAML = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [198.19.0.2]}
`

// policyYAML is a policy allowing TCP to port.
func policyYAML(name string, port int) string {
	return fmt.Sprintf(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: %s}
spec:
  selector: role == 'node'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [%d]}}]
`, name, port)
}

// policyMark is what the ruleset holds of a global policy's first
// ingress rule in either form: the comment on its rule (linear) or on
// the map elements it decides (compiled).
func policyMark(name string) string { return `"` + name + ` ingress rule 0"` }

// TestNoWriteBeforeSynced: events before the first Synced never reach the
// kernel, however long the list takes; Synced brings one transaction.
func TestNoWriteBeforeSynced(t *testing.T) {
	st := newScriptStore()
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	st.added(objects(t, hepYAML+"---"+policyYAML("p80", 80))...)
	time.Sleep(200 * time.Millisecond)
	if _, calls, _ := f.Counts(); calls != 0 {
		t.Fatalf("%d Apply calls before the first Synced", calls)
	}
	if err := a.Ready(); err == nil || !strings.Contains(err.Error(), "waiting for the first full sync") {
		t.Fatalf("Ready before the sync = %v", err)
	}
	st.synced()
	eventually(t, 2*time.Second, func() error { return textHas(f, policyMark("p80")) })
	eventually(t, 2*time.Second, a.Ready)
	if applies, calls, deletes := f.Counts(); applies != 1 || calls != 1 || deletes != 0 {
		t.Errorf("applies, calls, deletes = %d, %d, %d; want 1, 1, 0", applies, calls, deletes)
	}
}

// TestNoWriteWhileDatastoreUnreachableAtStart: a watch that cannot start
// is retried; the kernel is not touched until the list succeeds.
func TestNoWriteWhileDatastoreUnreachableAtStart(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, hepYAML)...)
	for range 5 {
		st.FailNext("List", &store.UnavailableError{Endpoints: []string{"memory"}, Err: errors.New("refused")})
	}
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 2*time.Second, func() error {
		if err := a.Ready(); err == nil || !strings.Contains(err.Error(), "refused") {
			return fmt.Errorf("Ready = %v, want the watch error", err)
		}
		return nil
	})
	if _, calls, _ := f.Counts(); calls != 0 {
		t.Fatalf("%d Apply calls before the first sync", calls)
	}
	eventually(t, 5*time.Second, a.Ready)
	if err := textHas(f, "hep-n1-eth0"); err != nil {
		t.Fatal(err)
	}
}

// TestBatchesBurst: a burst of changes becomes a few transactions, and the
// last one holds every change.
func TestBatchesBurst(t *testing.T) {
	st := newScriptStore()
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	st.added(objects(t, hepYAML)...)
	st.synced()
	eventually(t, 2*time.Second, a.Ready)
	before, _, _ := f.Counts()
	const n = 200
	burst := manyPolicies(t, n)
	st.added(burst...)
	eventually(t, 5*time.Second, func() error { return textHas(f, policyMark("p0"), policyMark(fmt.Sprint("p", n-1))) })
	time.Sleep(100 * time.Millisecond)
	after, _, _ := f.Counts()
	t.Logf("%d changes, %d transactions", n, after-before)
	if after-before > 3 {
		t.Errorf("%d changes sent at once took %d transactions, want at most 3", n, after-before)
	}
	if got := value(a.m.policies); got != n {
		t.Errorf("felix_active_local_policies = %v, want %d", got, n)
	}
}

// manyPolicies decodes n policies p0... allowing ports 1000...
func manyPolicies(t testing.TB, n int) []api.Object {
	var b strings.Builder
	for i := range n {
		b.WriteString(policyYAML(fmt.Sprintf("p%d", i), 1000+i) + "---\n")
	}
	return objects(t, b.String())
}

// TestBatchesStoreBurst: the same through the in-memory etcd-like store,
// whose watch delivers writes as they happen.
func TestBatchesStoreBurst(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, hepYAML)...)
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 2*time.Second, a.Ready)
	before, _, _ := f.Counts()
	const n = 100
	put(t, st, manyPolicies(t, n)...)
	eventually(t, 5*time.Second, func() error { return textHas(f, policyMark(fmt.Sprint("p", n-1))) })
	after, _, _ := f.Counts()
	t.Logf("%d writes, %d transactions", n, after-before)
	if after-before > n/4 {
		t.Errorf("%d writes took %d transactions, want at most %d", n, after-before, n/4)
	}
}

// TestApplyFailureKeepsPreviousRuleset: a failed transaction leaves the
// previous ruleset, is retried with backoff, and readiness says why until
// a retry succeeds.
func TestApplyFailureKeepsPreviousRuleset(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, hepYAML+"---"+policyYAML("p80", 80))...)
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 2*time.Second, a.Ready)
	good := f.Text()
	boom := errors.New("nft apply: ruleset line 7:3: Error: Could not process rule: No space left on device")
	var calls atomic.Int32
	gate := make(chan struct{})
	f.OnApply(func(call int, _ *render.Ruleset) error {
		select {
		case <-gate:
			return nil
		default:
			calls.Add(1)
			return boom
		}
	})
	put(t, st, objects(t, policyYAML("p81", 81))...)
	eventually(t, 2*time.Second, func() error {
		err := a.Ready()
		if err == nil || !strings.Contains(err.Error(), "No space left on device") ||
			!strings.Contains(err.Error(), "previous ruleset stays in force") {
			return fmt.Errorf("Ready = %v", err)
		}
		return nil
	})
	eventually(t, 2*time.Second, func() error {
		if got := value(a.m.failures); got < 3 {
			return fmt.Errorf("felix_int_dataplane_failures = %v, want retries", got)
		}
		return nil
	})
	if f.Text() != good {
		t.Fatal("a failed transaction changed the table")
	}
	code, body := get(t, a, "/readiness")
	if code != 503 || !strings.Contains(body, "No space left on device") {
		t.Errorf("/readiness = %d %q", code, body)
	}
	close(gate)
	eventually(t, 2*time.Second, func() error { return textHas(f, policyMark("p81")) })
	eventually(t, time.Second, a.Ready)
	t.Logf("%d failed transactions before the retry succeeded", calls.Load())
}

// TestRenderFailureKeepsPreviousRuleset: a model render refuses (an
// interface name longer than the kernel allows) keeps the last ruleset and
// makes the agent not ready.
func TestRenderFailureKeepsPreviousRuleset(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, hepYAML)...)
	f := nft.NewFake()
	ifs := NewStaticInterfaces(testIfaces()...)
	a := startAgent(t, testConfig(t), st, f, ifs)
	eventually(t, 2*time.Second, a.Ready)
	good := f.Text()
	ifs.Set(append(testIfaces(), HostInterface{Name: "averyveryverylongname"})...)
	eventually(t, 2*time.Second, func() error {
		if err := a.Ready(); err == nil || !strings.Contains(err.Error(), "computing the ruleset failed") {
			return fmt.Errorf("Ready = %v", err)
		}
		return nil
	})
	if f.Text() != good {
		t.Fatal("the table changed after a failed render")
	}
	ifs.Set(testIfaces()...)
	eventually(t, 2*time.Second, a.Ready)
}

// TestDatastoreOutageKeepsLastRuleset: while the datastore is unreachable
// the kernel keeps the last ruleset and readiness says so; when it returns
// the watch re-lists and what changed meanwhile is applied.
func TestDatastoreOutageKeepsLastRuleset(t *testing.T) {
	mem := store.NewMemory()
	st := &flakyStore{Memory: mem}
	put(t, mem, objects(t, hepYAML+"---"+policyYAML("p80", 80))...)
	f := nft.NewFake()
	cfg := testConfig(t)
	a := startAgent(t, cfg, st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 2*time.Second, a.Ready)
	good := f.Text()
	applies, _, _ := f.Counts()

	st.setDown(true)
	mem.FailNext("List", &store.UnavailableError{Endpoints: []string{"memory"}, Err: errors.New("refused")})
	mem.BreakWatches()
	// Changes made while this agent cannot see the datastore.
	if _, err := mem.Delete(context.Background(), store.Key{Kind: "GlobalNetworkPolicy", Name: "p80"}, ""); err != nil {
		t.Fatal(err)
	}
	put(t, mem, objects(t, policyYAML("p90", 90))...)
	eventually(t, 2*time.Second, func() error {
		if err := a.Ready(); err == nil || !strings.Contains(err.Error(), "datastore unreachable") {
			return fmt.Errorf("Ready = %v", err)
		}
		return nil
	})
	if got, _, _ := f.Counts(); got != applies || f.Text() != good {
		t.Fatalf("the table changed while the datastore was unreachable (%d applies, was %d)", got, applies)
	}
	st.setDown(false)
	eventually(t, 10*time.Second, func() error {
		if err := textHas(f, policyMark("p90")); err != nil {
			return err
		}
		if strings.Contains(f.Text(), policyMark("p80")) {
			return errors.New("the policy deleted during the outage is still there")
		}
		return a.Ready()
	})
}

// TestRestartReconcilesInPlace: a table from an earlier run stays untouched
// until the first sync, which replaces it in one transaction; stopping
// never deletes it, and a second agent does the same.
func TestRestartReconcilesInPlace(t *testing.T) {
	old := objects(t, hepYAML+"---"+policyYAML("old", 70))
	m, _ := policy.NewModel(append(old, objects(t, `
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {interfaces: [{name: eth0}]}
`)...))
	prev, err := render.Node(m, testNode)
	if err != nil {
		t.Fatal(err)
	}
	f := nft.NewFake()
	if err := f.Apply(context.Background(), prev); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		st := newScriptStore()
		a, err := New(testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		applies, _, _ := f.Counts()
		st.added(objects(t, hepYAML+"---"+policyYAML("new", 71))...)
		time.Sleep(100 * time.Millisecond)
		if got, _, _ := f.Counts(); got != applies {
			t.Fatalf("run %d: the table was written before the sync", run)
		}
		if run == 1 && !strings.Contains(f.Text(), policyMark("old")) {
			t.Fatal("the earlier table is not in force before the sync")
		}
		st.synced()
		eventually(t, 2*time.Second, a.Ready)
		if got, _, _ := f.Counts(); got != applies+1 {
			t.Errorf("run %d: %d transactions after the sync, want 1", run, got-applies)
		}
		if err := textHas(f, policyMark("new")); err != nil || strings.Contains(f.Text(), policyMark("old")) {
			t.Errorf("run %d: the table was not replaced: %v", run, err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, deletes := f.Counts(); deletes != 0 || f.Ruleset() == nil {
			t.Fatalf("run %d: stopping removed the table", run)
		}
	}
}

// TestCleanupRemovesTable: Cleanup deletes palisade's table.
func TestCleanupRemovesTable(t *testing.T) {
	f := nft.NewFake()
	if err := f.Apply(context.Background(), &render.Ruleset{}); err != nil {
		t.Fatal(err)
	}
	if err := Cleanup(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Show(context.Background()); !errors.Is(err, nft.ErrNoTable) {
		t.Fatalf("Show after Cleanup = %v", err)
	}
}

// TestHealthAndMetrics: the endpoints answer and the metrics carry Felix's
// names.
func TestHealthAndMetrics(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, hepYAML+"---"+policyYAML("p80", 80))...)
	f := nft.NewFake()
	a := startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 2*time.Second, a.Ready)
	if code, body := get(t, a, "/liveness"); code != 200 || body != "ok\n" {
		t.Errorf("/liveness = %d %q", code, body)
	}
	if code, body := get(t, a, "/readiness"); code != 200 || body != "ready\n" {
		t.Errorf("/readiness = %d %q", code, body)
	}
	_, body := get(t, a, "/metrics")
	st8 := f.Ruleset().Stats()
	for _, want := range []string{
		"felix_active_local_endpoints 1",
		"felix_active_local_policies 1",
		"felix_calc_graph_update_time_seconds_count",
		"felix_int_dataplane_apply_time_seconds_count 1",
		"felix_int_dataplane_failures 0",
		"felix_resync_state 3",
		fmt.Sprintf("felix_active_local_selectors %d", st8.Sets),
		"felix_cluster_num_hosts 1",
		fmt.Sprintf("palisade_nft_chains %d", st8.Chains),
		fmt.Sprintf("palisade_nft_rules %d", st8.Rules),
		fmt.Sprintf("palisade_nft_sets %d", st8.Sets),
		"palisade_agent_datastore_synced 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
