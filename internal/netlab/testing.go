package netlab

import (
	"os"
	"testing"
)

// RequireRoot skips the test when not running as root, except under CI
// (CI=true), where kernel tests must run and a missing privilege fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("kernel tests need root (CI=true, so not skipping)")
	}
	t.Skip("kernel tests need root; skipping (set CI=true to make this a failure)")
}

// ForTest starts a lab for a test: it requires root (see RequireRoot),
// sweeps namespaces that killed runs left behind, and closes the lab when
// the test ends, failing the test if a namespace cannot be removed.
func ForTest(t testing.TB, base string) *Lab {
	t.Helper()
	RequireRoot(t)
	if gone, err := SweepStale(base); err != nil {
		t.Logf("sweeping stale namespaces: %v", err)
	} else if len(gone) > 0 {
		t.Logf("swept stale namespaces: %v", gone)
	}
	l, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}
