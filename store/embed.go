package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"google.golang.org/grpc"
)

// TLSFiles are the PEM files of one side (client or peer) of an embedded
// etcd server.
type TLSFiles struct {
	CertFile, KeyFile, TrustedCAFile string
	// ClientCertAuth makes the server require a certificate signed by
	// TrustedCAFile from every client (or peer).
	ClientCertAuth bool
}

func (t TLSFiles) enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

func (t TLSFiles) info() transport.TLSInfo {
	return transport.TLSInfo{CertFile: t.CertFile, KeyFile: t.KeyFile, TrustedCAFile: t.TrustedCAFile,
		ClientCertAuth: t.ClientCertAuth}
}

// Defaults of EmbedConfig.
const (
	DefaultEmbedName         = "default"
	DefaultListenClient      = "http://127.0.0.1:2379"
	DefaultListenPeer        = "http://127.0.0.1:2380"
	DefaultEmbedStartTimeout = time.Minute
	DefaultCompaction        = time.Hour
)

// EmbedConfig configures an etcd member run inside the process.
//
// URLs are http://IP:port or https://IP:port (port 0 picks a free port:
// fine for a single member, see ClientEndpoints); client listeners may also
// be unix:///abs/path or unix://rel/path sockets (unixs:// with TLS, the
// server certificate then has to name the socket file's base name). A
// socket path is at most 107 bytes.
type EmbedConfig struct {
	Name    string // member name; default "default"
	DataDir string // required; an existing member's data is reused
	// ListenClient defaults to http://127.0.0.1:2379, AdvertiseClient to
	// ListenClient.
	ListenClient, AdvertiseClient []string
	// ListenPeer defaults to http://127.0.0.1:2380, AdvertisePeer to
	// ListenPeer.
	ListenPeer, AdvertisePeer []string
	// InitialCluster is "name=peerURL,..." for a new cluster; default: this
	// member alone.
	InitialCluster string
	// ClusterState is "new" (default) or "existing" (joining a running
	// cluster after `member add`). Both are ignored once DataDir holds data.
	ClusterState string
	// ClientTLS requires https:// or unixs:// client URLs; PeerTLS https://
	// peer URLs.
	ClientTLS, PeerTLS TLSFiles
	// UnsafeNoFsync skips fsync: only for tests.
	UnsafeNoFsync bool
	// Logger receives etcd's messages at Warn and above (default
	// slog.Default()); known start-up and shutdown noise is dropped.
	Logger *slog.Logger
	// CompactionRetention is the periodic auto-compaction window: history
	// older than it is compacted (watchers behind it re-list). Default one
	// hour; negative disables compaction.
	CompactionRetention time.Duration
	// StartTimeout bounds waiting for the member to be ready (for a new
	// multi-member cluster, until a quorum of members has started).
	// Default one minute.
	StartTimeout time.Duration
}

// Embedded is a running embedded etcd member.
type Embedded struct {
	etcd      *embed.Etcd
	endpoints []string
	closing   *atomic.Bool
	streams   *streamStopper
	closeOnce sync.Once
}

// StartEmbedded starts an etcd member and waits until it serves clients.
func StartEmbedded(ctx context.Context, cfg EmbedConfig) (*Embedded, error) {
	ec, closing, err := cfg.embedConfig()
	if err != nil {
		return nil, err
	}
	streams := newStreamStopper()
	ec.GRPCAdditionalServerOptions = append(ec.GRPCAdditionalServerOptions, grpc.ChainStreamInterceptor(streams.intercept))
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd %q in %s: %w", ec.Name, ec.Dir, err)
	}
	m := &Embedded{etcd: e, closing: closing, streams: streams}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = DefaultEmbedStartTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		m.abort()
		return nil, fmt.Errorf("embedded etcd %q failed while starting: %w", ec.Name, err)
	case <-e.Server.StopNotify():
		m.abort()
		return nil, fmt.Errorf("embedded etcd %q stopped while starting (see its log)", ec.Name)
	case <-ctx.Done():
		m.abort()
		return nil, fmt.Errorf("embedded etcd %q: %w", ec.Name, ctx.Err())
	case <-timer.C:
		m.abort()
		return nil, fmt.Errorf("embedded etcd %q not ready after %s (initial cluster %s: "+
			"a new cluster is ready once a quorum of its members has started)", ec.Name, timeout, ec.InitialCluster)
	}
	m.endpoints, err = clientEndpoints(ec.ListenClientUrls, e.Clients)
	if err != nil {
		m.abort()
		return nil, err
	}
	return m, nil
}

func parseURLs(what string, ss []string, def string) ([]url.URL, error) {
	if len(ss) == 0 && def != "" {
		ss = []string{def}
	}
	var out []url.URL
	for _, s := range ss {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			u, err := url.Parse(p)
			if err != nil {
				return nil, fmt.Errorf("%s URL %q: %w", what, p, err)
			}
			out = append(out, *u)
		}
	}
	return out, nil
}

// checkSchemes makes TLS settings and URL schemes agree (etcd itself only
// warns and serves plain text when they do not).
func checkSchemes(what string, urls []url.URL, tlsOn, unixOK bool) error {
	for _, u := range urls {
		secure := u.Scheme == "https" || u.Scheme == "unixs"
		switch {
		case u.Scheme != "http" && u.Scheme != "https" && !(unixOK && (u.Scheme == "unix" || u.Scheme == "unixs")):
			return fmt.Errorf("%s URL %s: unsupported scheme %q", what, u.String(), u.Scheme)
		case tlsOn && !secure:
			return fmt.Errorf("%s URL %s: TLS is configured, use https:// or unixs://", what, u.String())
		case !tlsOn && secure:
			return fmt.Errorf("%s URL %s: needs a TLS certificate and key", what, u.String())
		}
	}
	return nil
}

func (cfg EmbedConfig) embedConfig() (*embed.Config, *atomic.Bool, error) {
	if cfg.DataDir == "" {
		return nil, nil, errors.New("embedded etcd: a data directory is required")
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	if ec.Name == "" {
		ec.Name = DefaultEmbedName
	}
	ec.Dir = cfg.DataDir
	var err error
	if ec.ListenClientUrls, err = parseURLs("listen client", cfg.ListenClient, DefaultListenClient); err != nil {
		return nil, nil, err
	}
	if ec.AdvertiseClientUrls, err = parseURLs("advertise client", cfg.AdvertiseClient, ""); err != nil {
		return nil, nil, err
	}
	if ec.ListenPeerUrls, err = parseURLs("listen peer", cfg.ListenPeer, DefaultListenPeer); err != nil {
		return nil, nil, err
	}
	if ec.AdvertisePeerUrls, err = parseURLs("advertise peer", cfg.AdvertisePeer, ""); err != nil {
		return nil, nil, err
	}
	if len(ec.AdvertiseClientUrls) == 0 {
		ec.AdvertiseClientUrls = ec.ListenClientUrls
	}
	if len(ec.AdvertisePeerUrls) == 0 {
		ec.AdvertisePeerUrls = ec.ListenPeerUrls
	}
	if err := cfg.checkTLS(ec); err != nil {
		return nil, nil, err
	}
	ec.InitialCluster = cfg.InitialCluster
	if ec.InitialCluster == "" {
		ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	}
	if cfg.ClusterState != "" {
		ec.ClusterState = cfg.ClusterState
	}
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	switch r := cfg.CompactionRetention; {
	case r == 0:
		ec.AutoCompactionMode, ec.AutoCompactionRetention = "periodic", DefaultCompaction.String()
	case r > 0:
		ec.AutoCompactionMode, ec.AutoCompactionRetention = "periodic", r.String()
	}
	closing := new(atomic.Bool)
	ec.Logger = "zap"
	ec.LogLevel = "warn"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newZapLogger(cfg.Logger, closing))
	if err := ec.Validate(); err != nil {
		return nil, nil, fmt.Errorf("embedded etcd configuration: %w", err)
	}
	return ec, closing, nil
}

func (cfg EmbedConfig) checkTLS(ec *embed.Config) error {
	for _, c := range []struct {
		what   string
		urls   []url.URL
		files  TLSFiles
		unixOK bool
	}{
		{"listen client", ec.ListenClientUrls, cfg.ClientTLS, true},
		{"advertise client", ec.AdvertiseClientUrls, cfg.ClientTLS, true},
		{"listen peer", ec.ListenPeerUrls, cfg.PeerTLS, false},
		{"advertise peer", ec.AdvertisePeerUrls, cfg.PeerTLS, false},
	} {
		if c.files.enabled() && (c.files.CertFile == "" || c.files.KeyFile == "") {
			return fmt.Errorf("embedded etcd %s TLS: certificate and key files must be given together", c.what)
		}
		if c.files.ClientCertAuth && c.files.TrustedCAFile == "" {
			return fmt.Errorf("embedded etcd %s TLS: client certificate authentication needs a trusted CA file", c.what)
		}
		if err := checkSchemes(c.what, c.urls, c.files.enabled(), c.unixOK); err != nil {
			return fmt.Errorf("embedded etcd: %w", err)
		}
	}
	ec.ClientTLSInfo = cfg.ClientTLS.info()
	ec.PeerTLSInfo = cfg.PeerTLS.info()
	return nil
}

// clientEndpoints turns listen URLs into URLs a local client can dial:
// port 0 becomes the port actually bound, an unspecified address the
// loopback address.
func clientEndpoints(urls []url.URL, listeners []net.Listener) ([]string, error) {
	used := map[net.Listener]bool{}
	var out []string
	for _, u := range urls {
		if u.Scheme == "unix" || u.Scheme == "unixs" {
			out = append(out, u.String())
			continue
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			return nil, fmt.Errorf("listen client URL %s: %w", u.String(), err)
		}
		ip := net.ParseIP(host)
		if port == "0" {
			port = ""
			for _, l := range listeners {
				a, ok := l.Addr().(*net.TCPAddr)
				if ok && !used[l] && (ip == nil || ip.Equal(a.IP) || ip.IsUnspecified()) {
					used[l], port = true, fmt.Sprint(a.Port)
					break
				}
			}
			if port == "" {
				return nil, fmt.Errorf("listen client URL %s: no listener found", u.String())
			}
		}
		if ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
			if ip.To4() == nil {
				host = "::1"
			}
		}
		out = append(out, u.Scheme+"://"+net.JoinHostPort(host, port))
	}
	return out, nil
}

// ClientEndpoints returns URLs at which local clients reach this member
// (for EtcdConfig.Endpoints).
func (m *Embedded) ClientEndpoints() []string { return append([]string(nil), m.endpoints...) }

// Etcd returns the embed server, for what this type does not wrap (leader
// status, member list).
func (m *Embedded) Etcd() *embed.Etcd { return m.etcd }

// Err reports fatal server errors after start.
func (m *Embedded) Err() <-chan error { return m.etcd.Err() }

// abort stops a member that never became ready. embed's Close alone would
// block forever: its client servers wait for readiness or for the server
// to stop, and Close stops the server only after them.
func (m *Embedded) abort() {
	m.closing.Store(true)
	m.etcd.Server.HardStop()
	m.Close()
}

// Close stops the member (silencing the shutdown noise etcd logs). The
// clients' streams (watches above all) are ended first: etcd's own stop
// waits for them up to its request timeout (7 s) per listener.
func (m *Embedded) Close() {
	m.closeOnce.Do(func() {
		m.closing.Store(true)
		m.streams.stop()
		m.etcd.Close()
	})
}

// streamStopper ends every gRPC stream the member serves when stopped: a
// stream interceptor gives each stream a context that is cancelled then,
// which etcd's watch and lease handlers return on.
type streamStopper struct {
	done chan struct{}
	once sync.Once
}

func newStreamStopper() *streamStopper { return &streamStopper{done: make(chan struct{})} }

func (s *streamStopper) stop() { s.once.Do(func() { close(s.done) }) }

func (s *streamStopper) intercept(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return h(srv, &stoppableStream{ServerStream: ss, ctx: ctx})
}

type stoppableStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stoppableStream) Context() context.Context { return s.ctx }
