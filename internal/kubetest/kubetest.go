// Package kubetest starts a real kube-apiserver (on an embedded etcd) for
// tests, through internal/kubeapi: the binaries come from
// scripts/kube-binaries.sh, which builds them from the Go module proxy once
// per version ($PALISADE_KUBE_BIN names their directory; scripts/test sets
// it). Without them a test skips, and fails in CI (CI=true).
package kubetest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/palisade-net/palisade/internal/kubeapi"
)

// Token is the bearer token of the apiserver's administrator
// (system:masters).
const Token = kubeapi.Token

// Cluster is a running kube-apiserver.
type Cluster struct {
	URL        string
	Kubeconfig string // a kubeconfig file for the administrator
	Kubectl    string // the kubectl binary
	Client     kubernetes.Interface
	Config     *rest.Config
	srv        *kubeapi.Server
	log        *lockedBuf
}

// BinDir returns the directory holding kube-apiserver and kubectl, or
// fails (CI) or skips the test.
func BinDir(t testing.TB) string {
	t.Helper()
	dir, err := kubeapi.BinDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return dir
}

// Start runs an etcd and a kube-apiserver for the test, stopped when it ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := BinDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &Cluster{log: &lockedBuf{}}
	srv, err := kubeapi.Start(ctx, kubeapi.Config{Dir: t.TempDir(), Bin: bin, Log: c.log})
	if err != nil {
		t.Fatalf("%v\n%s", err, c.log.String())
	}
	t.Cleanup(srv.Close)
	c.srv, c.URL, c.Kubeconfig, c.Kubectl = srv, srv.URL, srv.Kubeconfig, srv.Kubectl
	c.Config = &rest.Config{Host: c.URL, BearerToken: Token, TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS: 1000, Burst: 2000} // tests make many requests; no client-side throttling
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		t.Fatal(err)
	}
	return c
}

// StartAPIServer restarts kube-apiserver (after StopAPIServer) and waits
// until it is ready.
func (c *Cluster) StartAPIServer(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.srv.StartAPIServer(ctx); err != nil {
		t.Fatalf("%v\n%s", err, c.log.String())
	}
}

// StopAPIServer stops kube-apiserver (before its etcd, as it must be).
func (c *Cluster) StopAPIServer() { c.srv.StopAPIServer() }

// WriteKubeconfig writes a kubeconfig for a bearer token (the
// administrator's when token is "") and returns its path.
func (c *Cluster) WriteKubeconfig(name, token string) (string, error) {
	return c.srv.WriteKubeconfig(name, c.URL, token)
}

// KubectlEnv is the environment kubectl needs for this cluster.
func (c *Cluster) KubectlEnv() []string { return append(os.Environ(), "KUBECONFIG="+c.Kubeconfig) }

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
