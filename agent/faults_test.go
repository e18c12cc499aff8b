package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/store"
)

// The fault-injection suite: a stream of real connections runs through a
// sequence of faults while a real server and agent enforce policy, and
// every probe is judged against what policy says at that moment. The
// target is 0 wrongly allowed packets in every case.

// verdict is what a flow should get in a phase.
type verdict uint8

const (
	wantAllow verdict = iota + 1
	wantDeny
	wantEither // a transition the agent is converging through
)

// flowID names the probed flows.
type flowID int

const (
	flowFailsafe flowID = iota // ext -> node:22, an inbound failsafe
	flowDenied                 // ext -> node:21, never allowed
	flowPolicy                 // ext -> node:80, allowed by policy from-ext
	flowPod                    // ext -> pod:80, forwarded to the pod
	numFlows
)

var flowNames = [numFlows]string{"ext->node:22 (failsafe)", "ext->node:21", "ext->node:80 (policy)", "ext->pod:80 (forward)"}

// tally counts one fault's probes.
type tally struct {
	probes, wronglyAllowed, wronglyDenied int
	failsafeDenied                        int // wrongly denied failsafe probes
	examples                              []string
	firstWrong, lastWrong                 time.Time // of wrongly allowed probes
}

// faultStream probes every flow continuously, judging each probe against
// the expectation of the phase current when the probe started.
type faultStream struct {
	e      *e2e
	mu     sync.Mutex
	want   [numFlows]verdict
	phase  string
	tallys map[string]*tally
	order  []string
	stopc  chan struct{}
	wg     sync.WaitGroup
}

func startFaultStream(e *e2e) *faultStream {
	s := &faultStream{e: e, tallys: map[string]*tally{}, stopc: make(chan struct{})}
	targets := [numFlows]struct {
		from *netlab.NS
		dst  string
		port uint16
	}{{e.ext, e2eNodeA, 22}, {e.ext, e2eNodeA, 21}, {e.ext, e2eNodeA, 80}, {e.ext, e2ePodA, 80}}
	for f := range numFlows {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-s.stopc:
					return
				default:
				}
				s.mu.Lock()
				want, phase := s.want[f], s.phase
				s.mu.Unlock()
				timeout := 150 * time.Millisecond
				if want == wantAllow {
					timeout = 500 * time.Millisecond
				}
				tg := targets[f]
				err := probe(tg.from, tg.dst, tg.port, timeout)
				s.judge(phase, f, want, err)
			}
		}()
	}
	return s
}

func (s *faultStream) judge(phase string, f flowID, want verdict, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if phase != s.phase {
		return // the phase changed under this probe: it proves nothing
	}
	t := s.tallys[phase]
	if t == nil {
		return // probed before the first phase was set
	}
	t.probes++
	switch {
	case want == wantDeny && err == nil:
		if t.wronglyAllowed == 0 {
			t.firstWrong = time.Now()
		}
		t.lastWrong = time.Now()
		t.wronglyAllowed++
		t.examples = append(t.examples, fmt.Sprintf("%s allowed at %s", flowNames[f], time.Now().Format("15:04:05.000")))
	case want == wantAllow && err != nil:
		t.wronglyDenied++
		if f == flowFailsafe {
			t.failsafeDenied++
		}
		t.examples = append(t.examples, fmt.Sprintf("%s denied at %s: %v", flowNames[f], time.Now().Format("15:04:05.000"), err))
	}
}

// set starts a phase with the given expectations.
func (s *faultStream) set(phase string, want [numFlows]verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phase, s.want = phase, want
	if s.tallys[phase] == nil {
		s.tallys[phase] = &tally{}
		s.order = append(s.order, phase)
	}
}

func (s *faultStream) stop() {
	close(s.stopc)
	s.wg.Wait()
}

// Expectations.
var (
	normal  = [numFlows]verdict{wantAllow, wantDeny, wantAllow, wantAllow}
	closedE = [numFlows]verdict{wantAllow, wantDeny, wantDeny, wantDeny} // fail closed: only failsafes
	towards = func(to [numFlows]verdict) [numFlows]verdict {
		out := to
		for i := range out {
			if normal[i] != to[i] {
				out[i] = wantEither
			}
		}
		return out
	}
)

func TestFaultInjection(t *testing.T) {
	e := newE2E(t)
	e.apply(t, e2eManifests(80))
	e.startAgent(t)
	e.ready(t, 30*time.Second)
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{e.endpoint}})
	must(t, err)
	defer st.Close()
	ctx := context.Background()

	s := startFaultStream(e)
	hold := func(phase string, want [numFlows]verdict, d time.Duration) {
		s.set(phase, want)
		time.Sleep(d)
	}
	hold("baseline", normal, time.Second)

	// Agent SIGKILLed and restarted: the table stays in force throughout.
	hold("agent killed and restarted", normal, 0)
	e.agent.signal(syscall.SIGKILL)
	time.Sleep(time.Second)
	e.startAgent(t)
	e.ready(t, 30*time.Second)
	time.Sleep(500 * time.Millisecond)

	// Server SIGKILLed (datastore gone) and restarted.
	hold("server killed and restarted", normal, 0)
	e.server.signal(syscall.SIGKILL)
	time.Sleep(2 * time.Second)
	e.startServer(t)
	e.ready(t, 30*time.Second)

	// Datastore partition: the server is frozen, then thawed.
	hold("datastore partition (server stopped 3s)", normal, 0)
	must(t, syscall.Kill(e.server.cmd.Process.Pid, syscall.SIGSTOP)) // proc.signal waits for an exit
	time.Sleep(3 * time.Second)
	must(t, syscall.Kill(e.server.cmd.Process.Pid, syscall.SIGCONT))
	e.ready(t, 30*time.Second)

	// Another tool flushes the whole ruleset: the agent restores its table.
	for i := range 3 {
		hold(fmt.Sprintf("nft flush ruleset #%d", i+1), normal, 0)
		_, err := e.node.Run(ctx, nil, "nft", "flush", "ruleset")
		must(t, err)
		time.Sleep(700 * time.Millisecond)
	}

	// A corrupted stored policy: denied by its stand-in, never opened.
	hold("corrupted policy (converging)", towards(closedE), 0)
	must(t, st.PutRaw(ctx, store.Key{Kind: api.KindGlobalNetworkPolicy, Name: "from-ext"}, []byte("{garbage")))
	waitProbe(t, e, e2eNodeA, 80, false)
	waitProbe(t, e, e2ePodA, 80, false)
	hold("corrupted policy", closedE, 1500*time.Millisecond)
	hold("corrupted policy repaired (converging)", towards(closedE), 0)
	e.apply(t, e2eManifests(80))
	waitProbe(t, e, e2eNodeA, 80, true)
	hold("corrupted policy repaired", normal, time.Second)

	// A dangling reference written behind the CLI's back: the host
	// endpoint names a profile that does not exist.
	hold("dangling profile (converging)", towards(closedE), 0)
	hep := &api.HostEndpoint{Spec: api.HostEndpointSpec{Node: e2eNode, InterfaceName: "eth0",
		ExpectedIPs: []string{e2eNodeA}, Profiles: []string{"projectcalico-default-alow"}}}
	hep.Name, hep.Labels = "n1-eth0", map[string]string{"role": "node"}
	api.SetTypeMeta(hep)
	_, err = st.Update(ctx, hep)
	must(t, err)
	waitProbe(t, e, e2eNodeA, 80, false)
	waitProbe(t, e, e2ePodA, 80, false)
	hold("dangling profile", closedE, 1500*time.Millisecond)
	code, body, _ := e.get("/readiness")
	if code != 503 || !strings.Contains(body, `profile "projectcalico-default-alow" does not exist`) {
		t.Errorf("readiness with a dangling profile: %d %s", code, body)
	}
	hold("dangling profile fixed (converging)", towards(closedE), 0)
	e.apply(t, e2eManifests(80))
	waitProbe(t, e, e2eNodeA, 80, true)
	waitProbe(t, e, e2ePodA, 80, true)
	hold("dangling profile fixed", normal, time.Second)

	// A lockout attempt: a deny-all on the host endpoint before every
	// other policy. The failsafe stays open.
	lockout := `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec: {order: 1, selector: role == 'node', ingress: [{action: Deny}], egress: [{action: Deny}]}
`
	hold("lockout attempt (converging)", [numFlows]verdict{wantAllow, wantDeny, wantEither, wantAllow}, 0)
	e.apply(t, lockout)
	waitProbe(t, e, e2eNodeA, 80, false)
	hold("lockout attempt", [numFlows]verdict{wantAllow, wantDeny, wantDeny, wantAllow}, 1500*time.Millisecond)
	s.stop()

	for _, phase := range s.order {
		tl := s.tallys[phase]
		window := tl.lastWrong.Sub(tl.firstWrong)
		t.Logf("%-45s %5d probes, %d wrongly allowed (within %v), %d wrongly denied", phase, tl.probes,
			tl.wronglyAllowed, window.Round(time.Millisecond), tl.wronglyDenied)
		if strings.HasPrefix(phase, "nft flush ruleset") {
			// Between another tool's flush and the agent's restore the
			// host is open; palisade cannot prevent that instant, only
			// keep it short: the table must be back within a second.
			if window >= time.Second {
				t.Errorf("%s: open for %v", phase, window)
			}
			tl.wronglyAllowed = 0
		}
		// The target is 0 wrongly allowed, and no failsafe probe lost. Other
		// wrongly denied probes are reported: while another tool's flush
		// has removed the table, the agent re-creates it (no table to keep),
		// and faults like a frozen datastore are allowed to cost a probe.
		if tl.wronglyAllowed > 0 || tl.failsafeDenied > 0 {
			t.Errorf("%s: %d wrongly allowed, %d failsafe probes denied: %v", phase, tl.wronglyAllowed,
				tl.failsafeDenied, tl.examples)
		} else if tl.wronglyDenied > 0 {
			t.Logf("%s: %d wrongly denied (reported, not failed): %v", phase, tl.wronglyDenied, tl.examples)
		}
		if tl.probes < 4 && !strings.Contains(phase, "converging") {
			t.Errorf("%s: only %d probes", phase, tl.probes)
		}
	}
}

// waitProbe waits until a probe from ext gets the wanted answer.
func waitProbe(t *testing.T, e *e2e, dst string, port uint16, allow bool) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		err := probe(e.ext, dst, port, 200*time.Millisecond)
		if (err == nil) != allow {
			return fmt.Errorf("%s:%d: allowed=%v, want %v", dst, port, err == nil, allow)
		}
		return nil
	})
}
