package server

import (
	"crypto/x509"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/pki"
	"github.com/palisade-net/palisade/store"
)

// testCA is a CA (package pki) writing its certificates as files in a
// test's directory.
type testCA struct {
	t      *testing.T
	dir    string
	ca     *pki.CA
	CAFile string
}

func newPKI(t *testing.T) *testCA {
	t.Helper()
	ca, err := pki.NewCA("palisade test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCA{t: t, dir: t.TempDir(), ca: ca}
	cert, key, err := ca.PEM()
	if err != nil {
		t.Fatal(err)
	}
	if c.CAFile, _, err = pki.WritePair(c.dir, "ca", cert, key); err != nil {
		t.Fatal(err)
	}
	return c
}

// issue signs a certificate for cn with the given usages (for server use
// valid for 127.0.0.1 and localhost) and returns the cert and key files.
func (c *testCA) issue(cn string, usages ...x509.ExtKeyUsage) (certFile, keyFile string) {
	u := pki.Usage{Server: slices.Contains(usages, x509.ExtKeyUsageServerAuth),
		Client: slices.Contains(usages, x509.ExtKeyUsageClientAuth), Hosts: []string{"127.0.0.1", "localhost"}}
	cert, key, err := c.ca.Issue(cn, u, time.Hour)
	if err != nil {
		c.t.Fatal(err)
	}
	certFile, keyFile, err = pki.WritePair(c.dir, strings.ReplaceAll(cn, ":", "_"), cert, key)
	if err != nil {
		c.t.Fatal(err)
	}
	return certFile, keyFile
}

// (d) TLS end to end: a server with client certificate authentication;
// its controller, a store client and the CLI with a client certificate
// work; without one they are refused.
func TestTLSClientCertificates(t *testing.T) {
	t.Parallel()
	binary(t)
	ca := newPKI(t)
	srvCert, srvKey := ca.issue("server", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	cliCert, cliKey := ca.issue(store.AdminUser, x509.ExtKeyUsageClientAuth) // the administrator (etcd auth is on)
	ports := freePorts(t, 4)
	p := startServer(t, addr(ports[2]), nil,
		"--data-dir", filepath.Join(t.TempDir(), "data"), "--listen", addr(ports[0]), "--peer-listen", addr(ports[1]),
		"--cert-file", srvCert, "--key-file", srvKey, "--trusted-ca-file", ca.CAFile, "--client-cert-auth",
		"--peer-cert-file", srvCert, "--peer-key-file", srvKey, "--peer-trusted-ca-file", ca.CAFile)
	p.waitReady(30 * time.Second) // the server's own connection uses its certificate
	endpoint := "https://" + addr(ports[0])

	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{endpoint}, CAFile: ca.CAFile, CertFile: cliCert, KeyFile: cliKey})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	autoHEPWorks(t, st, "tls-node")

	t.Run("refused without a client certificate", func(t *testing.T) {
		bare, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{endpoint}, CAFile: ca.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		defer bare.Close()
		begin := time.Now()
		_, err = bare.Get(ctxT(t, 20*time.Second), kccKey)
		if err == nil {
			t.Fatal("read without a client certificate succeeded")
		}
		t.Logf("refused in %v: %v", time.Since(begin).Round(time.Millisecond), err)
		if d := time.Since(begin); d > 10*time.Second {
			t.Errorf("refusal took %v", d)
		}
	})
	t.Run("refused with a certificate from another CA", func(t *testing.T) {
		other := newPKI(t)
		c, k := other.issue("intruder", x509.ExtKeyUsageClientAuth)
		bad, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{endpoint}, CAFile: ca.CAFile, CertFile: c, KeyFile: k})
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		if _, err := bad.Get(ctxT(t, 20*time.Second), kccKey); err == nil {
			t.Fatal("read with a foreign client certificate succeeded")
		}
	})
	t.Run("CLI", func(t *testing.T) { cliWithTLS(t, endpoint, ca.CAFile, cliCert, cliKey) })
	t.Run("external etcd from ETCD_* variables", func(t *testing.T) {
		ext := startServer(t, addr(ports[3]), []string{"ETCD_ENDPOINTS=" + endpoint, "ETCD_CA_CERT_FILE=" + ca.CAFile,
			"ETCD_CERT_FILE=" + cliCert, "ETCD_KEY_FILE=" + cliKey})
		ext.waitReady(30 * time.Second)
		if _, body, _ := httpGet("http://" + addr(ports[3]) + "/readiness"); !strings.Contains(body, "standby") {
			t.Errorf("second server on the first one's etcd: %s", body)
		}
		ext.kill()
	})
	list, _, err := st.List(ctxT(t, 10*time.Second), store.Kind(api.KindHostEndpoint), "")
	if err != nil || len(list) != 1 {
		t.Fatalf("host endpoints: %d, %v", len(list), err)
	}
}

// cliWithTLS runs `palisade get hostendpoints` with and without a client
// certificate.
func cliWithTLS(t *testing.T, endpoint, caFile, certFile, keyFile string) {
	env := []string{"ETCD_ENDPOINTS=" + endpoint, "ETCD_CA_CERT_FILE=" + caFile}
	out, err := cliRun(t, append(env, "ETCD_CERT_FILE="+certFile, "ETCD_KEY_FILE="+keyFile), "get", "hostendpoints")
	if err != nil || !strings.Contains(out, "tls-node-auto-hep") {
		t.Errorf("palisade get hostendpoints with a client certificate: %v\n%s", err, out)
	}
	begin := time.Now()
	out, err = cliRun(t, env, "get", "hostendpoints")
	if err == nil {
		t.Errorf("palisade get hostendpoints without a client certificate succeeded:\n%s", out)
	}
	t.Logf("CLI without a client certificate: %v in %v: %s", err, time.Since(begin).Round(time.Millisecond),
		strings.TrimSpace(out))
}
