package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/palisade-net/palisade/api"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// Defaults of EtcdConfig.
const (
	DefaultEtcdEndpoint   = "http://127.0.0.1:2379"
	DefaultDialTimeout    = 3 * time.Second
	DefaultRequestTimeout = 5 * time.Second
)

// EtcdConfig says how to reach an etcd cluster (embedded or external).
//
// Endpoints are URLs: http://host:port, https://host:port, unix:///abs/path,
// unix://rel/path (relative to the working directory, etcd's convention) or
// unixs:// for TLS over a unix socket (the server certificate must then
// name the socket's base name). Entries may also be comma-separated lists.
type EtcdConfig struct {
	Endpoints                 []string
	CAFile, CertFile, KeyFile string
	// DialTimeout bounds waiting for a connection before a request: an
	// unreachable datastore fails with *UnavailableError after it.
	DialTimeout time.Duration
	// RequestTimeout bounds each request once connected.
	RequestTimeout time.Duration
}

func (c EtcdConfig) withDefaults() EtcdConfig {
	var eps []string
	for _, e := range c.Endpoints {
		for _, p := range strings.Split(e, ",") {
			if p = strings.TrimSpace(p); p != "" {
				eps = append(eps, p)
			}
		}
	}
	if len(eps) == 0 {
		eps = []string{DefaultEtcdEndpoint}
	}
	c.Endpoints = eps
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	return c
}

func (c EtcdConfig) tlsConfig() (*tls.Config, error) {
	if c.CAFile == "" && c.CertFile == "" && c.KeyFile == "" {
		return nil, nil
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("etcd client TLS: the certificate and key files must be given together")
	}
	info := transport.TLSInfo{CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.CAFile}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd client TLS: %w", err)
	}
	return cfg, nil
}

func checkEndpoint(ep string) error {
	if !strings.Contains(ep, "://") {
		if strings.HasPrefix(ep, "unix:") || strings.HasPrefix(ep, "unixs:") {
			return nil
		}
		return nil // host:port, used as is by the client
	}
	u, err := url.Parse(ep)
	if err != nil {
		return fmt.Errorf("etcd endpoint %q: %w", ep, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("etcd endpoint %q: no host", ep)
		}
	case "unix", "unixs":
		if u.Host+u.Path == "" {
			return fmt.Errorf("etcd endpoint %q: no socket path", ep)
		}
	default:
		return fmt.Errorf("etcd endpoint %q: scheme must be http, https, unix or unixs", ep)
	}
	return nil
}

// Etcd is the Store on an etcd cluster. Its connection is made lazily and
// re-made after failures; requests wait at most DialTimeout for it.
type Etcd struct {
	cfg       EtcdConfig
	cli       *clientv3.Client
	done      chan struct{}
	closeOnce sync.Once
}

var _ Store = (*Etcd)(nil)

// NewEtcd returns a store on the etcd cluster cfg names. It does not
// contact etcd: an unreachable cluster shows on the first request.
func NewEtcd(cfg EtcdConfig) (*Etcd, error) {
	cfg = cfg.withDefaults()
	for _, ep := range cfg.Endpoints {
		if err := checkEndpoint(ep); err != nil {
			return nil, err
		}
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	bo := backoff.DefaultConfig
	bo.MaxDelay = 2 * time.Second // reconnect promptly after a server restart
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		TLS:                  tlsCfg,
		Logger:               zap.NewNop(),
		DialOptions:          []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: cfg.DialTimeout})},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", cfg.Endpoints, err)
	}
	return &Etcd{cfg: cfg, cli: cli, done: make(chan struct{})}, nil
}

// Client returns the underlying etcd client (for health checks and
// maintenance such as compaction).
func (e *Etcd) Client() *clientv3.Client { return e.cli }

// Endpoints returns the endpoints in use.
func (e *Etcd) Endpoints() []string { return append([]string(nil), e.cfg.Endpoints...) }

// Close releases the connection; watches end.
func (e *Etcd) Close() error {
	var err error
	e.closeOnce.Do(func() {
		close(e.done)
		err = e.cli.Close()
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("closing etcd client: %w", err)
	}
	return nil
}

func (e *Etcd) closed() <-chan struct{} { return e.done }

// ready waits up to DialTimeout for a usable connection.
func (e *Etcd) ready(ctx context.Context) error {
	select {
	case <-e.done:
		return errors.New("etcd store is closed")
	default:
	}
	conn := e.cli.ActiveConnection()
	st := conn.GetState()
	if st == connectivity.Ready {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, e.cfg.DialTimeout)
	defer cancel()
	for st != connectivity.Ready {
		if st == connectivity.Idle {
			conn.Connect()
		}
		if st == connectivity.Shutdown {
			return errors.New("etcd store is closed")
		}
		if !conn.WaitForStateChange(wctx, st) {
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for etcd: %w", ctx.Err())
			}
			return e.unavailable(fmt.Errorf("no connection within %s (%s)%s",
				e.cfg.DialTimeout, strings.ToLower(st.String()), e.probe()))
		}
		st = conn.GetState()
	}
	return nil
}

// probe asks once more, briefly, to learn why the connection fails
// (refused, TLS, ...): gRPC names the last connection error in the status
// of a request that timed out waiting for a connection (clientv3 replaces
// it by the bare context error, hence the raw gRPC client).
func (e *Etcd) probe() string {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := pb.NewKVClient(e.cli.ActiveConnection()).Range(ctx,
		&pb.RangeRequest{Key: []byte(Prefix), CountOnly: true}, grpc.WaitForReady(true))
	if s, ok := status.FromError(err); ok && err != nil && s.Message() != context.DeadlineExceeded.Error() {
		return ": " + s.Message()
	}
	return ""
}

// call runs f with the request timeout after waiting for a connection, and
// maps connection and deadline errors to *UnavailableError.
func (e *Etcd) call(ctx context.Context, what string, f func(ctx context.Context) error) error {
	if err := e.ready(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
	defer cancel()
	err := f(rctx)
	if err == nil {
		return nil
	}
	if isTyped(err) {
		return err // their messages are calicoctl's; no prefix
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if isUnavailable(err) {
		return e.unavailable(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (e *Etcd) unavailable(err error) error {
	return &UnavailableError{Endpoints: e.Endpoints(), Err: err}
}

// isTyped reports the store's own outcome errors.
func isTyped(err error) bool {
	return IsNotFound(err) || IsAlreadyExists(err) || IsConflict(err) || IsUnavailable(err)
}

// isUnavailable reports errors that mean "could not reach a working
// cluster in time" rather than a refused request.
func isUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, clientv3.ErrNoAvailableEndpoints) {
		return true
	}
	code := codes.OK
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	} else if s, ok := status.FromError(err); ok {
		code = s.Code()
	}
	return code == codes.Unavailable || code == codes.DeadlineExceeded
}

// Get implements Store.
func (e *Etcd) Get(ctx context.Context, k Key) (api.Object, error) {
	if err := checkKey(k); err != nil {
		return nil, err
	}
	var out api.Object
	err := e.call(ctx, "get "+k.String(), func(ctx context.Context) error {
		resp, err := e.cli.Get(ctx, k.Path())
		if err != nil {
			return err
		}
		if len(resp.Kvs) == 0 {
			return &NotFoundError{Key: k}
		}
		out, err = getStored(k, resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
		return err
	})
	return out, err
}

// List implements Store.
func (e *Etcd) List(ctx context.Context, kind Kind, namespace string) ([]api.Object, int64, error) {
	if err := checkKind(kind); err != nil {
		return nil, 0, err
	}
	kvs, rev, err := e.listRaw(ctx, ListPrefix(kind, namespace), 0)
	if err != nil {
		return nil, 0, err
	}
	return readList(kvs), rev, nil
}

// listPage is the number of keys fetched per range request.
const listPage = 1000

// listRaw reads every key under prefix at rev (0: current) in pages.
func (e *Etcd) listRaw(ctx context.Context, prefix string, rev int64) ([]rawKV, int64, error) {
	var out []rawKV
	err := e.call(ctx, "list "+prefix, func(ctx context.Context) error {
		out = out[:0]
		end := clientv3.GetPrefixRangeEnd(prefix)
		from := prefix
		for {
			opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listPage)}
			if rev > 0 {
				opts = append(opts, clientv3.WithRev(rev))
			}
			resp, err := e.cli.Get(ctx, from, opts...)
			if errors.Is(err, rpctypes.ErrCompacted) {
				return fmt.Errorf("%w: %w", errCompacted, err)
			}
			if err != nil {
				return err
			}
			if rev == 0 {
				rev = resp.Header.Revision
			}
			for _, kv := range resp.Kvs {
				out = append(out, rawKV{Key: string(kv.Key), Value: kv.Value, ModRev: kv.ModRevision})
			}
			if !resp.More || len(resp.Kvs) == 0 {
				return nil
			}
			from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		}
	})
	return out, rev, err
}
