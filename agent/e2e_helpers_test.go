package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
)

// The end-to-end topology: node n1 (eth0 198.19.0.2) with an uplink to an
// outside host "ext" (198.19.0.254), a pod app/web (198.18.1.10) behind its
// cali veth, and `palisade server` in a namespace of its own, serving etcd
// on a unix socket that every namespace reaches.
const (
	e2eNode  = "n1"
	e2eNodeA = "198.19.0.2"
	e2eNode6 = "fd00:19::2"
	e2eExtA  = "198.19.0.254"
	e2eExt6  = "fd00:19::fe"
	e2ePodA  = "198.18.1.10"
	e2eGW    = "198.19.255.1"
)

var inCI = os.Getenv("CI") == "true"

// cannotRun fails the test in CI and skips it elsewhere.
func cannotRun(t testing.TB, why string) {
	t.Helper()
	if inCI {
		t.Fatalf("cannot run (CI=true, so this fails): %s", why)
	}
	t.Skip(why)
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds ./cmd/palisade once per test run.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if _, err := exec.LookPath("go"); err != nil {
			binErr = fmt.Errorf("no go toolchain to build palisade: %w", err)
			return
		}
		if binDir, binErr = os.MkdirTemp("", "pal-agent-bin"); binErr != nil {
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

// proc is a palisade process the test started; Cleanup kills it by pid.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.Write(b)
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// startIn runs `palisade args...` inside a namespace with ip netns exec
// (which execs, so the pid is palisade's).
func startIn(t testing.TB, ns *netlab.NS, name string, args ...string) *proc {
	t.Helper()
	return startInEnv(t, ns, cleanEnv(), name, args...)
}

// startInEnv is startIn with the process's environment.
func startInEnv(t testing.TB, ns *netlab.NS, env []string, name string, args ...string) *proc {
	t.Helper()
	full := append([]string{"netns", "exec", ns.Name, binary(t)}, args...)
	p := &proc{name: name, cmd: exec.Command("ip", full...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("%s (pid %d) log:\n%s", name, p.cmd.Process.Pid, p.log())
		}
	})
	return p
}

// signal sends sig (if the process still runs) and waits for it to end.
func (p *proc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
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

// e2e is a running end-to-end setup.
type e2e struct {
	lab            *netlab.Lab
	srvNS          *netlab.NS
	node, ext, pod *netlab.NS
	dir            string
	endpoint       string // unix://... of etcd
	server, agent  *proc
	health         *http.Client
}

// newE2E builds the namespaces, starts the server and waits for it.
func newE2E(t testing.TB) *e2e {
	t.Helper()
	netlab.RequireRoot(t)
	if _, err := exec.LookPath("nft"); err != nil {
		cannotRun(t, "no nft binary: "+err.Error())
	}
	binary(t)
	dir, err := os.MkdirTemp("", "pal-ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &e2e{lab: netlab.ForTest(t, "pal-ag"), dir: dir, endpoint: "unix://" + filepath.Join(dir, "etcd.sock")}
	must(t, e.build())
	for _, ns := range []*netlab.NS{e.node, e.ext, e.pod} {
		must(t, ns.ServeTCP(21, 22, 80, 8080))
	}
	e.health = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return e.node.DialTCP(ctx, netip.AddrPort{}, netip.MustParseAddrPort(addr), 2*time.Second)
		}}}
	e.startServer(t)
	return e
}

// startServer starts `palisade server` in its namespace (etcd data in the
// test's directory, clients on the unix socket) and waits until the CLI
// can read from it.
func (e *e2e) startServer(t testing.TB) {
	t.Helper()
	e.server = startIn(t, e.srvNS, "palisade server", "server", "--data-dir", filepath.Join(e.dir, "data"),
		"--listen", e.endpoint, "--peer-listen", "127.0.0.1:2380", "--health-listen", "127.0.0.1:9099")
	eventually(t, 30*time.Second, func() error {
		select {
		case <-e.server.done:
			return fmt.Errorf("palisade server exited:\n%s", e.server.log())
		default:
		}
		_, err := e.cli("get", "tiers")
		return err
	})
}

// build makes the namespaces and links.
func (e *e2e) build() error {
	var err error
	for _, x := range []struct {
		ns   **netlab.NS
		name string
	}{{&e.srvNS, "server"}, {&e.node, "node"}, {&e.ext, "ext"}, {&e.pod, "pod"}} {
		if *x.ns, err = e.lab.NewNS(x.name); err != nil {
			return err
		}
	}
	if err := e.node.EnableForwarding(); err != nil {
		return err
	}
	up := netlab.End{NS: e.node, Name: "eth0", Addrs: prefixes(e2eNodeA+"/24", e2eNode6+"/64")}
	out := netlab.End{NS: e.ext, Name: "eth0", Addrs: prefixes(e2eExtA+"/24", e2eExt6+"/64")}
	if err := e.lab.Veth(up, out); err != nil {
		return err
	}
	if err := e.ext.AddRoute(netlab.Route{Dst: netip.MustParsePrefix("198.18.0.0/16"), Via: netip.MustParseAddr(e2eNodeA)}); err != nil {
		return err
	}
	pod := netlab.End{NS: e.pod, Name: "eth0", Addrs: prefixes(e2ePodA + "/32")}
	host := netlab.End{NS: e.node, Name: policy.PodInterfaceName("app", "web")}
	if err := e.lab.Veth(host, pod); err != nil {
		return err
	}
	if err := netlab.HostRoutes(host, pod); err != nil {
		return err
	}
	return netlab.Gateway(pod, host, netip.MustParseAddr(e2eGW))
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cli runs the palisade command line against the server.
func (e *e2e) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(cleanEnv(), "ETCD_ENDPOINTS="+e.endpoint)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("palisade %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// apply applies YAML with the CLI.
func (e *e2e) apply(t testing.TB, yaml string) {
	t.Helper()
	f, err := os.CreateTemp(e.dir, "m-*.yaml")
	must(t, err)
	_, err = f.WriteString(yaml)
	must(t, err)
	must(t, f.Close())
	if _, err := e.cli("apply", "-f", f.Name()); err != nil {
		t.Fatal(err)
	}
}

// startAgent runs `palisade agent` in the node namespace, with extra flags.
func (e *e2e) startAgent(t testing.TB, extra ...string) *proc {
	t.Helper()
	args := append([]string{"agent", "--node", e2eNode, "--etcd-endpoints", e.endpoint,
		"--node-labels", "rack=r1", "--probe-interval", "200ms", "--log-level", "debug",
		"--state-file", filepath.Join(e.dir, "ruleset.state")}, extra...)
	e.agent = startIn(t, e.node, "palisade agent", args...)
	return e.agent
}

// ready waits for the agent's /readiness.
func (e *e2e) ready(t testing.TB, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		select {
		case <-e.agent.done:
			return fmt.Errorf("palisade agent exited:\n%s", e.agent.log())
		default:
		}
		code, body, err := e.get("/readiness")
		if err == nil && code != 200 {
			err = fmt.Errorf("/readiness %d: %s", code, body)
		}
		return err
	})
}

// get fetches an agent health endpoint from inside the node namespace.
func (e *e2e) get(path string) (int, string, error) {
	resp, err := e.health.Get("http://127.0.0.1:9091" + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// probe is a TCP connect with a one-byte exchange from one namespace to an
// address; nil when it answered.
func probe(from *netlab.NS, dst string, port uint16, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	return from.Probe(ctx, netlab.Probe{Proto: "tcp", Dst: netip.MustParseAddr(dst), DstPort: port, Timeout: timeout})
}

// expect checks a set of probes: allowed ones answer, denied ones time out.
func expect(t testing.TB, checks ...check) {
	t.Helper()
	for _, c := range checks {
		err := probe(c.from, c.dst, c.port, 300*time.Millisecond)
		switch {
		case c.allow && err != nil:
			t.Errorf("%s: want allowed, got %v", c, err)
		case !c.allow && err == nil:
			t.Errorf("%s: want denied, got an answer", c)
		case !c.allow && !netlab.IsTimeout(err):
			t.Errorf("%s: want a drop (timeout), got %v", c, err)
		}
	}
}

type check struct {
	from  *netlab.NS
	dst   string
	port  uint16
	allow bool
	why   string
}

func (c check) String() string {
	return fmt.Sprintf("%s -> %s:%d (%s)", c.from.Name, c.dst, c.port, c.why)
}
