package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

const cliTopology = `
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {kubernetes.io/hostname: n1}}
status: {addresses: [{type: InternalIP, address: 198.19.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {nodeName: n1}
status: {podIP: 198.18.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {nodeName: n1}
status: {podIP: 198.18.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-from-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}], ports: [{port: 80}]}]
`

func TestValidate(t *testing.T) {
	code, out, errOut := run(t, cliTopology, "validate", "-f", "-")
	if code != 0 || !strings.Contains(out, "4 resource(s) valid") {
		t.Fatalf("validate good input: code %d, out %q, err %q", code, out, errOut)
	}
	bad := "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: h\n  spec:\n    node: n1\n"
	code, _, errOut = run(t, bad, "validate", "-f", "-")
	if code != 1 || !strings.Contains(errOut, "metadata.spec") {
		t.Fatalf("validate bad input: code %d, err %q", code, errOut)
	}
	code, _, errOut = run(t, "", "validate")
	if code != 1 || !strings.Contains(errOut, "-f") {
		t.Fatalf("validate without -f: code %d, err %q", code, errOut)
	}
}

func TestValidateReportsMissingTier(t *testing.T) {
	pol := "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {tier: nosuch, selector: all()}\n"
	code, _, errOut := run(t, pol, "validate", "-f", "-")
	if code != 1 || !strings.Contains(errOut, `tier "nosuch" does not exist`) {
		t.Fatalf("code %d, err %q", code, errOut)
	}
}

func TestExplainJSONAndText(t *testing.T) {
	for _, tc := range []struct{ from, port, want string }{
		{"x/a", "80/TCP", "allow"},
		{"x/a", "81/TCP", "deny"},
		{"198.19.15.254", "80/TCP", "deny"},
	} {
		code, out, errOut := run(t, cliTopology, "explain", "-f", "-", "--from", tc.from, "--to", "x/b", "--port", tc.port, "-o", "json")
		if code != 0 {
			t.Fatalf("explain: code %d, err %q", code, errOut)
		}
		var v struct {
			Verdict string `json:"verdict"`
			Paths   []struct {
				Request []struct{ Policy, Result string }
			}
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("explain -o json is not JSON: %v\n%s", err, out)
		}
		if v.Verdict != tc.want {
			t.Errorf("%s -> x/b %s: verdict %q, want %q\n%s", tc.from, tc.port, v.Verdict, tc.want, out)
		}
	}
	code, out, _ := run(t, cliTopology, "explain", "-f", "-", "--from", "x/a", "--to", "x/b", "--port", "81/TCP")
	if code != 0 || !strings.Contains(out, "Verdict: DENY") || !strings.Contains(out, "end of tier default") {
		t.Errorf("explain text: code %d\n%s", code, out)
	}
}

func TestExplainErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--from", "x/nosuch", "--to", "x/b", "--port", "80/TCP"},
		{"--from", "x/a", "--to", "x/b", "--port", "80"},
		{"--from", "x/a", "--to", "x/b", "--port", "80/XTP"},
		{"--from", "x/a", "--to", "node:nosuch", "--port", "80/TCP"},
		{"--from", "x/a", "--to", "x/b"},
	} {
		code, _, errOut := run(t, cliTopology, append([]string{"explain", "-f", "-"}, args...)...)
		if code != 1 || errOut == "" {
			t.Errorf("explain %v: code %d, err %q; want exit 1 with a message", args, code, errOut)
		}
	}
}

func TestMatrixTSV(t *testing.T) {
	code, out, errOut := run(t, cliTopology, "matrix", "-f", "-", "--ports", "80/TCP,53/UDP", "--external", "198.19.15.254", "-o", "tsv")
	if code != 0 {
		t.Fatalf("matrix: code %d, err %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// 2 pods: 2 ordered pairs + 2 pod->external + 2 external->pod, per port.
	if len(lines) != 12 {
		t.Fatalf("got %d lines, want 12:\n%s", len(lines), out)
	}
	want := map[string]bool{
		"x/a\tx/b\tTCP/80\tallow":           true,
		"x/b\tx/a\tTCP/80\tallow":           true,
		"198.19.15.254\tx/b\tTCP/80\tdeny":  true,
		"x/a\tx/b\tUDP/53\tdeny":            true,
		"x/a\t198.19.15.254\tUDP/53\tallow": true,
	}
	for _, l := range lines {
		delete(want, l)
	}
	if len(want) > 0 {
		t.Errorf("missing lines %v in:\n%s", want, out)
	}
	code, out, _ = run(t, cliTopology, "matrix", "-f", "-", "--ports", "80/TCP")
	if code != 0 || !strings.Contains(out, "80/TCP") || !strings.Contains(out, "X") {
		t.Errorf("matrix grid: code %d\n%s", code, out)
	}
}

func TestDemoRuns(t *testing.T) {
	code, out, errOut := run(t, "", "demo")
	if code != 0 {
		t.Fatalf("demo: code %d, err %q", code, errOut)
	}
	for _, want := range []string{"DENY  198.19.15.254 -> node:control 21/TCP", "ALLOW 198.19.15.254 -> node:control 22/TCP",
		"ALLOW 198.19.15.254 -> 198.19.0.1 30180/TCP", "DENY  198.19.15.253 -> 198.19.0.1 30180/TCP"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
