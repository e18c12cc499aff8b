package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/palisade-net/palisade/store"
)

// Defaults of Config.
const (
	DefaultDataDir         = "./palisade-data"
	DefaultListen          = "127.0.0.1:2379"
	DefaultPeerListen      = "127.0.0.1:2380"
	DefaultHealthListen    = "127.0.0.1:9099"
	DefaultShutdownTimeout = 10 * time.Second
)

// Config configures a Server. Either EtcdEndpoints names an external etcd
// cluster, or an etcd member is embedded (the other fields).
type Config struct {
	// DataDir holds the embedded member's data (default ./palisade-data).
	DataDir string
	// Name is the embedded member's name (default "default").
	Name string
	// Listen and PeerListen are the client and peer listen addresses:
	// host:port, http(s):// URLs, or (clients only) unix:// paths. A bare
	// host:port becomes https:// when the matching TLS files are set.
	Listen, PeerListen []string
	// AdvertiseClient and AdvertisePeer default to the listen addresses.
	AdvertiseClient, AdvertisePeer []string
	// InitialCluster is "name=peerURL,..." (default: this member alone);
	// InitialClusterState is "new" (default) or "existing".
	InitialCluster, InitialClusterState string
	// ClientTLS and PeerTLS are the embedded member's certificates.
	ClientTLS, PeerTLS store.TLSFiles
	// Kubeconfig (a file) or InCluster (the pod's service account) selects
	// a Kubernetes cluster to mirror into the datastore (kube/mirror).
	Kubeconfig string
	InCluster  bool
	// KubeResync is the mirror's full reconcile period (default 5m);
	// KubeForceDelete lets it delete most objects of a kind in one pass.
	KubeResync      time.Duration
	KubeForceDelete bool
	// InsecureListen allows plaintext listeners on non-loopback addresses;
	// without it the server refuses them (anyone who reaches the port
	// could rewrite the policy).
	InsecureListen bool
	// UnsafeNoFsync skips fsync in the embedded member (tests only).
	UnsafeNoFsync bool

	// EtcdEndpoints, when set, selects an external etcd cluster: nothing is
	// embedded.
	EtcdEndpoints []string
	// EtcdCAFile, EtcdCertFile and EtcdKeyFile are the server's own client
	// TLS files. For an embedded member they default to ClientTLS's CA,
	// certificate and key (the certificate then needs the client-auth
	// usage when client certificates are required).
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string

	// HealthListen is the address of /liveness, /readiness and /metrics
	// (default 127.0.0.1:9099; port 0 picks a free one, see HealthAddr).
	HealthListen string
	// ResyncPeriod is the automatic host endpoint controller's full-sync
	// period (default 5m).
	ResyncPeriod time.Duration
	// ShutdownTimeout bounds each step of Close (default 10s).
	ShutdownTimeout time.Duration
	// Logger receives the server's logs (default slog.Default()).
	Logger *slog.Logger
}

// Embedded reports whether the configuration embeds an etcd member.
func (c Config) Embedded() bool { return len(c.EtcdEndpoints) == 0 }

// ConfigError is a configuration the server cannot start with.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("server configuration: %s: %v", e.Field, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Defaults returns c with every unset field defaulted.
func (c Config) Defaults() Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if len(c.Listen) == 0 {
		c.Listen = []string{DefaultListen}
	}
	if len(c.PeerListen) == 0 {
		c.PeerListen = []string{DefaultPeerListen}
	}
	if c.HealthListen == "" {
		c.HealthListen = DefaultHealthListen
	}
	if c.KubeResync <= 0 {
		c.KubeResync = 5 * time.Minute
	}
	// TLS means client certificates: a listener that encrypts but lets
	// anyone in would still let anyone rewrite the policy.
	if c.ClientTLS.CertFile != "" {
		c.ClientTLS.ClientCertAuth = true
	}
	if c.PeerTLS.CertFile != "" {
		c.PeerTLS.ClientCertAuth = true
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Embedded() {
		c.EtcdCAFile = pick(c.EtcdCAFile, c.ClientTLS.TrustedCAFile)
		c.EtcdCertFile = pick(c.EtcdCertFile, c.ClientTLS.CertFile)
		c.EtcdKeyFile = pick(c.EtcdKeyFile, c.ClientTLS.KeyFile)
	}
	return c
}

func pick(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Validate reports the first problem with a defaulted configuration.
func (c Config) Validate() error {
	switch c.InitialClusterState {
	case "", "new", "existing":
	default:
		return &ConfigError{Field: "initial-cluster-state", Err: fmt.Errorf("%q is not new or existing", c.InitialClusterState)}
	}
	if c.Embedded() && c.DataDir == "" {
		return &ConfigError{Field: "data-dir", Err: fmt.Errorf("must not be empty")}
	}
	if (c.EtcdCertFile == "") != (c.EtcdKeyFile == "") {
		return &ConfigError{Field: "etcd-cert-file", Err: fmt.Errorf("the etcd client certificate and key must be given together")}
	}
	if err := c.checkPlaintext(); err != nil {
		return err
	}
	if c.Embedded() && c.ClientTLS.CertFile != "" && c.ClientTLS.TrustedCAFile == "" {
		return &ConfigError{Field: "trusted-ca-file", Err: fmt.Errorf("required with --cert-file: the server, the " +
			"command line and every agent authenticate with certificates signed by it (see `palisade certs init`)")}
	}
	if c.Embedded() && c.PeerTLS.CertFile != "" && c.PeerTLS.TrustedCAFile == "" {
		return &ConfigError{Field: "peer-trusted-ca-file", Err: fmt.Errorf("required with --peer-cert-file")}
	}
	if _, _, err := net.SplitHostPort(c.HealthListen); err != nil {
		return &ConfigError{Field: "health-listen", Err: err}
	}
	if c.ResyncPeriod < 0 {
		return &ConfigError{Field: "resync-period", Err: fmt.Errorf("%s is negative", c.ResyncPeriod)}
	}
	return nil
}

// embedConfig is the store.EmbedConfig of c.
func (c Config) embedConfig() store.EmbedConfig {
	clientTLS, peerTLS := c.ClientTLS.CertFile != "", c.PeerTLS.CertFile != ""
	return store.EmbedConfig{
		Name:            c.Name,
		DataDir:         c.DataDir,
		ListenClient:    toURLs(c.Listen, clientTLS),
		AdvertiseClient: toURLs(c.AdvertiseClient, clientTLS),
		ListenPeer:      toURLs(c.PeerListen, peerTLS),
		AdvertisePeer:   toURLs(c.AdvertisePeer, peerTLS),
		InitialCluster:  c.InitialCluster,
		ClusterState:    c.InitialClusterState,
		ClientTLS:       c.ClientTLS,
		PeerTLS:         c.PeerTLS,
		UnsafeNoFsync:   c.UnsafeNoFsync,
		Logger:          c.Logger.With("component", "etcd"),
	}
}

// toURLs turns bare host:port entries (also in comma-separated lists) into
// http:// or https:// URLs; URLs are kept as they are.
func toURLs(addrs []string, tls bool) []string {
	var out []string
	for _, a := range addrs {
		for _, p := range strings.Split(a, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == "":
			case strings.Contains(p, "://"):
				out = append(out, p)
			case tls:
				out = append(out, "https://"+p)
			default:
				out = append(out, "http://"+p)
			}
		}
	}
	return out
}

// checkPlaintext refuses an embedded member's plaintext listener on an
// address other hosts can reach, unless InsecureListen.
func (c Config) checkPlaintext() error {
	if !c.Embedded() || c.InsecureListen {
		return nil
	}
	for _, l := range []struct {
		field string
		addrs []string
		tls   bool
	}{{"listen", c.Listen, c.ClientTLS.CertFile != ""}, {"peer-listen", c.PeerListen, c.PeerTLS.CertFile != ""}} {
		for _, a := range l.addrs {
			if plaintext(a, l.tls) && !loopbackHost(a) {
				return &ConfigError{Field: l.field, Err: fmt.Errorf("%s would serve the datastore in plaintext, without "+
					"authentication, to every host that can reach it; give --cert-file and --key-file "+
					"(with --trusted-ca-file and --client-cert-auth), listen on loopback or a unix:// socket, "+
					"or pass --insecure-listen", a)}
			}
		}
	}
	return nil
}

// plaintext reports whether a listen address serves without TLS.
func plaintext(addr string, tls bool) bool {
	switch {
	case strings.HasPrefix(addr, "unix://"), strings.HasPrefix(addr, "unixs://"), strings.HasPrefix(addr, "https://"):
		return false
	case strings.HasPrefix(addr, "http://"):
		return true
	}
	return !tls
}

// loopbackHost reports whether a listen address's host is a loopback one.
func loopbackHost(addr string) bool {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
