package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/controller"
	"github.com/palisade-net/palisade/store"
)

// binDir holds the palisade binary that TestMain builds.
var (
	binDir   string
	binPath  string
	binErr   error
	binOnce  sync.Once
	inCI     = os.Getenv("CI") == "true"
	quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func TestMain(m *testing.M) {
	defaultsEvery = 200 * time.Millisecond // the tests do not wait seconds for a deleted default to return
	var err error
	binDir, err = os.MkdirTemp("", "palisade-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// binary builds the palisade binary once (only the tests that run
// processes need it) and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if _, err := exec.LookPath("go"); err != nil {
			binErr = fmt.Errorf("no go toolchain to build palisade: %w", err)
			return
		}
		binPath = filepath.Join(binDir, "palisade")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/palisade")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/palisade: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		cannotRun(t, binErr.Error())
	}
	return binPath
}

// cannotRun fails the test in CI and skips it elsewhere.
func cannotRun(t testing.TB, why string) {
	t.Helper()
	if inCI {
		t.Fatalf("cannot run (CI=true, so this fails): %s", why)
	}
	t.Skip(why)
}

// freePorts returns n distinct free localhost TCP ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			cannotRun(t, "no free localhost port: "+err.Error())
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// eventually retries check until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// httpGet returns the status and body of a health endpoint.
func httpGet(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func readyAt(healthAddr string) error {
	code, body, err := httpGet("http://" + healthAddr + "/readiness")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("readiness %d: %s", code, body)
	}
	return nil
}

// proc is a `palisade server` process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	health string
	logs   *bytes.Buffer
	mu     *sync.Mutex
	done   chan struct{}
	state  *os.ProcessState
}

// lockedWriter serialises writes to a buffer shared with the test.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startServer starts `palisade server args...` with the health endpoints on
// healthAddr. Cleanup kills it by pid and shows its log if the test failed.
func startServer(t testing.TB, healthAddr string, env []string, args ...string) *proc {
	t.Helper()
	bin := binary(t)
	args = append([]string{"server", "--health-listen", healthAddr, "--log-level", "info"}, args...)
	p := &proc{t: t, cmd: exec.Command(bin, args...), health: healthAddr, logs: &bytes.Buffer{}, mu: &sync.Mutex{},
		done: make(chan struct{})}
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout = lockedWriter{p.mu, p.logs}
	p.cmd.Stderr = lockedWriter{p.mu, p.logs}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting palisade server: %v", err)
	}
	go func() { _ = p.cmd.Wait(); p.state = p.cmd.ProcessState; close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("palisade %s (pid %d) log:\n%s", strings.Join(args, " "), p.cmd.Process.Pid, p.log())
		}
	})
	return p
}

// cleanEnv is the test's environment without ETCD_* variables.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			out = append(out, kv)
		}
	}
	return out
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// kill sends SIGKILL (if the process still runs) and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// waitReady waits until /readiness answers 200.
func (p *proc) waitReady(timeout time.Duration) {
	p.t.Helper()
	eventually(p.t, timeout, func() error {
		select {
		case <-p.done:
			return fmt.Errorf("palisade server exited: %v", p.state)
		default:
		}
		return readyAt(p.health)
	})
}

// exited waits for the process to end and returns how long that took.
func (p *proc) exited(timeout time.Duration) (*os.ProcessState, error) {
	select {
	case <-p.done:
		return p.state, nil
	case <-time.After(timeout):
		return nil, errors.New("still running")
	}
}

// --- objects ---

func netset(name string) *api.GlobalNetworkSet {
	n := &api.GlobalNetworkSet{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"t": "x"}},
		Spec: api.NetworkSetSpec{Nets: []string{"10.0.0.0/8"}}}
	api.SetTypeMeta(n)
	return n
}

func calicoNode(name string, labels map[string]string, ip string) *api.Node {
	n := &api.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: api.NodeSpec{Addresses: []api.NodeAddress{{Address: ip, Type: api.NodeAddressInternalIP}}}}
	api.SetTypeMeta(n)
	return n
}

var (
	kccKey  = store.Key{Kind: store.Kind(api.KindKubeControllersConfiguration), Name: controller.ConfigName}
	hepKey  = func(n string) store.Key { return store.Key{Kind: store.Kind(api.KindHostEndpoint), Name: n} }
	nodeKey = func(n string) store.Key { return store.Key{Kind: store.Kind(api.KindNode), Name: n} }
)

// enableAutoHEPs sets autoCreate Enabled, as `palisade patch
// kubecontrollersconfiguration default` does, retrying on conflicts.
func enableAutoHEPs(t *testing.T, st store.Store) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		o, err := st.Get(ctx, kccKey)
		if err != nil {
			return err
		}
		k := o.(*api.KubeControllersConfiguration)
		k.Spec.Controllers.Node.HostEndpoint.AutoCreate = autohep.Enabled
		_, err = st.Update(ctx, k)
		return err
	})
}

// hepHas checks a host endpoint's labels (a subset) and expected IPs.
func hepHas(st store.Store, name string, labels map[string]string, ips string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o, err := st.Get(ctx, hepKey(name))
	if err != nil {
		return err
	}
	h := o.(*api.HostEndpoint)
	for k, v := range labels {
		if got, ok := h.Labels[k]; !ok || got != v {
			return fmt.Errorf("%s labels %v, want %s=%s", name, h.Labels, k, v)
		}
	}
	if h.Labels[autohep.CreatedByLabel] != autohep.CreatedByValue || h.Spec.InterfaceName != "*" {
		return fmt.Errorf("%s is not an automatic endpoint: %+v", name, h)
	}
	if got := strings.Join(h.Spec.ExpectedIPs, ","); got != ips {
		return fmt.Errorf("%s expectedIPs %s, want %s", name, got, ips)
	}
	return nil
}

// autoHEPWorks enables automatic host endpoints, adds a node, and checks
// that its endpoint follows a label change within a second.
func autoHEPWorks(t *testing.T, st store.Store, node string) {
	t.Helper()
	enableAutoHEPs(t, st)
	ctx := ctxT(t, 30*time.Second)
	if _, err := st.Create(ctx, calicoNode(node, map[string]string{"role": "worker"}, "10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		return hepHas(st, node+"-auto-hep", map[string]string{"role": "worker"}, "10.0.0.1")
	})
	o, err := st.Get(ctx, nodeKey(node))
	if err != nil {
		t.Fatal(err)
	}
	o.SetLabels(map[string]string{"role": "master"})
	if _, err := st.Update(ctx, o); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	eventually(t, time.Second, func() error {
		return hepHas(st, node+"-auto-hep", map[string]string{"role": "master"}, "10.0.0.1")
	})
	t.Logf("node label change reached %s-auto-hep in %v", node, time.Since(begin).Round(time.Millisecond))
}
