package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/flowlog"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
)

// flowLogManifests turn flow logs on (allowed flows too, at most 20
// records a second and 20 at once) and give web a policy that denies 8080
// by a rule and allows the rest.
const flowLogManifests = `
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {flowLogs: All, flowLogsRateLimit: 20, flowLogsRateLimitBurst: 20}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-guard, namespace: app}
spec:
  selector: app == 'web'
  ingress:
  - {action: Deny, protocol: TCP, destination: {ports: [8080]}}
  - {action: Allow}
`

// TestAgentFlowLogs runs the agent with flow logs on and checks with real
// packets that /flows (and `palisade flows`) reports each flow with the
// endpoint and the decision explain names, and that a flood is cut to the
// configured rate in the kernel.
func TestAgentFlowLogs(t *testing.T) {
	e := newE2E(t)
	e.apply(t, e2eManifests(80)+flowLogManifests)
	e.startAgent(t)
	e.ready(t, 30*time.Second)
	expect(t,
		check{e.ext, e2eNodeA, 80, true, "from-ext rule 0"},
		check{e.ext, e2eNodeA, 8080, false, "end of tier default"},
		check{e.ext, e2ePodA, 80, true, "web-guard rule 1"},
		check{e.ext, e2ePodA, 8080, false, "web-guard rule 0"},
	)
	for _, fl := range []struct {
		dst      string
		port     uint16
		verdict  string
		endpoint string
	}{
		{e2eNodeA, 80, flowlog.VerdictAllowed, "HostEndpoint n1-eth0"},
		{e2eNodeA, 8080, flowlog.VerdictDenied, "HostEndpoint n1-eth0"},
		{e2ePodA, 80, flowlog.VerdictAllowed, "WorkloadEndpoint app/web"},
		{e2ePodA, 8080, flowlog.VerdictDenied, "WorkloadEndpoint app/web"},
	} {
		want := e.decision(t, fl.dst, fl.port)
		var got flowlog.Record
		eventually(t, 5*time.Second, func() error {
			recs, err := e.flows("to=" + fl.dst)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if r.DstPort == fl.port && r.Src == e2eExtA && r.Endpoint == fl.endpoint {
					got = r
					return nil
				}
			}
			return fmt.Errorf("no record of %s -> %s:%d in %d records", e2eExtA, fl.dst, fl.port, len(recs))
		})
		have := render.CounterKey{Kind: got.Kind, Direction: got.Direction, Tier: got.Tier, Policy: got.Policy, Rule: -1, Action: got.Action}
		if got.Rule != nil {
			have.Rule = *got.Rule
		}
		if have != want || got.Verdict != fl.verdict || got.Endpoint != fl.endpoint || got.Node != e2eNode || got.Proto != "tcp" {
			t.Errorf("%s:%d: record %+v\nwant decision %+v, verdict %s, endpoint %q", fl.dst, fl.port, got, want, fl.verdict, fl.endpoint)
		}
	}

	// The CLI, inside the node's namespace, filters on the agent.
	out, err := exec.Command("ip", "netns", "exec", e.node.Name, binPath, "flows", "--verdict", "denied", "--to", "app/web").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "DENIED at WorkloadEndpoint app/web") ||
		!strings.Contains(string(out), "NetworkPolicy app/web-guard rule 0") || strings.Contains(string(out), "ALLOWED") {
		t.Errorf("palisade flows --verdict denied --to app/web: %v\n%s", err, out)
	}

	// A staged policy that would deny port 80 to web: not enforced, but
	// counted and logged as a staged denial.
	e.apply(t, `
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: web-guard, namespace: app}
spec:
  selector: app == 'web'
  ingress:
  - {action: Deny, protocol: TCP, destination: {ports: [80, 8080]}}
  - {action: Allow}
`)
	eventually(t, 5*time.Second, func() error {
		if err := probe(e.ext, e2ePodA, 80, 300*time.Millisecond); err != nil {
			return fmt.Errorf("port 80 to web stopped answering: the staged policy is enforced? %w", err)
		}
		recs, err := e.flows("verdict=staged-denied")
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.DstPort == 80 && r.Dst == e2ePodA && r.Policy == "NetworkPolicy app/web-guard" && r.Kind == render.CountStagedRule &&
				r.Endpoint == "WorkloadEndpoint app/web" {
				return nil
			}
		}
		return fmt.Errorf("no staged-denied record of port 80 to web in %+v", recs)
	})
	out, err = exec.Command("ip", "netns", "exec", e.node.Name, binPath, "dataplane", "counters", "--policy", "web-guard", "-o", "wide").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "(staged) NetworkPolicy app/web-guard") || !strings.Contains(string(out), "staged-rule") {
		t.Errorf("palisade dataplane counters --policy web-guard: %v\n%s", err, out)
	}
	t.Logf("counters:\n%s", out)

	// A flood of denied packets: the kernel passes at most the burst plus
	// the rate to the flow log.
	before, err := e.flows("to=" + e2ePodA)
	must(t, err)
	start := time.Now()
	must(t, e.ext.Do(func() error {
		c, err := net.ListenPacket("udp", e2eExtA+":0")
		if err != nil {
			return err
		}
		defer c.Close()
		to := &net.UDPAddr{IP: net.ParseIP(e2eNodeA), Port: 9999}
		for i := 0; i < 500; i++ {
			if _, err := c.WriteTo([]byte("x"), to); err != nil {
				return err
			}
		}
		return nil
	}))
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	recs, err := e.flows("to=" + e2eNodeA)
	must(t, err)
	n := 0
	for _, r := range recs {
		if r.Proto == "udp" && r.DstPort == 9999 {
			n++
		}
	}
	limit := 20 + int(20*(took+300*time.Millisecond).Seconds()) + 1
	if n == 0 || n > limit {
		t.Errorf("500 denied packets in %v gave %d flow log records, want 1 to %d (burst 20, 20/s)", took, n, limit)
	}
	t.Logf("flood: 500 packets in %v, %d records (limit %d); %d records before", took, n, limit, len(before))
}

// decision is the counter key of the step explain names as deciding a
// flow from ext.
func (e *e2e) decision(t *testing.T, dst string, port uint16) render.CounterKey {
	t.Helper()
	out, err := e.cli("explain", "--from", e2eExtA, "--to", dst, "--port", fmt.Sprintf("%d/TCP", port), "-o", "json")
	must(t, err)
	var v policy.Verdict
	must(t, json.Unmarshal([]byte(out), &v))
	var last render.CounterKey
	found := false
	for _, s := range v.Paths[0].Request {
		if k, ok := render.StepCounterKey(s); ok && (k.Action == "Allow" || k.Action == "Deny") {
			last, found = k, true
		}
	}
	if !found {
		t.Fatalf("explain names no deciding rule:\n%s", out)
	}
	return last
}

// flows reads /flows with a query.
func (e *e2e) flows(query string) ([]flowlog.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:9091/flows?"+query, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.health.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []flowlog.Record
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var r flowlog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
