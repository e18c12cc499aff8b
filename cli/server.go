package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/palisade-net/palisade/server"
)

func init() { register(newServerCmd) }

// serverFlags are the flags of `palisade server`.
type serverFlags struct {
	cfg                                    server.Config
	listen, peerListen, advClient, advPeer string
	endpoints                              string
	logLevel, logFormat                    string
}

// embeddedOnly are the flags that configure the embedded etcd member.
var embeddedOnly = []string{"data-dir", "name", "listen", "peer-listen", "advertise-client", "advertise-peer",
	"initial-cluster", "initial-cluster-state", "cert-file", "key-file", "trusted-ca-file", "client-cert-auth",
	"peer-cert-file", "peer-key-file", "peer-trusted-ca-file", "peer-client-cert-auth"}

func newServerCmd(s *streams) *cobra.Command {
	f := &serverFlags{}
	c := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the datastore (embedded etcd or external), the controllers, health and metrics",
		Long: "server runs palisade's control plane. By default it embeds an etcd member (data in --data-dir,\n" +
			"clients on --listen, peers on --peer-listen; --initial-cluster forms a multi-member cluster);\n" +
			"with --etcd-endpoints (or $ETCD_ENDPOINTS) it uses an external etcd cluster instead.\n" +
			"It creates the default resources if they are missing, runs the automatic host endpoint\n" +
			"controller, and serves /liveness, /readiness and /metrics on --health-listen.\n" +
			"SIGTERM or SIGINT stops it cleanly.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServer(cmd, s, f) },
	}
	fl := c.Flags()
	cfg := &f.cfg
	fl.StringVar(&cfg.DataDir, "data-dir", server.DefaultDataDir, "directory of the embedded etcd member's data")
	fl.StringVar(&cfg.Name, "name", "default", "name of the embedded etcd member")
	fl.StringVar(&f.listen, "listen", server.DefaultListen,
		"client address(es) of the embedded etcd: host:port, http(s)://host:port or unix://path, comma-separated")
	fl.StringVar(&f.peerListen, "peer-listen", server.DefaultPeerListen, "peer address(es): host:port or http(s)://host:port")
	fl.StringVar(&f.advClient, "advertise-client", "", "client URL(s) advertised to the cluster (default: --listen)")
	fl.StringVar(&f.advPeer, "advertise-peer", "", "peer URL(s) advertised to the cluster (default: --peer-listen)")
	fl.StringVar(&cfg.InitialCluster, "initial-cluster", "", "initial members, name=peerURL,... (default: this member alone)")
	fl.StringVar(&cfg.InitialClusterState, "initial-cluster-state", "new", "new, or existing to join a running cluster")
	fl.StringVar(&cfg.ClientTLS.CertFile, "cert-file", "", "TLS certificate of the client listener")
	fl.StringVar(&cfg.ClientTLS.KeyFile, "key-file", "", "TLS key of the client listener")
	fl.StringVar(&cfg.ClientTLS.TrustedCAFile, "trusted-ca-file", "", "CA that signs client certificates")
	fl.BoolVar(&cfg.ClientTLS.ClientCertAuth, "client-cert-auth", false, "require client certificates signed by --trusted-ca-file (always on with --cert-file)")
	fl.StringVar(&cfg.PeerTLS.CertFile, "peer-cert-file", "", "TLS certificate of the peer listener")
	fl.StringVar(&cfg.PeerTLS.KeyFile, "peer-key-file", "", "TLS key of the peer listener")
	fl.StringVar(&cfg.PeerTLS.TrustedCAFile, "peer-trusted-ca-file", "", "CA that signs peer certificates")
	fl.BoolVar(&cfg.PeerTLS.ClientCertAuth, "peer-client-cert-auth", false, "require peer certificates signed by --peer-trusted-ca-file (always on with --peer-cert-file)")
	fl.StringVar(&f.endpoints, "etcd-endpoints", "", "use this external etcd cluster instead of embedding one (default $ETCD_ENDPOINTS)")
	fl.StringVar(&cfg.EtcdCAFile, "etcd-ca-cert-file", "", "CA of the etcd the server connects to (default $ETCD_CA_CERT_FILE)")
	fl.StringVar(&cfg.EtcdCertFile, "etcd-cert-file", "", "client certificate for etcd (default $ETCD_CERT_FILE)")
	fl.StringVar(&cfg.EtcdKeyFile, "etcd-key-file", "", "client key for etcd (default $ETCD_KEY_FILE)")
	fl.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "mirror the Kubernetes cluster of this kubeconfig into the datastore")
	fl.BoolVar(&cfg.InCluster, "in-cluster", false, "mirror the cluster this server runs in (its pod's service account)")
	fl.DurationVar(&cfg.KubeResync, "kube-resync", 0, "period of the Kubernetes mirror's full reconcile (default 5m)")
	fl.BoolVar(&cfg.KubeForceDelete, "kube-force-delete", false,
		"let the Kubernetes mirror delete most mirrored objects of a kind in one pass (the guard refuses otherwise)")
	fl.BoolVar(&cfg.InsecureListen, "insecure-listen", false,
		"allow plaintext etcd (no TLS, no authentication) on a non-loopback --listen or --peer-listen address")
	fl.StringVar(&cfg.HealthListen, "health-listen", server.DefaultHealthListen, "address of /liveness, /readiness and /metrics")
	fl.DurationVar(&cfg.ResyncPeriod, "resync-period", 0, "period of the automatic host endpoint full reconcile (default 5m)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json (one object a line)")
	return c
}

// config turns the flags and the ETCD_* environment into a server.Config.
func (f *serverFlags) config(cmd *cobra.Command) (server.Config, error) {
	cfg := f.cfg
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	cfg.Listen, cfg.PeerListen = split(f.listen), split(f.peerListen)
	cfg.AdvertiseClient, cfg.AdvertisePeer = split(f.advClient), split(f.advPeer)
	endpoints := firstNonEmpty(f.endpoints, getenv("ETCD_ENDPOINTS"))
	cfg.EtcdEndpoints = split(endpoints)
	if !cfg.Embedded() {
		for _, name := range embeddedOnly {
			if cmd.Flags().Changed(name) {
				return cfg, fmt.Errorf("--%s configures the embedded etcd and cannot be used with an external etcd (--etcd-endpoints or $ETCD_ENDPOINTS)", name)
			}
		}
		cfg.EtcdCAFile = firstNonEmpty(cfg.EtcdCAFile, getenv("ETCD_CA_CERT_FILE"))
		cfg.EtcdCertFile = firstNonEmpty(cfg.EtcdCertFile, getenv("ETCD_CERT_FILE"))
		cfg.EtcdKeyFile = firstNonEmpty(cfg.EtcdKeyFile, getenv("ETCD_KEY_FILE"))
	}
	return cfg, nil
}

func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger is the logger of --log-level and --log-format (text or json).
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	l, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func runServer(cmd *cobra.Command, s *streams, f *serverFlags) error {
	logger, err := newLogger(s.err, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	cfg, err := f.config(cmd)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	return server.Run(ctx, cfg)
}

// firstNonEmpty returns the first non-empty value.
func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
