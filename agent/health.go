package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NotReadyError lists why the agent is not ready.
type NotReadyError struct{ Reasons []string }

func (e *NotReadyError) Error() string { return "not ready: " + strings.Join(e.Reasons, "; ") }

// NotLiveError says why the agent is not live.
type NotLiveError struct{ Reason string }

func (e *NotLiveError) Error() string { return "not live: " + e.Reason }

// status is what the health endpoints report; the loop, the watch, the
// registrar and the probe write it.
type status struct {
	mu          sync.Mutex
	synced      bool
	syncErr     error // the last failure to start the watch (before the first sync)
	applied     bool  // a ruleset was applied since the start
	applyErr    error
	failures    int // consecutive failed transactions
	retryIn     time.Duration
	renderErr   error
	storeErr    error
	registerErr error
	beat        time.Time
	problems    int
	failClosed  []string // problems the node fails closed on
	cniConfErr  error    // with Config.CNIConfDir: why palisade-cni is not in the CNI configuration
}

func newStatus() *status {
	return &status{storeErr: errors.New("not probed yet"), beat: time.Now()}
}

func (s *status) lock(f func(s *status)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *status) setSyncErr(err error)     { s.lock(func(s *status) { s.syncErr = err }) }
func (s *status) setStoreErr(err error)    { s.lock(func(s *status) { s.storeErr = err }) }
func (s *status) setRegisterErr(err error) { s.lock(func(s *status) { s.registerErr = err }) }
func (s *status) heartbeat()               { s.lock(func(s *status) { s.beat = time.Now() }) }

func (s *status) setSynced() {
	s.lock(func(s *status) { s.synced, s.syncErr = true, nil })
}

func (s *status) setRender(err error, problems int) {
	s.lock(func(s *status) { s.renderErr, s.problems = err, problems })
}

func (s *status) setFailClosed(fc []string) { s.lock(func(s *status) { s.failClosed = fc }) }

func (s *status) setApplied() {
	s.lock(func(s *status) { s.applied, s.applyErr, s.failures, s.retryIn = true, nil, 0, 0 })
}

func (s *status) setApplyFailed(err error, failures int, retryIn time.Duration) {
	s.lock(func(s *status) { s.applyErr, s.failures, s.retryIn = err, failures, retryIn })
}

// Ready returns nil when the agent has synced with the datastore, applied
// the ruleset of the current state and can reach the datastore; otherwise
// a *NotReadyError with every reason.
func (a *Agent) Ready() error {
	s := a.state
	s.mu.Lock()
	defer s.mu.Unlock()
	var r []string
	if !s.synced {
		msg := "waiting for the first full sync from the datastore (nothing is written to the kernel before it)"
		if s.syncErr != nil {
			msg += ": " + s.syncErr.Error()
		}
		r = append(r, msg)
	}
	if s.applyErr != nil {
		r = append(r, fmt.Sprintf("applying the ruleset failed %d time(s) in a row, retrying in %v; the previous ruleset stays in force: %v",
			s.failures, s.retryIn.Round(time.Millisecond), s.applyErr))
	}
	if s.renderErr != nil {
		r = append(r, "computing the ruleset failed; the previous ruleset stays in force: "+s.renderErr.Error())
	}
	if s.synced && !s.applied && s.applyErr == nil && s.renderErr == nil {
		r = append(r, "the ruleset is not applied yet")
	}
	if s.storeErr != nil {
		r = append(r, "datastore unreachable; the last ruleset stays in force: "+s.storeErr.Error())
	}
	if s.registerErr != nil {
		r = append(r, "registering the node: "+s.registerErr.Error())
	}
	for _, p := range s.failClosed {
		r = append(r, "failing closed (the traffic it governs is denied until it is fixed): "+p)
	}
	if s.cniConfErr != nil {
		r = append(r, "palisade-cni is not in the CNI configuration yet: "+s.cniConfErr.Error())
	}
	if len(r) > 0 {
		return &NotReadyError{Reasons: r}
	}
	return nil
}

// Live returns nil unless the main loop has been stuck for longer than
// LivenessTimeout.
func (a *Agent) Live() error {
	a.state.mu.Lock()
	since := time.Since(a.state.beat)
	a.state.mu.Unlock()
	if since > a.cfg.LivenessTimeout {
		return &NotLiveError{Reason: fmt.Sprintf("the main loop has not run for %v", since.Round(time.Second))}
	}
	return nil
}

// serveHealth starts the HTTP server of /liveness, /readiness and /metrics.
func (a *Agent) serveHealth() error {
	ln, err := net.Listen("tcp", a.cfg.HealthListen)
	if err != nil {
		return fmt.Errorf("health endpoints on %s: %w", a.cfg.HealthListen, err)
	}
	a.addr = ln.Addr()
	mux := http.NewServeMux()
	mux.HandleFunc("/liveness", a.handleLiveness)
	mux.HandleFunc("/readiness", a.handleReadiness)
	mux.Handle("/metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/flows", a.handleFlows)
	base, cancel := context.WithCancel(context.Background())
	a.httpCancel = cancel
	a.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("health endpoints stopped", "error", err)
		}
	}()
	return nil
}

func (a *Agent) handleLiveness(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.Live(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (a *Agent) handleReadiness(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var nr *NotReadyError
	if err := a.Ready(); errors.As(err, &nr) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:")
		for _, reason := range nr.Reasons {
			fmt.Fprintf(w, "- %s\n", reason)
		}
		return
	}
	fmt.Fprintln(w, "ready")
}
