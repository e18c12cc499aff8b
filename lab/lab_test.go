package lab_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/cli"
	"github.com/palisade-net/palisade/internal/kubetest"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/lab"
)

// execEnv makes the test binary act as the palisade binary: the lab starts
// the server, the agents and the responders by running Exe (this binary)
// with palisade's arguments.
const execEnv = "PALISADE_LAB_TEST_EXEC"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Targets of issue 5.
const (
	upTarget  = 30 * time.Second
	runTarget = 5 * time.Minute
)

// testConfig is a lab in its own state directory, run by this binary, with
// PALISADE_LAB_EXTRA (default 10) extra flows per step on which the kernel
// and explain must agree.
func testConfig(t *testing.T, name string, out *bytes.Buffer) lab.Config {
	t.Helper()
	netlab.RequireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), name)
	// What a killed earlier run of this test left behind.
	if err := lab.Down(lab.Config{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	extra := 10
	if v, err := strconv.Atoi(os.Getenv("PALISADE_LAB_EXTRA")); err == nil {
		extra = v
	}
	return lab.Config{Dir: dir, Exe: exe, Env: []string{execEnv + "=1"}, Palisade: cli.Run, Out: out, Extra: extra}
}

// up brings the lab up and takes it down when the test ends, checking
// that nothing of it is left.
func up(t *testing.T, cfg lab.Config) (*lab.Lab, time.Duration) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	l, err := lab.Up(ctx, cfg)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("lab up: %v\n%s", err, cfg.Out)
	}
	t.Cleanup(func() {
		l.Close()
		if err := lab.Down(lab.Config{Dir: cfg.Dir}); err != nil {
			t.Error(err)
		}
		checkGone(t, l.Topology(), cfg.Dir)
	})
	return l, took
}

// checkGone fails if a namespace, a process or the directory of the lab
// is left.
func checkGone(t *testing.T, topo *lab.Topology, dir string) {
	t.Helper()
	for _, n := range topo.Namespaces() {
		if _, err := os.Stat("/var/run/netns/" + n); err == nil {
			t.Errorf("namespace %s is left after down", n)
		}
		if _, err := os.Stat("/etc/netns/" + n); err == nil {
			t.Errorf("/etc/netns/%s (the pod's hosts file) is left after down", n)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s is left after down", dir)
	}
	if pids := marked(dir); len(pids) > 0 {
		t.Errorf("processes %v of the lab are left after down", pids)
	}
}

// marked lists the processes carrying the lab's marker for dir.
func marked(dir string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, []byte("PALISADE_LAB_DIR="+dir+"\x00")) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestLab brings the lab up and runs every scenario: each flow's kernel
// verdict and explain's verdict must both be the expected one.
func TestLab(t *testing.T) {
	var out bytes.Buffer
	cfg := testConfig(t, "palisade-lab-test", &out)
	l, upTook := up(t, cfg)
	t.Logf("lab up: %v (target %v)", upTook.Round(time.Millisecond), upTarget)
	if upTook > upTarget {
		t.Errorf("lab up took %v, target %v", upTook, upTarget)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "status", "--dir", cfg.Dir}, "healthy"},
		{[]string{"lab", "env", "--dir", cfg.Dir}, "export ETCD_ENDPOINTS=unix://" + filepath.Join(cfg.Dir, "etcd.sock")},
		// A pod answers HTTP (the seeds curl): a GET from another pod, with bash alone.
		{[]string{"lab", "exec", "yaobank/summary", "--", "bash", "-c",
			`exec 3<>/dev/tcp/198.18.1.10/80; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3`},
			"palisade lab: 198.18.1.10:80 answered"},
		// Pods resolve services as a pod's DNS does (the seeds curl them by name).
		{[]string{"lab", "exec", "staging/curl", "--", "bash", "-c",
			`exec 3<>/dev/tcp/frontend.staging.svc.cluster.local/80; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3`},
			"palisade lab: 198.18.0.90:80 answered"},
		{[]string{"lab", "exec", "staging/curl", "--", "getent", "hosts", "frontend"}, "198.18.0.90"},
		{[]string{"lab", "exec", "admin/curl", "--", "getent", "hosts", "frontend.staging"}, "198.18.0.90"},
		// A lab node's kernel counters and its agent's flow log (empty: flow logs are off).
		{[]string{"dataplane", "counters", "--node", "node1"}, "Profile kns.yaobank"},
		{[]string{"flows", "--node", "node1", "--last", "5"}, ""},
	} {
		var o, e bytes.Buffer
		if code := cli.Run(c.args, strings.NewReader(""), &o, &e); code != 0 || !strings.Contains(o.String(), c.want) {
			t.Errorf("palisade %s: exit %d, want %q in\n%s%s", strings.Join(c.args, " "), code, c.want, o.String(), e.String())
		}
	}
	start := time.Now()
	for _, sc := range lab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			out.Reset()
			sum, err := l.Run(context.Background(), sc.Name)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, f := range sum.Failed() {
				t.Errorf("%s / %s: %s: want %s, kernel %s (%s), explain %s", f.Scenario, f.Step, f, f.Want, f.Kernel, f.Detail, f.Explain)
			}
			for _, p := range sum.Problems {
				t.Error(p)
			}
			if t.Failed() || testing.Verbose() {
				t.Log("\n" + out.String())
			}
		})
	}
	took := time.Since(start)
	t.Logf("every scenario: %v (target %v)", took.Round(time.Millisecond), runTarget)
	if took > runTarget {
		t.Errorf("the scenarios took %v, target %v", took, runTarget)
	}
}

// TestDownAfterCrash: a lab whose records are lost (a crash between
// starting a process and writing it down, or a deleted state file) is still
// removed completely by down.
func TestDownAfterCrash(t *testing.T) {
	var out bytes.Buffer
	cfg := testConfig(t, "palisade-lab-crash", &out)
	l, _ := up(t, cfg)
	for _, f := range []string{"procs.jsonl", "state.json"} {
		if err := os.Remove(filepath.Join(cfg.Dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if len(marked(cfg.Dir)) == 0 {
		t.Fatal("no process of the lab found before down")
	}
	out.Reset()
	cfg.Out = &out
	l.Close()
	if err := lab.Down(cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "process(es) ended") {
		t.Errorf("down said: %s", out.String())
	}
	checkGone(t, l.Topology(), cfg.Dir)
}

// TestLabKube runs every scenario with a real kube-apiserver beside the
// lab (--kube): the topology's pods, namespaces, nodes and services are
// Kubernetes objects the server mirrors, the Kubernetes files of the steps
// and the seeds' kubectl commands go through a real kubectl, and kernel
// and explain must agree on every flow, as without Kubernetes.
func TestLabKube(t *testing.T) {
	bin := kubetest.BinDir(t)
	var out bytes.Buffer
	cfg := testConfig(t, "palisade-lab-kube", &out)
	cfg.Kube = true
	l, upTook := up(t, cfg)
	t.Logf("lab up --kube: %v", upTook.Round(time.Millisecond))
	var o, e bytes.Buffer
	kubeconfig := filepath.Join(cfg.Dir, "kube", "kubeconfig")
	if code := cli.Run([]string{"lab", "env", "--dir", cfg.Dir}, strings.NewReader(""), &o, &e); code != 0 ||
		!strings.Contains(o.String(), "export KUBECONFIG="+kubeconfig) {
		t.Errorf("lab env: exit %d, want KUBECONFIG in\n%s%s", code, o.String(), e.String())
	}
	kc := exec.Command(filepath.Join(bin, "kubectl"), "get", "pods", "-A", "-o", "wide")
	kc.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	pods, err := kc.CombinedOutput()
	if err != nil || strings.Count(string(pods), "Running") != len(l.Topology().Pods) {
		t.Errorf("kubectl get pods: %v, want %d running pods:\n%s", err, len(l.Topology().Pods), pods)
	}
	for _, sc := range lab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			out.Reset()
			sum, err := l.Run(context.Background(), sc.Name)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, f := range sum.Failed() {
				t.Errorf("%s / %s: %s: want %s, kernel %s (%s), explain %s", f.Scenario, f.Step, f, f.Want, f.Kernel, f.Detail, f.Explain)
			}
			for _, p := range sum.Problems {
				t.Error(p)
			}
			if !strings.Contains(out.String(), "$ kubectl ") && sc.Name != "seed000" && sc.Name != "seed003" {
				t.Errorf("%s ran no kubectl command:\n%s", sc.Name, out.String())
			}
			if t.Failed() || testing.Verbose() {
				t.Log("\n" + out.String())
			}
		})
	}
}

// TestLabEmpty: `lab up --empty` leaves the seeds' namespaces, pods and
// services out of the datastore, so a seed's own apply creates them.
func TestLabEmpty(t *testing.T) {
	var out bytes.Buffer
	cfg := testConfig(t, "palisade-lab-empty", &out)
	cfg.Empty = true
	up(t, cfg)
	run := func(args ...string) (int, string) {
		var o, e bytes.Buffer
		code := cli.Run(append(args, "--etcd-endpoints", "unix://"+filepath.Join(cfg.Dir, "etcd.sock")),
			strings.NewReader(""), &o, &e)
		return code, o.String() + e.String()
	}
	if code, got := run("get", "pods", "-A"); code != 0 || strings.Contains(got, "yaobank") {
		t.Fatalf("get pods after up --empty: exit %d\n%s", code, got)
	}
	if code, got := run("apply", "-f", filepath.Join(cfg.Dir, "examples", "topology", "10-namespaces.yaml")); code != 0 {
		t.Fatalf("apply the namespaces: exit %d\n%s", code, got)
	}
	if code, got := run("apply", "-f", filepath.Join(cfg.Dir, "examples", "topology", "20-yaobank.yaml")); code != 0 ||
		!strings.Contains(got, "Successfully applied") {
		t.Fatalf("apply the yaobank pods: exit %d\n%s", code, got)
	}
	if code, got := run("get", "pods", "-n", "yaobank"); code != 0 || !strings.Contains(got, "customer") {
		t.Errorf("get pods -n yaobank: exit %d\n%s", code, got)
	}
}
