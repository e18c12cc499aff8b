package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// Messages and exit codes of docs/api.md §8.3.

func TestWriteMessages(t *testing.T) {
	st := newMemory(t)
	two := gnp("a", "") + "---\n" + gnp("b", "")
	want(t, gnp("a", ""), 0, "Successfully created 1 'GlobalNetworkPolicy' resource(s)\n", "", "create", "-f", "-")
	want(t, gnp("a", ""), 1, "", "failed to create 'GlobalNetworkPolicy' resource: "+
		"[resource already exists: GlobalNetworkPolicy(a) with error: <nil>]\n", "create", "-f", "-")
	want(t, gnp("a", ""), 0, "Successfully created 1 'GlobalNetworkPolicy' resource(s)\n", "",
		"create", "-f", "-", "--skip-exists")
	want(t, two, 1, "Partial success: created the first 1 out of 2 'GlobalNetworkPolicy' resources:\n",
		"hit error: [resource already exists: GlobalNetworkPolicy(a) with error: <nil>]\n", "create", "-f", "-")
	want(t, two, 1, "", "failed to create any 'GlobalNetworkPolicy' resources: "+
		"[resource already exists: GlobalNetworkPolicy(a) with error: <nil> "+
		"resource already exists: GlobalNetworkPolicy(b) with error: <nil>]\n", "create", "-f", "-")
	want(t, two, 0, "Successfully replaced 2 'GlobalNetworkPolicy' resource(s)\n", "", "replace", "-f", "-")
	want(t, gnp("c", ""), 1, "", "failed to replace 'GlobalNetworkPolicy' resource: "+
		"[resource does not exist: GlobalNetworkPolicy(c) with error: <nil>]\n", "replace", "-f", "-")
	mixed := two + "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: t1}\nspec: {order: 10}\n"
	want(t, mixed, 0, "Successfully applied 3 resource(s)\n", "", "apply", "-f", "-")
	if !exists(t, st, api.KindTier, "", "default") {
		t.Error("write commands did not create the default tier")
	}

	want(t, "", 0, "Successfully deleted 2 'GlobalNetworkPolicy' resource(s)\n", "", "delete", "gnp", "a", "b")
	want(t, "", 1, "", "Failed to delete 'GlobalNetworkPolicy' resource: "+
		"resource does not exist: GlobalNetworkPolicy(a) with error: <nil>\n", "delete", "globalnetworkpolicy", "a")
	want(t, "", 0, "Successfully deleted 1 'GlobalNetworkPolicy' resource(s)\n", "", "delete", "gnp", "a", "-s")
	want(t, mixed, 1, "Successfully deleted 1 resource(s)\n",
		"Failed to delete resource: resource does not exist: GlobalNetworkPolicy(a) with error: <nil>\n"+
			"Failed to delete resource: resource does not exist: GlobalNetworkPolicy(b) with error: <nil>\n",
		"delete", "-f", "-")
	want(t, "", 1, "", "resource type 'somekind' is not supported\n", "delete", "somekind", "x")
	want(t, "", 1, "", "resource name may not be empty\n", "delete", "gnp")
	want(t, "", 1, "", "no resources specified in file -\n", "apply", "-f", "-")
	want(t, "", 0, "No resources specified\n", "", "apply", "-f", "-", "--skip-empty")
	wantContains(t, "", 1, "", "failed to execute command: ", "apply", "-f", "/nonexistent/file.yaml")
}

func TestStaleResourceVersionConflicts(t *testing.T) {
	st := newMemory(t)
	want(t, gnp("p", ""), 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	rv := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "p").GetResourceVersion()
	withRV := strings.Replace(gnp("p", "  order: 5\n"), "name: p", "name: p\n  resourceVersion: \""+rv+"\"", 1)
	want(t, withRV, 0, "Successfully replaced 1 'GlobalNetworkPolicy' resource(s)\n", "", "replace", "-f", "-")
	// The same resourceVersion is now stale: replace and apply fail, no retry.
	for _, verb := range []string{"replace", "apply"} {
		wantContains(t, withRV, 1, "", "update conflict: GlobalNetworkPolicy(p): resource version '"+rv+"' is out of date",
			verb, "-f", "-")
	}
	// Create refuses a resourceVersion, as calicoctl does.
	wantContains(t, strings.Replace(withRV, "name: p", "name: q", 1), 1, "",
		"error with field Metadata.ResourceVersion = '"+rv+"' (field must not be set for a Create request)", "create", "-f", "-")
	// A stale resourceVersion is a delete precondition too.
	wantContains(t, withRV, 1, "", "update conflict", "delete", "-f", "-")
	if !exists(t, st, api.KindGlobalNetworkPolicy, "", "p") {
		t.Error("a delete with a stale resourceVersion deleted the policy")
	}
}

// TestConcurrentAppliesLoseNothing runs applies without resourceVersion
// and labels of different keys at the same time: every command succeeds
// (conflicts are retried) and every label is there at the end.
func TestConcurrentAppliesLoseNothing(t *testing.T) {
	st := newMemory(t)
	want(t, gnp("p", ""), 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			codes[i], _, _ = run(t, gnp("p", fmt.Sprintf("  order: %d\n", i)), "apply", "-f", "-")
		}()
		go func() {
			defer wg.Done()
			codes[n+i], _, _ = run(t, "", "label", "gnp", "p", fmt.Sprintf("k%d=v", i))
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Errorf("command %d exited %d", i, c)
		}
	}
	p := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "p").(*api.GlobalNetworkPolicy)
	for i := 0; i < n; i++ {
		if p.Labels[fmt.Sprintf("k%d", i)] != "v" {
			t.Errorf("label k%d lost: %v", i, p.Labels)
		}
	}
	if p.Spec.Order == nil {
		t.Error("no apply's order survived")
	}
}

func TestApplyUpdateRetriesThenGivesUp(t *testing.T) {
	st := newMemory(t)
	want(t, gnp("p", ""), 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	conflict := &store.ConflictError{Key: store.Key{Kind: api.KindGlobalNetworkPolicy, Name: "p"}}
	for i := 0; i < 4; i++ {
		st.FailNext("Update", conflict)
	}
	want(t, gnp("p", "  order: 1\n"), 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	for i := 0; i < 5; i++ {
		st.FailNext("Update", conflict)
	}
	_, errOut := wantContains(t, gnp("p", "  order: 2\n"), 1, "", "failed to apply 'GlobalNetworkPolicy' resource: [failed to update the resource: ",
		"apply", "-f", "-")
	if !strings.Contains(errOut, "update conflict: GlobalNetworkPolicy(p)") {
		t.Errorf("stderr %q lacks the conflict", errOut)
	}
}

func TestInvalidDocumentNeverWritten(t *testing.T) {
	st := newMemory(t)
	in := gnp("one", "") + "---\n" + gnp("two", "  bogus: 1\n") + "---\n" + gnp("three", "  order: -1x\n") +
		"---\n" + gnp("four", "")
	out, errOut := wantContains(t, in, 1, "Partial success: applied the first 2 out of 4 'GlobalNetworkPolicy' resources:\n",
		"hit error: [<stdin>: document 2 (line 8): GlobalNetworkPolicy \"two\": "+
			"field in document is not recognized or is in the wrong location: spec.bogus", "apply", "-f", "-")
	if !strings.Contains(errOut, `document 3 (line 16): GlobalNetworkPolicy "three": error with field spec.order`) {
		t.Errorf("document 3's error: %q %q", out, errOut)
	}
	for name, want := range map[string]bool{"one": true, "two": false, "three": false, "four": true} {
		if exists(t, st, api.KindGlobalNetworkPolicy, "", name) != want {
			t.Errorf("policy %s stored: %v, want %v", name, !want, want)
		}
	}
	bad := "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: x}\n" +
		"spec: {selector: \"has(\", ingress: [{action: Allow, source: {nets: [bogus]}}]}\n"
	wantContains(t, bad, 1, "", "error with the following fields:\n-  spec.selector", "apply", "-f", "-")
}

func TestMirrorPoliciesRefused(t *testing.T) {
	st := newMemory(t)
	knp := "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: knp.default.web, namespace: prod}\n" +
		"spec: {selector: all()}\n"
	msg := "kubernetes network policies must be managed through the kubernetes API"
	wantContains(t, knp, 1, "", "operation create or apply is not supported on NetworkPolicy(prod/knp.default.web): "+msg,
		"apply", "-f", "-")
	wantContains(t, knp, 1, "", "operation create or apply is not supported", "create", "-f", "-")
	wantContains(t, knp, 1, "", "operation apply or replace is not supported", "replace", "-f", "-")
	put(t, st, knp) // as kube-controllers would write it
	wantContains(t, "", 1, "", "operation delete is not supported on NetworkPolicy(prod/knp.default.web): "+msg,
		"delete", "networkpolicy", "knp.default.web", "-n", "prod")
	wantContains(t, "", 1, "", msg, "patch", "np", "knp.default.web", "-n", "prod", "-p", `{"spec":{"order":1}}`)
	if !exists(t, st, api.KindNetworkPolicy, "prod", "knp.default.web") {
		t.Error("the mirror policy was deleted")
	}
}

func TestNamespaceRules(t *testing.T) {
	st := newMemory(t)
	np := func(ns string) string {
		meta := "{name: allow-web}"
		if ns != "" {
			meta = "{name: allow-web, namespace: " + ns + "}"
		}
		return "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: " + meta + "\nspec: {selector: all()}\n"
	}
	ok := "Successfully applied 1 'NetworkPolicy' resource(s)\n"
	want(t, np(""), 0, ok, "", "apply", "-f", "-")
	want(t, np(""), 0, ok, "", "apply", "-f", "-", "-n", "prod")
	want(t, np("dev"), 0, ok, "", "apply", "-f", "-")
	want(t, np("prod"), 0, ok, "", "apply", "-f", "-", "-n", "prod")
	for _, ns := range []string{"default", "prod", "dev"} {
		if !exists(t, st, api.KindNetworkPolicy, ns, "allow-web") {
			t.Errorf("no allow-web in %s", ns)
		}
	}
	want(t, np("dev"), 1, "", "failed to apply 'NetworkPolicy' resource: "+
		"[resource namespace does not match client namespace. dev != prod]\n", "apply", "-f", "-", "-n", "prod")
	want(t, gnp("g", ""), 1, "", "failed to apply 'GlobalNetworkPolicy' resource: [GlobalNetworkPolicy is not namespaced]\n",
		"apply", "-f", "-", "-n", "prod")

	want(t, "", 0, "NAMESPACE   NAME        TIER      \nprod        allow-web   default   \n\n", "", "get", "networkpolicy", "-n", "prod")
	want(t, "", 0, "NAME        TIER      \nallow-web   default   \n\n", "", "get", "policies")
	all := "NAMESPACE   NAME        TIER      \ndefault     allow-web   default   \ndev         allow-web   default   \n" +
		"prod        allow-web   default   \n\n"
	want(t, "", 0, all, "", "get", "np", "-A")
	want(t, "", 0, all, "", "get", "np", "-a")
	want(t, "", 0, all, "", "get", "np", "--all-namespaces")
	want(t, "", 1, "", "cannot use both --namespace and --all-namespaces flags at the same time\n", "get", "np", "-n", "x", "-A")
	want(t, "", 1, "", "cannot use --all-namespace flag for getting a single resource\n", "get", "np", "allow-web", "-A")
	want(t, "", 1, "", "GlobalNetworkPolicy is not namespaced\n", "get", "gnp", "-n", "x")
	want(t, "", 1, "", "HostEndpoint is not namespaced\n", "get", "heps", "-A")
	want(t, "", 0, "Successfully deleted 1 'NetworkPolicy' resource(s)\n", "", "delete", "np", "allow-web", "-n", "dev")
	want(t, "", 1, "", "Failed to delete 'GlobalNetworkPolicy' resource: GlobalNetworkPolicy is not namespaced\n",
		"delete", "gnp", "g", "-n", "dev")
}

func TestUnavailableStopsAtOnce(t *testing.T) {
	st := newMemory(t)
	down := &store.UnavailableError{Endpoints: []string{"http://127.0.0.1:1"}, Err: context.DeadlineExceeded}
	st.FailNext("Get", down)
	_, errOut := wantContains(t, gnp("a", "")+"---\n"+gnp("b", ""), 1, "",
		"datastore unreachable at [http://127.0.0.1:1]: context deadline exceeded\n(set the endpoints with --etcd-endpoints",
		"apply", "-f", "-")
	if strings.Count(errOut, "unreachable") != 1 || exists(t, st, api.KindGlobalNetworkPolicy, "", "a") {
		t.Errorf("unreachable reported more than once, or something written: %q", errOut)
	}
	if errors.Is(down, context.DeadlineExceeded) != true {
		t.Fatal("UnavailableError does not unwrap")
	}
}

// TestInvalidInputNeedsNoDatastore: when no document is valid, the
// datastore is not contacted and the documents' errors are the report.
func TestInvalidInputNeedsNoDatastore(t *testing.T) {
	newMemory(t)
	newStore = func(store.EtcdConfig) (store.Store, error) {
		t.Error("the datastore was opened for input with nothing to write")
		return nil, errors.New("no datastore")
	}
	wantContains(t, gnp("x", "  bogus: 1\n"), 1, "",
		"failed to apply 'GlobalNetworkPolicy' resource: [<stdin>: document 1 (line 1): GlobalNetworkPolicy \"x\": "+
			"field in document is not recognized or is in the wrong location: spec.bogus]", "apply", "-f", "-")
}

// lostReply stores the n-th Create and then reports the datastore
// unreachable, as a server that crashes after committing does.
type lostReply struct {
	store.Store
	n, calls int
}

func (l *lostReply) Create(ctx context.Context, o api.Object) (api.Object, error) {
	l.calls++
	out, err := l.Store.Create(ctx, o)
	if l.calls == l.n && err == nil {
		return nil, &store.UnavailableError{Endpoints: []string{"http://127.0.0.1:1"}, Err: errors.New("connection reset")}
	}
	return out, err
}

// A server crash mid-apply: what succeeded is reported as a partial
// success, the document in flight is "may or may not have been stored"
// (never "failed": here it was stored), and later ones are not attempted.
func TestApplyOutcomeUnknownMidway(t *testing.T) {
	mem := store.NewMemory()
	t.Cleanup(func() { mem.Close() })
	seedDefaults(t, mem)
	withStore(t, &lostReply{Store: mem, n: 2})
	three := gnp("a", "") + "---\n" + gnp("b", "") + "---\n" + gnp("c", "")
	want(t, three, 1, "Partial success: applied the first 1 out of 3 'GlobalNetworkPolicy' resources:\n",
		"hit error: [GlobalNetworkPolicy(b): the datastore became unreachable during the write, so it may or may not have been stored "+
			"(check with 'palisade get' when the datastore is back; later resources were not attempted): "+
			"datastore unreachable at [http://127.0.0.1:1]: connection reset\n"+
			"(set the endpoints with --etcd-endpoints, $ETCD_ENDPOINTS or the config file /etc/palisade/palisade.cfg; is `palisade server` running?)]\n",
		"apply", "-f", "-")
	if !exists(t, mem, api.KindGlobalNetworkPolicy, "", "b") || exists(t, mem, api.KindGlobalNetworkPolicy, "", "c") {
		t.Error("b should be stored (its reply was lost) and c not attempted")
	}
}
