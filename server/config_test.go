package server

import (
	"github.com/palisade-net/palisade/store"
	"strings"
	"testing"
)

// A plaintext embedded listener on a routable address is refused unless
// InsecureListen; loopback, unix sockets and TLS listeners are fine.
func TestPlaintextListenerRefused(t *testing.T) {
	for _, tc := range []struct {
		listen, peer  string
		tls, insecure bool
		wantErr       string
	}{
		{"127.0.0.1:2379", "127.0.0.1:2380", false, false, ""},
		{"unix:///run/p.sock", "[::1]:2380", false, false, ""},
		{"localhost:2379", "127.0.0.1:2380", false, false, ""},
		{"198.18.0.1:2379", "127.0.0.1:2380", false, false, "listen: 198.18.0.1:2379 would serve the datastore in plaintext"},
		{"0.0.0.0:2379", "127.0.0.1:2380", false, false, "listen: 0.0.0.0:2379"},
		{"http://198.18.0.1:2379", "127.0.0.1:2380", true, false, "listen: http://198.18.0.1:2379"},
		{"127.0.0.1:2379", "198.18.0.1:2380", false, false, "peer-listen: 198.18.0.1:2380"},
		{"198.18.0.1:2379", "127.0.0.1:2380", true, false, ""},
		{"198.18.0.1:2379", "198.18.0.1:2380", false, true, ""},
	} {
		c := Config{Listen: []string{tc.listen}, PeerListen: []string{tc.peer}, InsecureListen: tc.insecure}
		if tc.tls {
			c.ClientTLS.CertFile, c.ClientTLS.KeyFile, c.ClientTLS.TrustedCAFile = "c.pem", "k.pem", "ca.pem"
		}
		err := c.Defaults().Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tc, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: err = %v, want %q", tc, err, tc.wantErr)
		}
	}
}

// TLS always comes with client certificates and a CA to check them.
func TestTLSNeedsClientCertificates(t *testing.T) {
	c := Config{ClientTLS: store.TLSFiles{CertFile: "s.pem", KeyFile: "s-key.pem"}}.Defaults()
	if !c.ClientTLS.ClientCertAuth {
		t.Error("--cert-file without --client-cert-auth leaves client certificates optional")
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "trusted-ca-file: required with --cert-file") {
		t.Errorf("Validate = %v", err)
	}
}
