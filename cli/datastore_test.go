package cli

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/store"
	"github.com/spf13/cobra"
)

func TestResolveDatastore(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	calico := write("calicoctl.cfg", `apiVersion: projectcalico.org/v3
kind: CalicoAPIConfig
metadata: {}
spec:
  datastoreType: etcdv3
  etcdEndpoints: https://10.0.0.1:2379,https://10.0.0.2:2379
  etcdCACertFile: /c/ca.pem
  etcdCertFile: /c/cert.pem
  etcdKeyFile: /c/key.pem
`)
	own := write("palisade.cfg", "etcdEndpoints: unix:///run/palisade/etcd.sock\n")
	kdd := write("kdd.cfg", "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec: {datastoreType: kubernetes}\n")
	typo := write("typo.cfg", "etcdEndpoint: http://x:2379\n")
	env := map[string]string{}
	oldEnv := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = oldEnv })

	resolve := func(flagEndpoints, config string) (store.EtcdConfig, error) {
		c := &cobra.Command{}
		o := &datastoreOpts{}
		addDatastoreFlags(c, o)
		args := []string{}
		if flagEndpoints != "" {
			args = append(args, "--etcd-endpoints", flagEndpoints)
		}
		if config != "" {
			args = append(args, "-c", config)
		}
		if err := c.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return resolveDatastore(o)
	}
	check := func(what string, got store.EtcdConfig, err error, want store.EtcdConfig) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, %v; want %+v", what, got, err, want)
		}
	}
	got, err := resolve("", "")
	check("defaults", got, err, store.EtcdConfig{Endpoints: []string{"http://127.0.0.1:2379"}})
	got, err = resolve("", calico)
	check("CalicoAPIConfig", got, err, store.EtcdConfig{Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"},
		CAFile: "/c/ca.pem", CertFile: "/c/cert.pem", KeyFile: "/c/key.pem"})
	got, err = resolve("", own)
	check("palisade config", got, err, store.EtcdConfig{Endpoints: []string{"unix:///run/palisade/etcd.sock"}})
	env["ETCD_ENDPOINTS"], env["ETCD_CA_CERT_FILE"] = "http://env:2379", "/env/ca.pem"
	got, err = resolve("", calico)
	check("environment over file", got, err, store.EtcdConfig{Endpoints: []string{"http://env:2379"},
		CAFile: "/env/ca.pem", CertFile: "/c/cert.pem", KeyFile: "/c/key.pem"})
	got, err = resolve("http://flag:1, http://flag:2", calico)
	check("flag over environment", got, err, store.EtcdConfig{Endpoints: []string{"http://flag:1", "http://flag:2"},
		CAFile: "/env/ca.pem", CertFile: "/c/cert.pem", KeyFile: "/c/key.pem"})

	for path, msg := range map[string]string{
		kdd:                         `datastoreType "kubernetes" is not supported`,
		typo:                        `unknown field "etcdEndpoint"`,
		filepath.Join(dir, "none"):  "no such file",
		write("bad.cfg", "kind: X"): `kind "X": want CalicoAPIConfig`,
	} {
		if _, err := resolve("", path); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("config %s: error %v, want %q", filepath.Base(path), err, msg)
		}
	}
	env["DATASTORE_TYPE"] = "kubernetes"
	if _, err := resolve("", ""); err == nil || !strings.Contains(err.Error(), "$DATASTORE_TYPE") {
		t.Errorf("DATASTORE_TYPE=kubernetes: %v", err)
	}
}

// closedPort returns a localhost address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestUnreachableDatastore uses the real etcd client on a closed port: every
// command reports it clearly, once, within a few seconds.
func TestUnreachableDatastore(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the dial timeout")
	}
	oldEnv := getenv
	getenv = func(string) string { return "" }
	t.Cleanup(func() { getenv = oldEnv })
	ep := "http://" + closedPort(t)
	for _, args := range [][]string{
		{"get", "gnp"},
		{"apply", "-f", "-"},
	} {
		start := time.Now()
		code, out, errOut := run(t, gnp("a", "")+"---\n"+gnp("b", ""), append(args, "--etcd-endpoints", ep)...)
		took := time.Since(start)
		if code != 1 || out != "" || !strings.Contains(errOut, "datastore unreachable at ["+ep+"]") ||
			strings.Count(errOut, "unreachable") != 1 || took > 8*time.Second {
			t.Errorf("%v: exit %d after %v\nstdout %q\nstderr %q", args, code, took, out, errOut)
		}
	}
}

// TestExplainAndMatrixReadTheDatastore: without -f, explain and matrix use
// every object in the datastore.
func TestExplainAndMatrixReadTheDatastore(t *testing.T) {
	st := newMemory(t)
	put(t, st, cliTopology)
	wantContains(t, "", 0, "Verdict: ALLOW", "", "explain", "--from", "x/a", "--to", "x/b", "--port", "80/TCP")
	wantContains(t, "", 0, "Verdict: DENY", "", "explain", "--from", "x/a", "--to", "x/b", "--port", "81/TCP")
	wantContains(t, "", 0, "x/a\tx/b\tTCP/80\tallow\n", "", "matrix", "--ports", "80/TCP", "-o", "tsv")
	// A policy applied through the CLI takes effect at once.
	deny := "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\n" +
		"spec: {order: 1, selector: app == 'b', ingress: [{action: Deny}]}\n"
	want(t, deny, 0, "Successfully applied 1 'NetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	wantContains(t, "", 0, "Verdict: DENY", "", "explain", "--from", "x/a", "--to", "x/b", "--port", "80/TCP")

	st.FailNext("List", &store.UnavailableError{Endpoints: []string{"http://127.0.0.1:1"}, Err: context.DeadlineExceeded})
	_, errOut := wantContains(t, "", 1, "", "no -f given, and the datastore could not be read: ",
		"explain", "--from", "x/a", "--to", "x/b", "--port", "80/TCP")
	if !strings.Contains(errOut, "datastore unreachable at [http://127.0.0.1:1]") || !strings.Contains(errOut, "$ETCD_ENDPOINTS") {
		t.Errorf("explain on an unreachable datastore: %q", errOut)
	}
}

func TestReadInputsOrderAndNamespaces(t *testing.T) {
	in := "[{\"apiVersion\": \"projectcalico.org/v3\", \"kind\": \"NetworkSet\", \"metadata\": {\"name\": \"a\"}},\n" +
		" {\"apiVersion\": \"projectcalico.org/v3\", \"kind\": \"NetworkSet\", \"metadata\": {\"name\": \"b\", \"namespace\": \"n\"}}]\n" +
		"---\nkind: NetworkSetList\napiVersion: projectcalico.org/v3\nitems:\n- metadata: {name: c, namespace: default}\n" +
		"- metadata: {name: d}\n---\napiVersion: projectcalico.org/v3\nkind: Nope\nmetadata: {name: e}\n"
	items, err := readInputs([]string{"-"}, false, false, true, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		switch {
		case it.err != nil:
			got = append(got, "error:"+it.kind)
		default:
			got = append(got, it.obj.GetName()+":"+map[bool]string{true: "ns", false: "-"}[it.nsSet])
		}
	}
	if want := []string{"a:-", "b:ns", "c:ns", "d:-", "error:Nope"}; !reflect.DeepEqual(got, want) {
		t.Errorf("items %v, want %v", got, want)
	}
	var nr *NoResourcesError
	if _, err := readInputs([]string{t.TempDir()}, false, false, false, nil); !errors.As(err, &nr) ||
		!strings.HasPrefix(err.Error(), "no resources specified in directory ") {
		t.Errorf("empty directory: %v", err)
	}
}
