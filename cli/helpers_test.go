package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// keepOpen hands the CLI a store it cannot close, so one store serves a
// whole test's sequence of commands.
type keepOpen struct{ store.Store }

func (keepOpen) Close() error { return nil }

// withStore makes every command of the test use st, with no environment,
// and shortens the conflict retry delay.
func withStore(t testing.TB, st store.Store) {
	t.Helper()
	oldNew, oldEnv, oldDelay := newStore, getenv, retryDelay
	newStore = func(store.EtcdConfig) (store.Store, error) { return keepOpen{st}, nil }
	getenv = func(string) string { return "" }
	retryDelay = time.Millisecond
	t.Cleanup(func() { newStore, getenv, retryDelay = oldNew, oldEnv, oldDelay })
}

// newMemory returns an in-memory store used by every command of the test.
func newMemory(t testing.TB) *store.Memory {
	t.Helper()
	m := store.NewMemory()
	t.Cleanup(func() { _ = m.Close() })
	withStore(t, m)
	return m
}

// serverDefaults are the resources `palisade server` creates at first
// start (issue 3): the FelixConfiguration is the one seed 003 exports.
const serverDefaults = `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: default}
spec: {order: 1000000, defaultAction: Deny}
---
apiVersion: projectcalico.org/v3
kind: KubeControllersConfiguration
metadata: {name: default}
spec:
  healthChecks: Enabled
  controllers:
    node:
      reconcilerPeriod: 5m
      hostEndpoint: {autoCreate: Disabled}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  ipipEnabled: true
  logSeverityScreen: Info
  reportingInterval: 0s
`

// seedDefaults writes serverDefaults into st.
func seedDefaults(t testing.TB, st store.Store) {
	t.Helper()
	put(t, st, serverDefaults)
}

// put decodes manifests and creates every object in st directly.
func put(t testing.TB, st store.Store, manifests string) {
	t.Helper()
	docs, errs := api.Decode("test", []byte(manifests))
	if len(errs) > 0 {
		t.Fatalf("test manifests: %v", errs)
	}
	for _, d := range docs {
		if _, err := st.Create(context.Background(), d.Object); err != nil {
			t.Fatalf("creating %s: %v", api.ID(d.Object), err)
		}
	}
}

// mustGet reads one object from st.
func mustGet(t testing.TB, st store.Store, kind store.Kind, ns, name string) api.Object {
	t.Helper()
	o, err := st.Get(context.Background(), store.Key{Kind: kind, Namespace: ns, Name: name})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", kind, ns, name, err)
	}
	return o
}

// exists reports whether an object is stored.
func exists(t testing.TB, st store.Store, kind store.Kind, ns, name string) bool {
	t.Helper()
	_, err := st.Get(context.Background(), store.Key{Kind: kind, Namespace: ns, Name: name})
	if err != nil && !store.IsNotFound(err) {
		t.Fatalf("get %s %s/%s: %v", kind, ns, name, err)
	}
	return err == nil
}

// want runs a command and checks exit status, stdout and stderr exactly.
func want(t *testing.T, stdin string, code int, stdout, stderr string, args ...string) {
	t.Helper()
	c, out, errOut := run(t, stdin, args...)
	if c != code || out != stdout || errOut != stderr {
		t.Errorf("palisade %s\n got: exit %d\nstdout %q\nstderr %q\nwant: exit %d\nstdout %q\nstderr %q",
			strings.Join(args, " "), c, out, errOut, code, stdout, stderr)
	}
}

// wantContains runs a command and checks the exit status and substrings of
// stdout and stderr.
func wantContains(t *testing.T, stdin string, code int, stdout, stderr string, args ...string) (string, string) {
	t.Helper()
	c, out, errOut := run(t, stdin, args...)
	if c != code || !strings.Contains(out, stdout) || !strings.Contains(errOut, stderr) {
		t.Errorf("palisade %s\n got: exit %d\nstdout %q\nstderr %q\nwant: exit %d, stdout containing %q, stderr containing %q",
			strings.Join(args, " "), c, out, errOut, code, stdout, stderr)
	}
	return out, errOut
}

// gnp is a small GlobalNetworkPolicy manifest.
func gnp(name, extra string) string {
	return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: " + name +
		"\nspec:\n  selector: all()\n" + extra
}
