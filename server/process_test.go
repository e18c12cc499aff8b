package server

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// member is one member of a test cluster.
type member struct {
	name                 string
	client, peer, health int
	p                    *proc
}

// (b) Three `palisade server` processes form a cluster; killing the leader
// with SIGKILL loses no acknowledged write, and writes, the controllers and
// the CLI go on working.
func TestThreeMemberClusterSurvivesLeaderKill(t *testing.T) {
	t.Parallel()
	ms, endpoints := startCluster(t, 3)
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Make the server that runs the controllers the etcd leader too, so
	// that one SIGKILL tests both fail-overs.
	leader := moveLeaderTo(t, st, endpoints, controllerLeader(t, ms))
	w := startWriter(st)
	w.waitAcked(t, 50)
	before := len(w.acked())
	killed := time.Now()
	ms[leader].p.kill()
	t.Logf("SIGKILLed leader %s after %d acknowledged writes", ms[leader].name, before)
	w.waitAcked(t, before+50)
	acked, failed, gap := w.stop(killed)
	t.Logf("%d writes acknowledged, %d failed; longest pause between acknowledged writes after the kill: %v",
		len(acked), failed, gap.Round(time.Millisecond))

	list, _, err := st.List(ctxT(t, 10*time.Second), store.Kind(api.KindGlobalNetworkSet), "")
	if err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, o := range list {
		stored = append(stored, o.GetName())
	}
	for _, name := range acked {
		if _, ok := slices.BinarySearch(stored, name); !ok {
			t.Errorf("acknowledged write %s lost", name)
		}
	}
	if newLeader := findLeader(t, st, dropIndex(endpoints, leader)); newLeader < 0 {
		t.Error("no new leader")
	}
	rest := append(slices.Clone(ms[:leader]), ms[leader+1:]...)
	eventually(t, 15*time.Second, func() error { return oneControllerLeader(rest) })
	t.Logf("controllers running on a surviving server %v after the kill", time.Since(killed).Round(time.Millisecond))
	autoHEPWorks(t, st, "cluster-node")
	out, err := cliRun(t, []string{"ETCD_ENDPOINTS=" + strings.Join(endpoints, ",")}, "get", "globalnetworksets")
	if err != nil || !strings.Contains(out, acked[0]) {
		t.Errorf("palisade get globalnetworksets after the kill: %v\n%s", err, out)
	}
}

// startCluster starts n `palisade server` processes forming a new
// cluster, waits until all are ready and one runs the controllers, and
// returns them with their client URLs.
func startCluster(t testing.TB, n int) ([]*member, []string) {
	t.Helper()
	binary(t)
	ports := freePorts(t, 3*n)
	dir := t.TempDir()
	var ms []*member
	var initial []string
	for i := range n {
		m := &member{name: fmt.Sprintf("m%d", i+1), client: ports[3*i], peer: ports[3*i+1], health: ports[3*i+2]}
		ms = append(ms, m)
		initial = append(initial, fmt.Sprintf("%s=http://%s", m.name, addr(m.peer)))
	}
	begin := time.Now()
	var endpoints []string
	for _, m := range ms {
		m.p = startServer(t, addr(m.health), nil, "--name", m.name, "--data-dir", filepath.Join(dir, m.name),
			"--listen", addr(m.client), "--peer-listen", addr(m.peer),
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new")
		endpoints = append(endpoints, "http://"+addr(m.client))
	}
	for _, m := range ms {
		m.p.waitReady(60 * time.Second)
	}
	t.Logf("%d members ready in %v", n, time.Since(begin).Round(time.Millisecond))
	eventually(t, 15*time.Second, func() error { return oneControllerLeader(ms) })
	return ms, endpoints
}

// controllerLeader returns the index of the server that runs the
// controllers.
func controllerLeader(t *testing.T, ms []*member) int {
	t.Helper()
	for i, m := range ms {
		code, body, err := httpGet("http://" + addr(m.health) + "/readiness")
		if err == nil && code == 200 && !strings.Contains(body, "standby") {
			return i
		}
	}
	t.Fatal("no server runs the controllers")
	return -1
}

// moveLeaderTo makes the member at endpoints[target] the etcd leader and
// returns target.
func moveLeaderTo(t *testing.T, st *store.Etcd, endpoints []string, target int) int {
	t.Helper()
	ctx := ctxT(t, 20*time.Second)
	cur := findLeader(t, st, endpoints)
	if cur == target {
		return target
	}
	to, err := st.Client().Status(ctx, endpoints[target])
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoints[cur]}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.MoveLeader(ctx, to.Header.MemberId); err != nil {
		t.Fatalf("moving the etcd leadership: %v", err)
	}
	eventually(t, 10*time.Second, func() error {
		if got := findLeader(t, st, endpoints); got != target {
			return fmt.Errorf("etcd leader is member %d, want %d", got, target)
		}
		return nil
	})
	return target
}

// oneControllerLeader checks that exactly one server runs the controllers
// and the others are ready standbys.
func oneControllerLeader(ms []*member) error {
	var leaders, standbys int
	var bodies []string
	for _, m := range ms {
		code, body, err := httpGet("http://" + addr(m.health) + "/readiness")
		if err != nil {
			return err
		}
		bodies = append(bodies, strings.TrimSpace(body))
		switch {
		case code == 200 && strings.HasPrefix(body, "ready (standby"):
			standbys++
		case code == 200:
			leaders++
		}
	}
	if leaders != 1 || standbys != len(ms)-1 {
		return fmt.Errorf("want one leader and %d standbys: %q", len(ms)-1, bodies)
	}
	return nil
}

func dropIndex(s []string, i int) []string {
	return append(slices.Clone(s[:i]), s[i+1:]...)
}

// findLeader returns the index of the endpoint whose member leads, asking
// each member through the maintenance API.
func findLeader(t *testing.T, st *store.Etcd, endpoints []string) int {
	t.Helper()
	found := -1
	eventually(t, 15*time.Second, func() error {
		for i, ep := range endpoints {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := st.Client().Status(ctx, ep)
			cancel()
			if err == nil && resp.Leader != 0 && resp.Header.MemberId == resp.Leader {
				found = i
				return nil
			}
		}
		return fmt.Errorf("no leader among %v", endpoints)
	})
	return found
}

// writer creates GlobalNetworkSets one after the other and remembers those
// acknowledged.
type writer struct {
	mu       sync.Mutex
	ok       []string
	okAt     []time.Time
	failed   int
	quit     chan struct{}
	finished chan struct{}
}

func startWriter(st store.Store) *writer {
	w := &writer{quit: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(w.finished)
		for i := 0; ; i++ {
			select {
			case <-w.quit:
				return
			default:
			}
			name := fmt.Sprintf("w%05d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err := st.Create(ctx, netset(name))
			cancel()
			w.mu.Lock()
			if err == nil {
				w.ok, w.okAt = append(w.ok, name), append(w.okAt, time.Now())
			} else {
				w.failed++
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *writer) acked() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ok)
}

func (w *writer) waitAcked(t *testing.T, n int) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		if got := len(w.acked()); got < n {
			return fmt.Errorf("%d acknowledged writes, want %d", got, n)
		}
		return nil
	})
}

// stop ends the writer and returns the acknowledged names, the failure
// count and the longest pause between acknowledged writes from since on
// (the write outage around a kill).
func (w *writer) stop(since time.Time) ([]string, int, time.Duration) {
	close(w.quit)
	<-w.finished
	w.mu.Lock()
	defer w.mu.Unlock()
	var outage time.Duration
	prev := since
	for _, at := range w.okAt {
		if at.After(since) {
			outage = max(outage, at.Sub(prev))
			prev = at
		}
	}
	return slices.Clone(w.ok), w.failed, outage
}

// cliRun runs the palisade binary with extra environment.
func cliRun(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// (c) A server killed with SIGKILL restarts on its data directory with all
// its data.
func TestKilledServerRestartsWithItsData(t *testing.T) {
	t.Parallel()
	binary(t)
	ports := freePorts(t, 3)
	args := []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--listen", addr(ports[0]), "--peer-listen", addr(ports[1])}
	p := startServer(t, addr(ports[2]), nil, args...)
	p.waitReady(30 * time.Second)
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{"http://" + addr(ports[0])}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := ctxT(t, 60*time.Second)
	for i := range 100 {
		if _, err := st.Create(ctx, netset(fmt.Sprintf("n%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	autoHEPWorks(t, st, "restart-node")
	before, rev, err := st.List(ctx, store.Kind(api.KindGlobalNetworkSet), "")
	if err != nil {
		t.Fatal(err)
	}
	p.kill()

	begin := time.Now()
	p2 := startServer(t, addr(ports[2]), nil, args...)
	p2.waitReady(30 * time.Second)
	t.Logf("restarted and ready in %v", time.Since(begin).Round(time.Millisecond))
	after, rev2, err := st.List(ctx, store.Kind(api.KindGlobalNetworkSet), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || len(after) != 100 || rev2 < rev {
		t.Fatalf("after restart: %d network sets at revision %d; before: %d at %d", len(after), rev2, len(before), rev)
	}
	for i := range after {
		if after[i].GetName() != before[i].GetName() || after[i].GetResourceVersion() != before[i].GetResourceVersion() {
			t.Errorf("%s@%s became %s@%s", before[i].GetName(), before[i].GetResourceVersion(),
				after[i].GetName(), after[i].GetResourceVersion())
		}
	}
	o, err := st.Get(ctx, kccKey)
	if err != nil || !o.(*api.KubeControllersConfiguration).AutoHostEndpointsEnabled() {
		t.Fatalf("KubeControllersConfiguration after restart: %v (the Enabled setting must survive)", err)
	}
	if err := hepHas(st, "restart-node-auto-hep", map[string]string{"role": "master"}, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

// (e) SIGTERM stops the server cleanly, even while clients watch (etcd
// alone waits 7 s for their streams): exit status 0 within a few seconds,
// and the data directory is reusable at once.
func TestSIGTERMExitsCleanly(t *testing.T) {
	t.Parallel()
	binary(t)
	ports := freePorts(t, 3)
	args := []string{"--data-dir", filepath.Join(t.TempDir(), "data"), "--listen", addr(ports[0]), "--peer-listen", addr(ports[1])}
	p := startServer(t, addr(ports[2]), nil, args...)
	p.waitReady(30 * time.Second)
	for range 2 {
		st, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{"http://" + addr(ports[0])}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ch, err := st.Watch(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for range ch {
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the watches are established
	begin := time.Now()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	state, err := p.exited(5 * time.Second)
	if err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}
	t.Logf("exited with %v %v after SIGTERM", state, time.Since(begin).Round(time.Millisecond))
	if state.ExitCode() != 0 {
		t.Fatalf("exit status %d after SIGTERM", state.ExitCode())
	}
	if log := p.log(); !strings.Contains(log, "server stopped") || strings.Contains(log, "level=ERROR") {
		t.Errorf("shutdown log:\n%s", log)
	}
	p2 := startServer(t, addr(ports[2]), nil, args...)
	p2.waitReady(30 * time.Second)
}
