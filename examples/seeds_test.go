package examples_test

// One test per seed walkthrough. Each step is the list of -f arguments a user
// gives palisade (the shared topology first, then the seed's files in order;
// a later document with the same kind, namespace and name replaces an earlier
// one), and the flows whose verdicts the seed text and semantics.md imply.
//
// Every expectation is derived from the seed text and the behavioural spec
// (shared/docs/semantics.md, cited as §N), never from running palisade. Where
// the seed says one thing and Calico's semantics another, the test asserts the
// semantics and the reason says why.

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/cli"
)

// Lab addresses (examples/topology/00-nodes.yaml).
const (
	host1     = "198.19.15.254" // the seeds' standalone host, outside the cluster
	host2     = "198.19.15.253" // a second outside host
	controlIP = "198.19.0.1"
	node1IP   = "198.19.0.2"
	node2IP   = "198.19.0.3"

	topology = "topology"
)

// flow is one connection attempt. from and to are NAMESPACE/POD, node:NAME
// (that node's own processes) or an IP address; port is PORT/PROTO, with
// 0/ICMP for an ICMP echo request.
type flow struct {
	from, to, port string
	want           string // "allow" or "deny"
	why            string // where the expectation comes from
}

// step is one state of a walkthrough: the -f arguments, in order.
type step struct {
	name  string
	files []string
	flows []flow
}

func allow(from, to, port string, why ...string) flow {
	return flow{from: from, to: to, port: port, want: "allow", why: strings.Join(why, " ")}
}

func deny(from, to, port string, why ...string) flow {
	return flow{from: from, to: to, port: port, want: "deny", why: strings.Join(why, " ")}
}

// withTopology returns the topology directory followed by dir/name for each name.
func withTopology(dir string, names ...string) []string {
	out := []string{topology}
	for _, n := range names {
		out = append(out, dir+"/"+n)
	}
	return out
}

// brokenFiles are manifests kept verbatim from a seed although they are
// invalid: validate must exit 1 and its stderr must mention one of the strings.
var brokenFiles = map[string][]string{
	// seed 002: `spec` indented under `metadata`
	"seed002/20-hostendpoint-broken.yaml": {"metadata.spec"},
	// seed 004: `ingress: {}` and `egress: {}` where lists are required
	"seed004/70-basics/20-allow-all-verbatim.yaml": {"ingress", "egress"},
}

// palisade runs the CLI in-process.
func palisade(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func fileArgs(files []string) []string {
	var args []string
	for _, f := range files {
		args = append(args, "-f", f)
	}
	return args
}

// runSteps validates each step's files together, then checks every flow with
// `palisade explain -o json`.
func runSteps(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := append([]string{"validate"}, fileArgs(s.files)...)
			if code, out, errOut := palisade(args...); code != 0 {
				t.Errorf("step %s: palisade %s: exit %d\nstdout:\n%s\nstderr:\n%s",
					s.name, strings.Join(args, " "), code, out, errOut)
			}
			for _, f := range s.flows {
				checkFlow(t, s, f)
			}
		})
	}
}

func checkFlow(t *testing.T, s step, f flow) {
	t.Helper()
	base := append([]string{"explain"}, fileArgs(s.files)...)
	base = append(base, "--from", f.from, "--to", f.to, "--port", f.port)
	code, out, errOut := palisade(append(base, "-o", "json")...)
	var res struct {
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Verdict == "" {
		t.Errorf("step %s: flow %s -> %s %s: palisade %s -o json: exit %d, no verdict (%v)\nstdout:\n%s\nstderr:\n%s",
			s.name, f.from, f.to, f.port, strings.Join(base, " "), code, err, out, errOut)
		return
	}
	if res.Verdict != f.want {
		reason := ""
		if f.why != "" {
			reason = " (" + f.why + ")"
		}
		_, text, textErr := palisade(base...)
		t.Errorf("step %s: flow %s -> %s %s: verdict %q, want %q%s\n$ palisade %s\n%s%s",
			s.name, f.from, f.to, f.port, res.Verdict, f.want, reason, strings.Join(base, " "), text, textErr)
	}
}

// validateDir runs `palisade validate -f FILE` on every manifest under dir:
// exit 0 for a good file, exit 1 naming the problem for a known-broken one.
func validateDir(t *testing.T, dir string) {
	t.Helper()
	for _, file := range manifests(t, dir) {
		code, out, errOut := palisade("validate", "-f", file)
		want, broken := brokenFiles[file]
		switch {
		case !broken && code != 0:
			t.Errorf("palisade validate -f %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", file, code, out, errOut)
		case broken && code != 1:
			t.Errorf("palisade validate -f %s: exit %d, want 1 (the seed's document is invalid)\nstdout:\n%s\nstderr:\n%s",
				file, code, out, errOut)
		case broken && !containsAny(errOut, want):
			t.Errorf("palisade validate -f %s: stderr does not mention %q\nstderr:\n%s", file, want, errOut)
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// manifests lists the YAML files under dir, sorted.
func manifests(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func TestTopology(t *testing.T) {
	validateDir(t, topology)
	if code, out, errOut := palisade("validate", "-f", topology); code != 0 {
		t.Errorf("palisade validate -f %s: exit %d\nstdout:\n%s\nstderr:\n%s", topology, code, out, errOut)
	}
}

// TestEveryManifestIsUsed keeps the walkthroughs complete: every manifest is
// either part of a step or a known-broken seed document.
func TestEveryManifestIsUsed(t *testing.T) {
	used := map[string]bool{}
	for _, steps := range [][]step{seed000Steps(), seed001Steps(), seed002Steps(), seed003Steps(), seed004Steps()} {
		for _, s := range steps {
			for _, f := range s.files {
				used[f] = true
			}
		}
	}
	for _, f := range manifests(t, ".") {
		if strings.HasPrefix(f, topology+"/") {
			continue
		}
		if _, broken := brokenFiles[f]; !used[f] && !broken {
			t.Errorf("%s is in no step of any seed test", f)
		}
	}
}
