package lab_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/kubetest"
	"github.com/palisade-net/palisade/lab"
)

// TestSeedsVerbatim runs every command of every seed as the seed writes it,
// in the seed's order, against `palisade lab up --kube --empty` (a real
// kube-apiserver and kubectl; the seeds' own commands create their
// namespaces, pods and services): palisade in place of calicoctl, `palisade
// lab exec NS/POD --` in place of `kubectl exec -ti POD -n NS --` (the lab
// has no kubelet to exec through), the lab's addresses in place of the
// seed cluster's, and commands the seed runs "from host1" run in host1.
// Each command must give the result the seed documents. A command that is
// broken in the seed itself (YAML pasted with the wrong indentation, a
// misspelt verb, a flag kubectl no longer has, a file name that was never
// written) must fail with a message that names the problem; the corrected
// command follows it. The seed files are in seedsVerbatim*.go.
func TestSeedsVerbatim(t *testing.T) {
	kubeBin := kubetest.BinDir(t)
	var out bytes.Buffer
	cfg := testConfig(t, "palisade-lab-verbatim", &out)
	cfg.Kube, cfg.Empty, cfg.Extra = true, true, 0
	l, _ := up(t, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(cfg.Dir, "logs", "host-controller.log"))
			t.Logf("the lab controller's log:\n%s", log)
		}
	})
	v := &verbatim{t: t, l: l, dir: cfg.Dir, work: t.TempDir(), bin: t.TempDir(), kubeBin: kubeBin}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec env %s=1 '%s' \"$@\"\n", execEnv, cfg.Exe)
	if err := os.WriteFile(filepath.Join(v.bin, "palisade"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sec := range verbatimSections(l.Topology()) {
		t.Run(sec.name, func(t *testing.T) {
			v.t = t
			if err := l.Reset(context.Background()); err != nil {
				t.Fatalf("reset: %v\n%s", err, out.String())
			}
			for _, n := range sec.notRun {
				t.Logf("not run: %s", n)
			}
			v.addrs = sec.addrs
			for _, c := range sec.pre {
				v.run(c, true)
			}
			for _, c := range sec.cmds {
				v.run(c, false)
			}
		})
	}
}

// vcmd is one command of a seed.
type vcmd struct {
	on    string // "" the user's shell; else the lab node or host it runs on
	line  string // as the seed writes it (heredocs included)
	exit  int    // the exit status the seed implies; -1: any failure
	want  []string
	retry bool // repeat until it gives the result (a controller's work), 30 s at most
	// settle waits until every node programs the datastore's state first
	// (the command sends packets).
	settle bool
	// broken says why the seed's own line fails (exit must then be -1 and
	// want name the problem).
	broken string
}

type vsection struct {
	name   string
	pre    []vcmd // what the seed assumes was done before (not its commands)
	cmds   []vcmd
	addrs  map[string]string // the seed cluster's address -> the lab's
	notRun []string          // the seed's commands that cannot run here, and why
}

type verbatim struct {
	t                       *testing.T
	l                       *lab.Lab
	dir, work, bin, kubeBin string
	addrs                   map[string]string
}

var kubectlExec = regexp.MustCompile(`kubectl exec -ti (\S+)(?: -n (\S+))? -- `)

// translate turns a seed line into the command run here.
func (v *verbatim) translate(line string) string {
	line = regexp.MustCompile(`\bcalicoctl\b`).ReplaceAllString(line, "palisade")
	line = kubectlExec.ReplaceAllStringFunc(line, func(m string) string {
		s := kubectlExec.FindStringSubmatch(m)
		ns := s[2]
		if ns == "" {
			ns = "default"
		}
		return "palisade lab exec " + ns + "/" + s[1] + " -- "
	})
	for from, to := range v.addrs {
		line = strings.ReplaceAll(line, from, to)
	}
	return line
}

func (v *verbatim) run(c vcmd, pre bool) {
	t := v.t
	t.Helper()
	if c.settle {
		if err := v.l.Settle(context.Background()); err != nil {
			t.Fatalf("settle before %q: %v", c.line, err)
		}
	}
	line := v.translate(c.line)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := v.shell(c.on, line)
		problem := v.judge(c, code, out)
		if problem == "" {
			return
		}
		if !c.retry || time.Now().After(deadline) {
			what := "seed command"
			if pre {
				what = "precondition"
			}
			t.Errorf("%s %q (run as %q on %q): %s\n%s", what, c.line, line, c.on, problem, out)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (v *verbatim) judge(c vcmd, code int, out string) string {
	switch {
	case c.exit == -1 && code == 0:
		return "exit 0, want a failure"
	case c.exit != -1 && code != c.exit:
		return fmt.Sprintf("exit %d, want %d", code, c.exit)
	}
	for _, w := range c.want {
		if !strings.Contains(out, v.translate(w)) {
			return fmt.Sprintf("the output does not contain %q", v.translate(w))
		}
	}
	return ""
}

// shell runs line with bash as the seed's user would: palisade and kubectl
// on PATH, pointed at the lab (palisade lab env), in one working directory
// for the whole run; on a lab host or node through palisade lab exec.
func (v *verbatim) shell(on, line string) (int, string) {
	script := `eval "$(palisade lab env --dir ` + v.dir + `)"` + "\n" + line + "\n"
	args := []string{"-c", script}
	name := "bash"
	if on != "" {
		name = filepath.Join(v.bin, "palisade")
		args = []string{"lab", "exec", on, "--", "bash", "-c", line}
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = v.work
	cmd.Env = append(os.Environ(), "LAB_EXAMPLES="+filepath.Join(v.dir, "examples"), "PATH="+v.bin+string(os.PathListSeparator)+v.kubeBin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), b.String()
	}
	if err != nil {
		return -2, b.String() + err.Error()
	}
	return 0, b.String()
}
