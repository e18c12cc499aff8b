package examples_test

// One test per seed walkthrough. Each step is the list of -f arguments a user
// gives palisade (the shared topology first, then the seed's files in order;
// a later document with the same kind, namespace and name replaces an earlier
// one), and the flows whose verdicts the seed text and docs/semantics.md imply.
//
// Every expectation is derived from the seed text and the behavioural spec
// (docs/semantics.md, cited as §N), never from running palisade. Where
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
	"github.com/palisade-net/palisade/examples"
)

// The walkthroughs themselves (steps, flows, expectations) are in package
// examples (walkthrough*.go), shared with `palisade lab`.
type (
	step = examples.Step
	flow = examples.Flow
)

const topology = examples.Topology

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
		t.Run(s.Name, func(t *testing.T) {
			args := append([]string{"validate"}, fileArgs(s.Files)...)
			if code, out, errOut := palisade(args...); code != 0 {
				t.Errorf("step %s: palisade %s: exit %d\nstdout:\n%s\nstderr:\n%s",
					s.Name, strings.Join(args, " "), code, out, errOut)
			}
			for _, f := range s.Flows {
				checkFlow(t, s, f)
			}
		})
	}
}

func checkFlow(t *testing.T, s step, f flow) {
	t.Helper()
	base := append([]string{"explain"}, fileArgs(s.Files)...)
	base = append(base, "--from", f.From, "--to", f.To, "--port", f.Port)
	code, out, errOut := palisade(append(base, "-o", "json")...)
	var res struct {
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Verdict == "" {
		t.Errorf("step %s: flow %s -> %s %s: palisade %s -o json: exit %d, no verdict (%v)\nstdout:\n%s\nstderr:\n%s",
			s.Name, f.From, f.To, f.Port, strings.Join(base, " "), code, err, out, errOut)
		return
	}
	if res.Verdict != f.Want {
		reason := ""
		if f.Why != "" {
			reason = " (" + f.Why + ")"
		}
		_, text, textErr := palisade(base...)
		t.Errorf("step %s: flow %s -> %s %s: verdict %q, want %q%s\n$ palisade %s\n%s%s",
			s.Name, f.From, f.To, f.Port, res.Verdict, f.Want, reason, strings.Join(base, " "), text, textErr)
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
	for _, seed := range examples.Seeds() {
		steps := examples.Walkthrough(seed)
		for _, s := range steps {
			for _, f := range s.Files {
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
