package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/controller"
	"github.com/palisade-net/palisade/store"
)

// probeTimeout bounds the datastore read of a readiness probe; it exceeds
// the store's dial timeout so that an unreachable datastore is reported
// with the store's explanation rather than a bare deadline.
const probeTimeout = store.DefaultDialTimeout + 2*time.Second

// NotReadyError lists why the server is not ready.
type NotReadyError struct{ Reasons []string }

func (e *NotReadyError) Error() string { return "not ready: " + strings.Join(e.Reasons, "; ") }

// serveHealth starts the HTTP server of /liveness, /readiness and /metrics.
func (s *Server) serveHealth() error {
	ln, err := net.Listen("tcp", s.cfg.HealthListen)
	if err != nil {
		return fmt.Errorf("health endpoints on %s: %w", s.cfg.HealthListen, err)
	}
	s.addr = ln.Addr()
	mux := http.NewServeMux()
	mux.HandleFunc("/liveness", s.handleLiveness)
	mux.HandleFunc("/readiness", s.handleReadiness)
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("health endpoints stopped", "error", err)
		}
	}()
	return nil
}

// Live returns nil unless the embedded etcd member has failed.
func (s *Server) Live() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

// probeInterval is the period of the datastore probe behind readiness.
const probeInterval = time.Second

// probe reads the configuration every probeInterval until ctx is done and
// records whether the datastore answered, so that /readiness answers at
// once and says why the datastore is not usable.
func (s *Server) probe(ctx context.Context) {
	key := store.Key{Kind: store.Kind(api.KindKubeControllersConfiguration), Name: controller.ConfigName}
	for {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := s.st.Get(pctx, key)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if store.IsNotFound(err) {
			err = nil
		}
		s.mu.Lock()
		s.probeErr = err
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(probeInterval):
		}
	}
}

// Ready returns nil when the datastore answered the last probe (a read,
// every second), the default resources exist and either this server runs
// the controllers and they are synced, or another server is known to run
// them (standby); otherwise a *NotReadyError with every reason.
func (s *Server) Ready() error {
	var reasons []string
	s.mu.Lock()
	if s.fatal != nil {
		reasons = append(reasons, s.fatal.Error())
	}
	if s.probeErr != nil {
		reasons = append(reasons, "datastore unreachable: "+s.probeErr.Error())
	}
	if s.defaultsErr != nil {
		reasons = append(reasons, "default resources: "+s.defaultsErr.Error())
	}
	role := s.role
	s.mu.Unlock()
	switch role {
	case RoleCampaigning:
		reasons = append(reasons, "controllers: electing the server that runs them")
	case RoleLeader:
		if err := s.ctl.Ready(); err != nil {
			reasons = append(reasons, err.Error())
		}
		reasons = append(reasons, s.mirrorReasons()...)
	}
	if len(reasons) > 0 {
		return &NotReadyError{Reasons: reasons}
	}
	return nil
}

func (s *Server) handleLiveness(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.Live(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not live: %v\n", err)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) handleReadiness(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var nr *NotReadyError
	if err := s.Ready(); errors.As(err, &nr) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:")
		for _, reason := range nr.Reasons {
			fmt.Fprintf(w, "- %s\n", reason)
		}
		return
	}
	role, leader := s.Role()
	if role == RoleStandby {
		fmt.Fprintf(w, "ready (standby: the controllers run on %s)\n", leader)
		return
	}
	fmt.Fprintln(w, "ready")
}

// mirrorReasons says why the Kubernetes mirror makes the server unready:
// not synced yet, or stale (its last successful reconcile is older than
// twice its resync period), or a kind whose deletions the guard refused.
func (s *Server) mirrorReasons() []string {
	if s.kube == nil {
		return nil
	}
	st := s.kube.Status()
	var out []string
	switch {
	case !st.Synced:
		out = append(out, "kubernetes mirror: not synced yet "+st.LastError)
	case time.Since(st.LastSync) > 2*s.cfg.KubeResync+time.Minute:
		out = append(out, fmt.Sprintf("kubernetes mirror: stale (last full sync %v ago): %s",
			time.Since(st.LastSync).Round(time.Second), st.LastError))
	}
	for _, k := range st.GuardRefused {
		out = append(out, "kubernetes mirror: refused to delete most "+k+" objects in one pass (--kube-force-delete allows it)")
	}
	return out
}
