package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// One undecodable value under a kind's prefix: get lists the rest and
// names the bad key (exit 1); get of that name says it cannot be read;
// delete removes it and says so; apply repairs it.
func TestUnreadableStoredValue(t *testing.T) {
	st := newMemory(t)
	put(t, st, gnp("a", "")+"---\n"+gnp("c", ""))
	bad := store.Key{Kind: api.KindGlobalNetworkPolicy, Name: "b"}
	if err := st.PutRaw(context.Background(), bad, []byte(`{"spec": {"selector": `)); err != nil {
		t.Fatal(err)
	}
	want(t, "", 1, "NAME   TIER      \na      default   \nc      default   \n\n",
		"cannot read GlobalNetworkPolicy(b) (key /palisade/resources/v3/projectcalico.org/globalnetworkpolicies/b): "+
			"decoding stored GlobalNetworkPolicy: unexpected end of JSON input; "+
			"replace it with 'palisade apply' or remove it with 'palisade delete'\n", "get", "gnp")
	wantContains(t, "", 1, "", "cannot be read", "get", "gnp", "b")
	want(t, "", 0, "Successfully deleted 1 'GlobalNetworkPolicy' resource(s)\n", "", "delete", "gnp", "b")
	if exists(t, st, bad.Kind, "", "b") {
		t.Error("b still stored")
	}
	if err := st.PutRaw(context.Background(), bad, []byte(`garbage`)); err != nil {
		t.Fatal(err)
	}
	want(t, gnp("b", ""), 0, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n", "", "apply", "-f", "-")
	want(t, "", 0, "NAME   TIER      \na      default   \nb      default   \nc      default   \n\n", "", "get", "gnp")
}

// Live explain and matrix judge the rest of the datastore when one stored
// object is unreadable, warn about it, and fail closed where it applies.
func TestLiveExplainWithAnUnreadableObject(t *testing.T) {
	st := newMemory(t)
	put(t, st, cliTopology)
	if err := st.PutRaw(context.Background(), store.Key{Kind: api.KindNetworkPolicy, Namespace: "x", Name: "broken"},
		[]byte("{not json")); err != nil {
		t.Fatal(err)
	}
	_, errOut := wantContains(t, "", 0, "Verdict: DENY", "warning: NetworkPolicy(x/broken): stored value cannot be read",
		"explain", "--from", "x/a", "--to", "x/b", "--port", "80/TCP")
	if !strings.Contains(errOut, "1 problem(s) in the datastore") {
		t.Errorf("stderr: %s", errOut)
	}
	wantContains(t, "", 0, "x/a\tx/b\tTCP/80\tdeny\n", "warning:", "matrix", "--ports", "80/TCP", "-o", "tsv")
}
