package render_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/cli"
)

// The dataplane commands (cli/dataplane.go), run in-process.
func TestDataplaneCommands(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(args, strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	files := []string{"-f", "../examples/topology", "-f", "../examples/seed000"}
	code, out, errs := run(append([]string{"dataplane", "show", "--node", "control"}, files...)...)
	if code != 0 || !strings.HasPrefix(out, "table inet palisade {") {
		t.Fatalf("show: exit %d, stderr %s, stdout %.200s", code, errs, out)
	}
	code, out, errs = run(append([]string{"dataplane", "trace", "--node", "control", "--from", "198.19.15.254",
		"--to", "node:control", "--port", "21/TCP"}, files...)...)
	if code != 0 || !strings.Contains(out, "Evaluator (whole path): DENY") || !strings.Contains(out, "Ruleset: DROP (request)") ||
		!strings.Contains(out, "end of tier default") {
		t.Fatalf("trace: exit %d, stderr %s, stdout:\n%s", code, errs, out)
	}
	code, out, _ = run(append([]string{"dataplane", "trace", "--node", "control", "--from", "198.19.15.254",
		"--to", "node:control", "--port", "22/TCP"}, files...)...)
	if code != 0 || !strings.Contains(out, "Ruleset: ACCEPT") || !strings.Contains(out, "failsafe") {
		t.Fatalf("trace 22/TCP: exit %d, stdout:\n%s", code, out)
	}
	// The compiled form (the default) names the deciding policy and rule
	// in the map element the packet hit; --rules linear keeps one rule
	// per policy rule.
	code, out, _ = run(append([]string{"dataplane", "trace", "--node", "control", "--from", "198.19.15.254",
		"--to", "node:control", "--port", "30180/TCP"}, files...)...)
	if code != 0 || !regexp.MustCompile(`@cv-hep-control-auto-hep-prednat-p/[0-9a-f]{10}\[\d+\]: .* comment "nodeport-policy ingress rule 0"`).MatchString(out) {
		t.Fatalf("trace 30180/TCP: exit %d, stdout:\n%s", code, out)
	}
	code, out, _ = run(append([]string{"dataplane", "show", "--node", "control"}, files...)...)
	if code != 0 || !regexp.MustCompile(`map ids-v4/[0-9a-f]{10} \{`).MatchString(out) || !regexp.MustCompile(`map cv-hep-control-auto-hep-prednat-p/[0-9a-f]{10} \{`).MatchString(out) {
		t.Fatalf("show (compiled): exit %d, stdout:\n%s", code, out)
	}
	code, out, _ = run(append([]string{"dataplane", "show", "--rules", "linear", "--node", "control"}, files...)...)
	if code != 0 || strings.Contains(out, "map ids-v4") || !strings.Contains(out, `comment "nodeport-policy ingress rule 0"`) {
		t.Fatalf("show --rules linear: exit %d, stdout:\n%s", code, out)
	}
	if code, _, errs := run(append([]string{"dataplane", "show", "--rules", "fast", "--node", "control"}, files...)...); code == 0 ||
		!strings.Contains(errs, "--rules") {
		t.Fatalf("show --rules fast: exit %d, stderr %s", code, errs)
	}
	if code, _, _ := run("dataplane", "show", "-f", "../examples/topology"); code == 0 {
		t.Fatal("show without --node succeeded")
	}
}
