package kubeapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/palisade-net/palisade/store"
)

// Version is the Kubernetes version scripts/kube-binaries.sh builds.
const Version = "v1.37.1"

// Token is the bearer token of the apiserver's administrator.
const Token = "palisade-test-token"

// BinDir is the directory holding kube-apiserver and kubectl:
// $PALISADE_KUBE_BIN, else the cache scripts/kube-binaries.sh fills. The
// error says how to get them.
func BinDir() (string, error) {
	dir := os.Getenv("PALISADE_KUBE_BIN")
	if dir == "" {
		if home, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(home, "palisade", "kube-"+Version)
		}
	}
	for _, b := range []string{"kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("no %s in %q: run `bash scripts/kube-binaries.sh` (it builds them once) or set PALISADE_KUBE_BIN", b, dir)
		}
	}
	return dir, nil
}

// Config says where to run.
type Config struct {
	Dir  string // state: etcd data, keys, certificates, kubeconfig
	Bin  string // BinDir
	Port int    // the apiserver's port on 127.0.0.1 (0: a free one)
	// Log receives the apiserver's output (default: discarded).
	Log io.Writer
}

// Server is a running kube-apiserver and its etcd.
type Server struct {
	URL        string // https://127.0.0.1:PORT
	Kubeconfig string // the administrator's kubeconfig
	Kubectl    string // the kubectl binary
	cfg        Config
	etcd       *store.Embedded
	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
}

// Start starts etcd and kube-apiserver and waits until the apiserver is
// ready (at most 90 s).
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	etcd, err := store.StartEmbedded(ctx, store.EmbedConfig{DataDir: filepath.Join(cfg.Dir, "etcd"),
		ListenClient: []string{"http://127.0.0.1:0"}, ListenPeer: []string{"http://127.0.0.1:0"}, UnsafeNoFsync: true})
	if err != nil {
		return nil, fmt.Errorf("kubeapi: etcd: %w", err)
	}
	s := &Server{cfg: cfg, etcd: etcd, Kubectl: filepath.Join(cfg.Bin, "kubectl")}
	if err := s.writeKeys(); err != nil {
		etcd.Close()
		return nil, err
	}
	if cfg.Port == 0 {
		if cfg.Port, err = freePort(); err != nil {
			etcd.Close()
			return nil, err
		}
		s.cfg.Port = cfg.Port
	}
	s.URL = "https://127.0.0.1:" + strconv.Itoa(cfg.Port)
	if s.Kubeconfig, err = s.WriteKubeconfig("kubeconfig", s.URL, ""); err != nil {
		etcd.Close()
		return nil, err
	}
	if err := s.StartAPIServer(ctx); err != nil {
		s.StopAPIServer()
		etcd.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the apiserver, then its etcd.
func (s *Server) Close() {
	s.StopAPIServer()
	s.etcd.Close()
}

// StartAPIServer (re)starts kube-apiserver on the same port and etcd and
// waits until it is ready.
func (s *Server) StartAPIServer(ctx context.Context) error {
	d := s.cfg.Dir
	cmd := exec.Command(filepath.Join(s.cfg.Bin, "kube-apiserver"),
		"--etcd-servers="+s.etcd.ClientEndpoints()[0], "--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(s.cfg.Port), "--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", "--cert-dir="+filepath.Join(d, "certs"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(d, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(d, "sa.key"),
		"--token-auth-file="+filepath.Join(d, "tokens.csv"), "--authorization-mode=RBAC",
		"--service-cluster-ip-range=198.19.128.0/17", "--allow-privileged=true",
		"--disable-admission-plugins=ServiceAccount")
	cmd.Stdout, cmd.Stderr = s.cfg.Log, s.cfg.Log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kubeapi: start kube-apiserver: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+Token)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return errors.New("kubeapi: kube-apiserver exited before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("kubeapi: kube-apiserver not ready in 90s")
		}
	}
}

// StopAPIServer stops kube-apiserver (SIGTERM, then SIGKILL after 10 s).
func (s *Server) StopAPIServer() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Done is closed when the running apiserver exits.
func (s *Server) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// writeKeys writes the service account key pair and the token file.
func (s *Server) writeKeys() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"tokens.csv": []byte(Token + `,admin,admin,"system:masters"` + "\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(s.cfg.Dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// WriteKubeconfig writes a kubeconfig named name in the server's
// directory, for the apiserver at url (which may be a proxy of it) and a
// bearer token (the administrator's when token is ""), and returns its
// path.
func (s *Server) WriteKubeconfig(name, url, token string) (string, error) {
	if token == "" {
		token = Token
	}
	path := filepath.Join(s.cfg.Dir, name)
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: palisade, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: palisade, context: {cluster: palisade, user: admin}}]
current-context: palisade
`, url, token)
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
