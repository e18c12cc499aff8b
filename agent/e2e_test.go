package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-net/palisade/version"
)

// e2eManifests are what the end-to-end test applies with the CLI: the pod
// app/web on n1, a host endpoint on eth0 and a policy allowing TCP to port
// from the outside host.
func e2eManifests(port int) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: %[2]s, podIPs: [{ip: %[2]s}]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [%[3]s]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: from-ext}
spec:
  selector: role == 'node'
  ingress:
  - {action: Allow, protocol: TCP, source: {nets: [%[4]s/32]}, destination: {ports: [%[1]d]}}
  - {action: Allow, protocol: TCP, source: {nets: ["%[5]s/128"]}, destination: {ports: [%[1]d]}}
`, port, e2ePodA, e2eNodeA, e2eExtA, e2eExt6)
}

// TestAgentEndToEnd runs `palisade server` and `palisade agent` as
// processes, the agent inside a node namespace, and checks with real
// packets that the kernel follows the datastore: failsafes, a policy and
// its change, a restart that never drops protection, and --cleanup.
func TestAgentEndToEnd(t *testing.T) {
	e := newE2E(t)
	_, err := e.node.Run(context.Background(), strings.NewReader(
		"table inet keepme {\n\tchain c { type filter hook input priority 10; policy accept; }\n}\n"), "nft", "-f", "-")
	must(t, err)
	e.apply(t, e2eManifests(80))
	begin := time.Now()
	e.startAgent(t)
	e.ready(t, 30*time.Second)
	t.Logf("agent ready %v after its start", time.Since(begin).Round(time.Millisecond))

	expect(t,
		check{e.ext, e2eNodeA, 22, true, "tcp:22 is an inbound failsafe"},
		check{e.ext, e2eNodeA, 21, false, "named HEP, no policy allows 21"},
		check{e.ext, e2eNodeA, 80, true, "policy from-ext"},
		check{e.ext, e2eNodeA, 8080, false, "not in the policy"},
		check{e.ext, e2eNode6, 22, true, "IPv6 failsafe"},
		check{e.ext, e2eNode6, 21, false, "IPv6 default deny"},
		check{e.ext, e2ePodA, 80, true, "forwarded to the pod: no applyOnForward policy; kns profile"},
		check{e.pod, e2eNodeA, 80, false, "DefaultEndpointToHostAction Drop"},
	)
	out, err := e.cli("get", "node", e2eNode, "-o", "yaml")
	must(t, err)
	for _, want := range []string{"rack: r1", "kubernetes.io/hostname: n1", "ipv4Address: 198.19.0.2/24", "name: eth0",
		"palisade.io/agent-version: " + version.Get().Version} {
		if !strings.Contains(out, want) {
			t.Errorf("the registered Node lacks %q:\n%s", want, out)
		}
	}

	changePolicy(t, e)
	restartKeepsProtection(t, e)
	datastoreOutage(t, e)
	checkMetrics(t, e)
	cleanupRemovesTable(t, e)
}

// changePolicy moves the allowed port from 80 to 8080 through the CLI and
// checks the kernel follows within a second.
func changePolicy(t *testing.T, e *e2e) {
	t.Helper()
	start := time.Now()
	e.apply(t, e2eManifests(8080))
	written := time.Now()
	for probe(e.ext, e2eNodeA, 8080, 20*time.Millisecond) != nil {
		if time.Since(written) > 5*time.Second {
			t.Fatal("the policy change did not reach the kernel in 5s")
		}
	}
	took := time.Since(written)
	t.Logf("policy change: CLI apply %v, then in the kernel %v after the write", written.Sub(start).Round(time.Millisecond),
		took.Round(time.Millisecond))
	if took > time.Second {
		t.Errorf("the change took %v to reach the kernel, want under a second", took)
	}
	expect(t,
		check{e.ext, e2eNodeA, 8080, true, "the changed policy"},
		check{e.ext, e2eNodeA, 80, false, "no longer allowed"},
	)
}

// restartKeepsProtection kills the agent (SIGKILL, then SIGTERM) and starts
// it again while probes run: 21 must never answer, 22 and 8080 always.
func restartKeepsProtection(t *testing.T, e *e2e) {
	t.Helper()
	w := startWatchdog(e)
	time.Sleep(300 * time.Millisecond)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		e.agent.signal(sig)
		if sig == syscall.SIGTERM && !strings.Contains(e.agent.log(), "the last ruleset stays in force") {
			t.Errorf("SIGTERM: the agent did not stop cleanly:\n%s", e.agent.log())
		}
		time.Sleep(500 * time.Millisecond) // down for a while
		begin := time.Now()
		e.startAgent(t)
		e.ready(t, 30*time.Second)
		t.Logf("restart after %v: ready in %v", sig, time.Since(begin).Round(time.Millisecond))
		time.Sleep(300 * time.Millisecond)
	}
	probes, violations := w.stop()
	t.Logf("%d probes during the restarts", probes)
	for _, v := range violations {
		t.Error(v)
	}
	if probes < 20 {
		t.Errorf("only %d probes ran during the restarts", probes)
	}
}

// datastoreOutage kills the server: the agent keeps the last ruleset and
// says the datastore is unreachable; when the server is back, a change
// made through it reaches the kernel.
func datastoreOutage(t *testing.T, e *e2e) {
	t.Helper()
	e.server.signal(syscall.SIGKILL)
	eventually(t, 15*time.Second, func() error {
		code, body, err := e.get("/readiness")
		if err == nil && (code != 503 || !strings.Contains(body, "datastore unreachable")) {
			err = fmt.Errorf("/readiness %d: %s", code, body)
		}
		return err
	})
	expect(t,
		check{e.ext, e2eNodeA, 21, false, "datastore down: the last ruleset stays"},
		check{e.ext, e2eNodeA, 8080, true, "datastore down: the last ruleset stays"},
	)
	begin := time.Now()
	e.startServer(t)
	e.apply(t, e2eManifests(80))
	written := time.Now()
	for probe(e.ext, e2eNodeA, 80, 20*time.Millisecond) != nil {
		if time.Since(written) > 20*time.Second {
			t.Fatalf("the change made after the outage did not reach the kernel in 20s\n%s", e.agent.log())
		}
	}
	t.Logf("datastore back: server restarted and change written in %v, in the kernel %v later",
		written.Sub(begin).Round(time.Millisecond), time.Since(written).Round(time.Millisecond))
	e.ready(t, 15*time.Second)
	expect(t, check{e.ext, e2eNodeA, 8080, false, "the change after the outage"})
}

// watchdog probes continuously and records every probe that disagrees.
type watchdog struct {
	stopc      chan struct{}
	wg         sync.WaitGroup
	probes     atomic.Int64
	mu         sync.Mutex
	violations []string
}

func startWatchdog(e *e2e) *watchdog {
	w := &watchdog{stopc: make(chan struct{})}
	for _, c := range []check{
		{e.ext, e2eNodeA, 21, false, "denied port"},
		{e.ext, e2eNodeA, 22, true, "failsafe"},
		{e.ext, e2eNodeA, 8080, true, "allowed port"},
	} {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				select {
				case <-w.stopc:
					return
				default:
				}
				timeout := 500 * time.Millisecond
				if !c.allow {
					timeout = 100 * time.Millisecond
				}
				err := probe(c.from, c.dst, c.port, timeout)
				w.probes.Add(1)
				if (err == nil) != c.allow {
					w.mu.Lock()
					w.violations = append(w.violations, fmt.Sprintf("%s at %s: %v", c, time.Now().Format("15:04:05.000"), err))
					w.mu.Unlock()
				}
			}
		}()
	}
	return w
}

func (w *watchdog) stop() (int64, []string) {
	close(w.stopc)
	w.wg.Wait()
	return w.probes.Load(), w.violations
}

// checkMetrics reads /metrics from inside the node namespace.
func checkMetrics(t *testing.T, e *e2e) {
	t.Helper()
	code, body, err := e.get("/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{
		"felix_active_local_endpoints 2", "felix_active_local_policies 1",
		"felix_int_dataplane_failures 0", "felix_int_dataplane_apply_time_seconds_count",
		"felix_calc_graph_update_time_seconds_count", "palisade_nft_chains", "palisade_nft_rules", "palisade_nft_sets",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// cleanupRemovesTable stops the agent (the ruleset stays), then runs
// --cleanup, which removes palisade's table and nothing else.
func cleanupRemovesTable(t *testing.T, e *e2e) {
	t.Helper()
	e.agent.signal(syscall.SIGTERM)
	expect(t, check{e.ext, e2eNodeA, 21, false, "agent stopped: the ruleset stays"})
	c := startIn(t, e.node, "palisade agent --cleanup", "agent", "--cleanup")
	<-c.done
	if !c.cmd.ProcessState.Success() {
		t.Fatalf("palisade agent --cleanup: %v\n%s", c.cmd.ProcessState, c.log())
	}
	out, err := e.node.Run(context.Background(), nil, "nft", "list", "tables")
	must(t, err)
	if strings.Contains(string(out), "palisade") || !strings.Contains(string(out), "inet keepme") {
		t.Errorf("after --cleanup, nft list tables:\n%s", out)
	}
	expect(t, check{e.ext, e2eNodeA, 21, true, "no table: nothing is policed"})
}
