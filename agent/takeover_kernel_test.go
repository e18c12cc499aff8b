package agent

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRestartTakesOverTable is issue 9's B6 proof: a stream of new
// connections (a failsafe, a denied port, a policy-allowed port, a
// forwarded pod) and one established connection run while the agent is
// restarted (SIGTERM, SIGKILL, with a datastore change while it was down)
// and while its table is reloaded whole (a foreign change it repairs).
// No probe may be wrongly allowed and no failsafe probe lost (others lost
// are reported); the established connection must answer at least 98 % of
// its exchanges on time. A
// restart takes over the table the previous run left: it writes nothing
// when nothing changed, and only the difference otherwise.
func TestRestartTakesOverTable(t *testing.T) {
	e := newE2E(t)
	e.apply(t, e2eManifests(80))
	e.startAgent(t)
	e.ready(t, 30*time.Second)
	waitProbe(t, e, e2ePodA, 80, true)
	state := filepath.Join(e.dir, "ruleset.state")

	est := startEstablished(t, e)
	s := startFaultStream(e)
	hold := func(phase string, d time.Duration) {
		s.set(phase, normal)
		time.Sleep(d)
	}
	hold("baseline", time.Second)

	restart := func(phase string, sig syscall.Signal, whileDown func()) {
		t.Helper()
		hold(phase, 0)
		e.agent.signal(sig)
		if whileDown != nil {
			whileDown()
		}
		e.startAgent(t)
		e.ready(t, 30*time.Second)
		time.Sleep(time.Second)
	}

	restart("SIGTERM and restart", syscall.SIGTERM, func() {
		if _, err := os.Stat(state); err != nil {
			t.Errorf("the agent saved no state when it stopped: %v", err)
		}
	})
	tookOver(t, e, true, 0)

	restart("SIGKILL and restart", syscall.SIGKILL, nil)
	tookOver(t, e, true, 0)

	// A policy on the node that no probe meets is added while the agent is
	// down: the new run takes over and writes only that difference.
	restart("datastore changed while down", syscall.SIGTERM, func() {
		e.apply(t, e2eManifests(80)+"---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"+
			"metadata: {name: also-9999}\nspec: {selector: role == 'node', ingress: [{action: Allow, protocol: TCP, "+
			"destination: {ports: [9999]}}]}\n")
	})
	tookOver(t, e, true, 1)

	// Another tool changes the table while the agent is down (a chain no
	// rule uses): the new run finds a table it did not save and replaces
	// it whole, in one transaction.
	restart("table changed while down", syscall.SIGTERM, func() {
		if _, err := e.node.Run(context.Background(), nil, "nft", "add", "chain", "inet", "palisade", "foreign"); err != nil {
			t.Fatal(err)
		}
	})
	tookOver(t, e, false, 0)

	// Full reloads: each foreign change makes the running agent restore
	// its table by replacing it whole.
	hold("5 full reloads", 0)
	for i := range 5 {
		if _, err := e.node.Run(context.Background(), nil, "nft", "add", "chain", "inet", "palisade", fmt.Sprintf("foreign%d", i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(600 * time.Millisecond)
	}
	hold("after", 500*time.Millisecond)
	s.stop()
	on, late := est.stop()

	if m := metric(t, e, "palisade_agent_drift_repairs_total"); m < 5 {
		t.Errorf("palisade_agent_drift_repairs_total = %v, want 5 full reloads", m)
	}
	if m := metric(t, e, "palisade_nft_whole_replaces_total"); m < 5 {
		t.Errorf("palisade_nft_whole_replaces_total = %v, want the 5 full reloads done in place", m)
	}
	for _, phase := range s.order {
		tl := s.tallys[phase]
		t.Logf("%-30s %5d probes, %d wrongly allowed, %d wrongly denied (%d failsafe)", phase, tl.probes,
			tl.wronglyAllowed, tl.wronglyDenied, tl.failsafeDenied)
		// B6: nothing wrongly allowed and no failsafe probe lost. Other
		// lost connections are reported, not failed: a restart takes the
		// table over and a full reload keeps its base chains, so none is
		// expected, but a probe times out after 500 ms and a loaded
		// machine (the whole suite in parallel) can miss that once in ten
		// thousand probes. go test ./kerneltest -run
		// TestWholeReplaceKeepsForwarding holds the reload itself to 0.
		if tl.wronglyAllowed > 0 || tl.failsafeDenied > 0 {
			t.Errorf("%s: %d wrongly allowed, %d wrongly denied (%d failsafe): %v", phase, tl.wronglyAllowed,
				tl.wronglyDenied, tl.failsafeDenied, tl.examples)
		} else if tl.wronglyDenied > 0 {
			t.Logf("%s: %d wrongly denied (reported, not failed): %v", phase, tl.wronglyDenied, tl.examples)
		}
		if tl.probes < 4 {
			t.Errorf("%s: only %d probes", phase, tl.probes)
		}
	}
	ratio := float64(on) / float64(on+late)
	t.Logf("established connection: %d exchanges on time, %d late or lost (%.2f %%)", on, late, 100*ratio)
	if on+late < 100 || ratio < 0.98 {
		t.Errorf("established connection: %d of %d exchanges on time, want at least 98 %%", on, on+late)
	}
}

// tookOver checks the agent's log and metrics: it took over the table (or
// replaced it), and wrote at most incremental transactions of its own.
func tookOver(t *testing.T, e *e2e, want bool, incremental float64) {
	t.Helper()
	log := e.agent.log()
	if got := bytes.Contains([]byte(log), []byte("took over the table the previous run left")); got != want {
		t.Errorf("took over the table: %v, want %v; log:\n%s", got, want, log)
	}
	if !want {
		if !bytes.Contains([]byte(log), []byte("it will be replaced whole")) {
			t.Errorf("the log does not say the table is replaced:\n%s", log)
		}
		return
	}
	if got := metric(t, e, "palisade_agent_table_takeovers_total"); got != 1 {
		t.Errorf("palisade_agent_table_takeovers_total = %v, want 1", got)
	}
	if got := metric(t, e, "palisade_nft_incremental_applies_total"); got != incremental {
		t.Errorf("palisade_nft_incremental_applies_total = %v, want %v", got, incremental)
	}
	if got := metric(t, e, "palisade_nft_unchanged_applies_total"); incremental == 0 && got < 1 {
		t.Errorf("palisade_nft_unchanged_applies_total = %v: the first transaction wrote something", got)
	}
}

// metric reads one unlabelled sample from the agent's /metrics.
func metric(t *testing.T, e *e2e, name string) float64 {
	t.Helper()
	code, body, err := e.get("/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// established keeps one TCP connection from ext to the pod and exchanges
// a byte on it every 10 ms, counting the echoes that come back within
// 200 ms.
type established struct {
	mu       sync.Mutex
	on, late int
	stopc    chan struct{}
	done     chan struct{}
}

func startEstablished(t *testing.T, e *e2e) *established {
	t.Helper()
	c, err := e.ext.DialTCP(context.Background(), netip.AddrPort{}, netip.AddrPortFrom(netip.MustParseAddr(e2ePodA), 80), 2*time.Second)
	if err != nil {
		t.Fatalf("the established connection: %v", err)
	}
	x := &established{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(x.done)
		defer c.Close()
		buf := make([]byte, 1)
		for {
			select {
			case <-x.stopc:
				return
			case <-time.After(10 * time.Millisecond):
			}
			_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
			_, werr := c.Write([]byte{'x'})
			_, rerr := c.Read(buf)
			x.mu.Lock()
			if werr == nil && rerr == nil {
				x.on++
			} else {
				x.late++
				// A late echo arrives with the next read: drain it.
				_ = c.SetDeadline(time.Now().Add(2 * time.Second))
				_, _ = c.Read(buf)
			}
			x.mu.Unlock()
		}
	}()
	return x
}

func (x *established) stop() (on, late int) {
	close(x.stopc)
	<-x.done
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.on, x.late
}
