// Package kubetest starts a real kube-apiserver (on an embedded etcd) for
// tests: the binaries come from scripts/kube-binaries.sh, which builds them
// from the Go module proxy once per version ($PALISADE_KUBE_BIN names
// their directory; scripts/test sets it). Without them a test skips, and
// fails in CI (CI=true).
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-net/palisade/store"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Token is the bearer token of the apiserver's administrator
// (system:masters).
const Token = "palisade-test-token"

// Cluster is a running kube-apiserver.
type Cluster struct {
	URL        string
	Kubeconfig string // a kubeconfig file for the administrator
	Kubectl    string // the kubectl binary
	Client     kubernetes.Interface
	Config     *rest.Config
	dir        string
	cmd        *exec.Cmd
	done       chan struct{}
	etcd       *store.Embedded
	etcdURL    string
	port       int
	log        *lockedBuf
}

// BinDir returns the directory holding kube-apiserver and kubectl, or
// fails (CI) or skips the test.
func BinDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PALISADE_KUBE_BIN")
	if dir == "" {
		if home, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(home, "palisade", "kube-v1.37.1")
		}
	}
	for _, b := range []string{"kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			msg := fmt.Sprintf("no %s in %q: run `bash scripts/kube-binaries.sh` and set PALISADE_KUBE_BIN", b, dir)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// Start runs an etcd and a kube-apiserver for the test, stopped when it ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := BinDir(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	etcd, err := store.StartEmbedded(ctx, store.EmbedConfig{DataDir: filepath.Join(dir, "etcd"),
		ListenClient: []string{"http://127.0.0.1:0"}, ListenPeer: []string{"http://127.0.0.1:0"}, UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{dir: dir, etcd: etcd, etcdURL: etcd.ClientEndpoints()[0], Kubectl: filepath.Join(bin, "kubectl"),
		log: &lockedBuf{}}
	t.Cleanup(func() { c.etcd.Close() })
	if err := c.writeFiles(); err != nil {
		t.Fatal(err)
	}
	c.port = freePort(t)
	c.URL = "https://127.0.0.1:" + strconv.Itoa(c.port)
	c.Config = &rest.Config{Host: c.URL, BearerToken: Token, TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS: 1000, Burst: 2000} // tests make many requests; no client-side throttling
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		t.Fatal(err)
	}
	if c.Kubeconfig, err = c.WriteKubeconfig("kubeconfig", ""); err != nil {
		t.Fatal(err)
	}
	c.StartAPIServer(t, bin)
	t.Cleanup(c.StopAPIServer)
	return c
}

// StartAPIServer (re)starts kube-apiserver and waits until it is ready.
func (c *Cluster) StartAPIServer(t testing.TB, bin string) {
	t.Helper()
	c.cmd = exec.Command(filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers="+c.etcdURL, "--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(c.port),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none", "--cert-dir="+filepath.Join(c.dir, "certs"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(c.dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(c.dir, "sa.key"),
		"--token-auth-file="+filepath.Join(c.dir, "tokens.csv"), "--authorization-mode=RBAC",
		"--service-cluster-ip-range=198.19.128.0/17", "--allow-privileged=true",
		"--disable-admission-plugins=ServiceAccount")
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(c.cmd, c.done)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest("GET", c.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+Token)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-c.done:
			t.Fatalf("kube-apiserver exited:\n%s", c.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready in 90s:\n%s", c.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StopAPIServer stops kube-apiserver (before its etcd, as it must be).
func (c *Cluster) StopAPIServer() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// writeFiles writes the service account key pair, the token file and the
// kubeconfig.
func (c *Cluster) writeFiles() error {
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
		if err := os.WriteFile(filepath.Join(c.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// WriteKubeconfig writes a kubeconfig for a bearer token (the
// administrator's when token is "") and returns its path.
func (c *Cluster) WriteKubeconfig(name, token string) (string, error) {
	if token == "" {
		token = Token
	}
	path := filepath.Join(c.dir, name)
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: u}}]
current-context: test
`, c.URL, token)
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// KubectlEnv is the environment kubectl needs for this cluster.
func (c *Cluster) KubectlEnv() []string { return append(os.Environ(), "KUBECONFIG="+c.Kubeconfig) }

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuf struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
