package server

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/palisade-net/palisade/kube/mirror"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/palisade-net/palisade/controller"
	"github.com/palisade-net/palisade/internal/sdnotify"
	"github.com/palisade-net/palisade/store"
)

// Server is a running palisade control plane: the datastore (an embedded
// etcd member or a connection to an external cluster), the controllers and
// the health and metrics endpoints.
type Server struct {
	cfg  Config
	log  *slog.Logger
	emb  *store.Embedded // nil with an external etcd
	st   *store.Etcd
	ctl  *controller.AutoHEP
	kube *mirror.Mirror // nil without a Kubernetes cluster to mirror
	reg  *prometheus.Registry
	http *http.Server
	addr net.Addr

	cancel context.CancelFunc
	bgDone chan struct{}

	mu          sync.Mutex
	defaultsErr error // nil once the default resources exist
	probeErr    error // the last datastore probe's failure
	role        string
	leader      string
	identity    string
	leaderGauge prometheus.Gauge
	fatal       error // the embedded member failed
	closeOnce   sync.Once
	closeErr    error
}

// Start starts a server: the embedded etcd member (or the connection to
// the external cluster), the health endpoints, and in the background the
// creation of the default resources followed by the controllers. ctx
// bounds the start only; stop the server with Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, reg: prometheus.NewRegistry(), bgDone: make(chan struct{}),
		defaultsErr: errors.New("not created yet"), probeErr: errors.New("not probed yet"),
		role: RoleCampaigning, identity: identityOf(cfg), leaderGauge: newLeaderGauge()}
	if err := s.openDatastore(ctx); err != nil {
		return nil, err
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.leaderGauge)
	s.ctl = controller.NewAutoHEP(s.st, controller.Options{
		ResyncPeriod: cfg.ResyncPeriod, Logger: s.log, Registerer: s.reg,
	})
	if err := s.newMirror(); err != nil {
		s.closeDatastore()
		return nil, err
	}
	if err := s.serveHealth(); err != nil {
		s.closeDatastore()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.probe(bg)
	go s.background(bg)
	return s, nil
}

// openDatastore starts the embedded member if there is one and connects
// the store to it or to the external cluster.
func (s *Server) openDatastore(ctx context.Context) error {
	cfg := s.cfg
	endpoints := cfg.EtcdEndpoints
	if cfg.Embedded() {
		begin := time.Now()
		emb, err := store.StartEmbedded(ctx, cfg.embedConfig())
		if err != nil {
			return fmt.Errorf("starting the datastore: %w", err)
		}
		s.emb = emb
		endpoints = emb.ClientEndpoints()
		s.log.Info("embedded etcd ready", "name", pick(cfg.Name, store.DefaultEmbedName), "dataDir", cfg.DataDir,
			"clientURLs", endpoints, "took", time.Since(begin).Round(time.Millisecond))
	} else {
		s.log.Info("using external etcd", "endpoints", endpoints)
	}
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: endpoints,
		CAFile: cfg.EtcdCAFile, CertFile: cfg.EtcdCertFile, KeyFile: cfg.EtcdKeyFile})
	if err != nil {
		s.closeDatastore()
		return fmt.Errorf("connecting to the datastore: %w", err)
	}
	s.st = st
	if cfg.Embedded() && cfg.ClientTLS.ClientCertAuth {
		if err := s.enableAuth(ctx); err != nil {
			s.closeDatastore()
			return err
		}
	}
	return nil
}

// enableAuth turns on etcd authentication with palisade's users and
// roles (store.EnableAuth); the common name of the server's own client
// certificate is made an administrator too, so the server keeps access.
func (s *Server) enableAuth(ctx context.Context) error {
	cn, err := certCommonName(s.cfg.EtcdCertFile)
	if err != nil {
		return fmt.Errorf("the server's client certificate: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.st.EnableAuth(ctx, cn); err != nil {
		return fmt.Errorf("setting up datastore authentication: %w", err)
	}
	s.log.Info("datastore authentication on: clients are known by their certificates' common names",
		"admin", store.AdminUser, "server", cn, "nodes", store.NodeUser("<name>"))
	return nil
}

// background creates the default resources (retrying until it succeeds)
// and then runs the controllers, when elected, until ctx is done.
func (s *Server) background(ctx context.Context) {
	defer close(s.bgDone)
	delay := 250 * time.Millisecond
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		created, err := EnsureDefaults(wctx, s.st)
		cancel()
		s.mu.Lock()
		s.defaultsErr = err
		s.mu.Unlock()
		if err == nil {
			if len(created) > 0 {
				s.log.Info("created default resources", "resources", created)
			}
			s.recordVersion(ctx)
			break
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("default resources not created yet; retrying", "error", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
	s.runControllers(ctx)
}

// Store returns the server's datastore client.
func (s *Server) Store() store.Store { return s.st }

// ClientEndpoints returns the URLs at which clients reach the datastore.
func (s *Server) ClientEndpoints() []string { return s.st.Endpoints() }

// HealthAddr returns the address the health endpoints listen on.
func (s *Server) HealthAddr() string { return s.addr.String() }

// Controller returns the automatic host endpoint controller.
func (s *Server) Controller() *controller.AutoHEP { return s.ctl }

// Err returns a channel that reports a fatal failure of the embedded etcd
// member (never, with an external etcd).
func (s *Server) Err() <-chan error {
	if s.emb == nil {
		return nil
	}
	return s.emb.Err()
}

// Close stops the server in order: the controllers, the health endpoints,
// the datastore client, the embedded etcd member. Each step is bounded by
// ShutdownTimeout. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		s.cancel()
		select {
		case <-s.bgDone:
		case <-time.After(s.cfg.ShutdownTimeout):
			errs = append(errs, errors.New("controllers did not stop in time"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the health endpoints: %w", err))
		}
		cancel()
		errs = append(errs, s.closeDatastore())
		s.closeErr = errors.Join(errs...)
		s.log.Info("server stopped")
	})
	return s.closeErr
}

// closeDatastore closes the store client and the embedded member, the
// latter bounded by ShutdownTimeout (a member that lost its quorum can be
// slow to stop).
func (s *Server) closeDatastore() error {
	var err error
	if s.st != nil {
		err = s.st.Close()
	}
	if s.emb == nil {
		return err
	}
	done := make(chan struct{})
	go func() { s.emb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownTimeout):
		err = errors.Join(err, errors.New("embedded etcd did not stop in time"))
	}
	return err
}

// Run starts a server, runs it until ctx is done or the embedded member
// fails, and closes it. It returns nil after a clean stop.
func Run(ctx context.Context, cfg Config) error {
	s, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	s.log.Info("palisade server running", "datastore", s.ClientEndpoints(), "health", "http://"+s.HealthAddr())
	nctx, stopNotify := context.WithCancel(ctx)
	defer stopNotify()
	go sdnotify.Run(nctx, s.Ready, s.Live) // under systemd (Type=notify): READY=1, WATCHDOG=1
	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info("stopping", "reason", context.Cause(ctx))
	case err := <-s.Err():
		runErr = fmt.Errorf("embedded etcd failed: %w", err)
		s.setFatal(runErr)
		s.log.Error("embedded etcd failed; stopping", "error", err)
	}
	return errors.Join(runErr, s.Close())
}

func (s *Server) setFatal(err error) {
	s.mu.Lock()
	s.fatal = err
	s.mu.Unlock()
}

// certCommonName reads the common name of a PEM certificate file.
func certCommonName(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return "", fmt.Errorf("%s holds no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return c.Subject.CommonName, nil
}

// newMirror prepares the Kubernetes mirror when a cluster is configured.
func (s *Server) newMirror() error {
	if s.cfg.Kubeconfig == "" && !s.cfg.InCluster {
		return nil
	}
	var rc *rest.Config
	var err error
	if s.cfg.InCluster {
		rc, err = rest.InClusterConfig()
	} else {
		rc, err = clientcmd.BuildConfigFromFlags("", s.cfg.Kubeconfig)
	}
	if err != nil {
		return &ConfigError{Field: "kubeconfig", Err: err}
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return &ConfigError{Field: "kubeconfig", Err: err}
	}
	s.kube = mirror.New(mirror.Config{Client: client, Store: s.st, Resync: s.cfg.KubeResync,
		ForceDelete: s.cfg.KubeForceDelete, Logger: s.log.With("component", "kube-mirror")})
	s.reg.MustRegister(mirrorMetrics(s.kube)...)
	s.log.Info("mirroring a Kubernetes cluster into the datastore", "apiserver", rc.Host)
	return nil
}

// mirrorMetrics are the Kubernetes mirror's gauges, read from its status.
func mirrorMetrics(m *mirror.Mirror) []prometheus.Collector {
	gauge := func(name, help string, f func(mirror.Status) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(m.Status()) })
	}
	return []prometheus.Collector{
		gauge("palisade_kube_mirror_last_sync_timestamp_seconds", "Unix time of the mirror's last successful full reconcile.",
			func(s mirror.Status) float64 {
				if s.LastSync.IsZero() {
					return 0
				}
				return float64(s.LastSync.Unix())
			}),
		gauge("palisade_kube_mirror_lag_seconds", "Seconds since the mirror's last successful full reconcile.",
			func(s mirror.Status) float64 {
				if s.LastSync.IsZero() {
					return -1
				}
				return time.Since(s.LastSync).Seconds()
			}),
		gauge("palisade_kube_mirror_failing_keys", "Objects the last reconcile could not write (retried with backoff).",
			func(s mirror.Status) float64 { return float64(len(s.FailingKeys)) }),
		gauge("palisade_kube_mirror_guard_refused_kinds", "Kinds whose mass deletion the guard refused in the last reconcile.",
			func(s mirror.Status) float64 { return float64(len(s.GuardRefused)) }),
		gauge("palisade_kube_mirror_writes", "Objects the mirror created, updated or deleted since the server started.",
			func(s mirror.Status) float64 { return float64(s.Writes) }),
	}
}
