package cli

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

func TestMergePatch(t *testing.T) {
	for _, tc := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	} {
		var target, patch, wantV any
		for _, p := range []struct {
			s string
			v *any
		}{{tc.target, &target}, {tc.patch, &patch}, {tc.want, &wantV}} {
			if err := jsonUnmarshal(p.s, p.v); err != nil {
				t.Fatal(err)
			}
		}
		if got := mergePatch(target, patch); !reflect.DeepEqual(got, wantV) {
			t.Errorf("merge %s with %s: got %v, want %s", tc.target, tc.patch, got, tc.want)
		}
	}
}

func TestPatch(t *testing.T) {
	st := newMemory(t)
	put(t, st, gnp("p", "  order: 10\n  ingress: [{action: Allow}, {action: Deny}]\n")+
		"  \n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: web, namespace: prod, labels: {a: b}}\nspec: {selector: all()}\n")
	ok := "Successfully patched 1 'GlobalNetworkPolicy' resource\n"
	want(t, "", 0, ok, "", "patch", "gnp", "p", "-p", `{"spec":{"order":null,"ingress":[{"action":"Log"}]},"metadata":{"labels":{"x":"y"}}}`)
	p := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "p").(*api.GlobalNetworkPolicy)
	if p.Spec.Order != nil || len(p.Spec.Ingress) != 1 || p.Spec.Ingress[0].Action != api.Log || p.Labels["x"] != "y" ||
		p.Spec.Selector != "all()" {
		t.Errorf("patched policy: %+v %v", p.Spec, p.Labels)
	}
	want(t, "", 0, "Successfully patched 1 'NetworkPolicy' resource\n", "", "patch", "networkpolicy", "web", "-n", "prod",
		"--patch", `{"metadata":{"labels":{"c":"d"}}}`)
	if l := mustGet(t, st, api.KindNetworkPolicy, "prod", "web").GetLabels(); l["a"] != "b" || l["c"] != "d" {
		t.Errorf("labels were not merged: %v", l)
	}
	// Validation and strictness apply to the result; nothing is written.
	rv := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "p").GetResourceVersion()
	wantContains(t, "", 1, "", "hit error: creating resource from patched data: patched resource: document 1 (line 1): "+
		"GlobalNetworkPolicy \"p\": error with field spec.selector", "patch", "gnp", "p", "-p", `{"spec":{"selector":"has("}}`)
	wantContains(t, "", 1, "", "field in document is not recognized or is in the wrong location: spec.bogus",
		"patch", "gnp", "p", "-p", `{"spec":{"bogus":1}}`)
	wantContains(t, "", 1, "", "must not change the kind, name or namespace", "patch", "gnp", "p", "-p", `{"metadata":{"name":"q"}}`)
	if got := mustGet(t, st, api.KindGlobalNetworkPolicy, "", "p").GetResourceVersion(); got != rv {
		t.Errorf("a failed patch wrote the policy: %s -> %s", rv, got)
	}
	// A write between the read and the update is a conflict, not retried.
	st.FailNext("Update", &store.ConflictError{Key: store.Key{Kind: api.KindGlobalNetworkPolicy, Name: "p"}})
	wantContains(t, "", 1, "", "hit error: updating existing resource: ", "patch", "gnp", "p", "-p", `{"spec":{"order":3}}`)
	wantContains(t, "", 1, "", "resource does not exist: GlobalNetworkPolicy(nope)", "patch", "gnp", "nope", "-p", `{}`)
	wantContains(t, "", 1, "", "patch must be a JSON object", "patch", "gnp", "p", "-p", `[1]`)
	wantContains(t, "", 1, "", "no patch given", "patch", "gnp", "p")
	wantContains(t, "", 1, "", `patch type "json" is not supported`, "patch", "gnp", "p", "-t", "json", "-p", `{}`)
	wantContains(t, "", 1, "", "patch is not valid JSON: invalid character 'x'", "patch", "gnp", "p", "-p", `{x}`)
	wantContains(t, "", 1, "", "a string is not closed", "patch", "gnp", "p", "-p", `{"spec`)
	want(t, "", 1, "", "hit error: GlobalNetworkPolicy is not namespaced\n",
		"patch", "gnp", "p", "-n", "x", "-p", `{}`)
}

func TestLabelMessages(t *testing.T) {
	st := newMemory(t)
	put(t, st, gnp("p", "")+"---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: both}\n---\n"+
		"apiVersion: v1\nkind: Node\nmetadata: {name: both, labels: {zone: a}}\n---\n"+
		"apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: calico-only}\n")
	want(t, "", 0, "Successfully set label app on globalnetworkpolicy p\n", "", "label", "globalnetworkpolicy", "p", "app=web")
	want(t, "", 1, "", "failed to update label of gnp p, key app is already present. please use '--overwrite' to set a new value.\n",
		"label", "gnp", "p", "app=db")
	want(t, "", 0, "Successfully updated label app on gnp p\n", "", "label", "gnp", "p", "app=web")
	want(t, "", 0, "Successfully updated label app on gnp p\n", "", "label", "gnp", "p", "app=db", "--overwrite")
	want(t, "", 0, "Successfully removed label app from gnp p\n", "", "label", "gnp", "p", "app", "--remove")
	want(t, "", 1, "", "cannot remove label of gnp p, key app does not exist\n", "label", "gnp", "p", "app", "--remove")
	want(t, "", 1, "", "gnp nope not found\n", "label", "gnp", "nope", "app=web")
	want(t, "", 1, "", "invalid label app\n", "label", "gnp", "p", "app")
	want(t, "", 1, "", "invalid label a=b=c\n", "label", "gnp", "p", "a=b=c")
	wantContains(t, "", 1, "", "invalid label -bad=x: ", "label", "gnp", "p", "--", "-bad=x")
	wantContains(t, "", 1, "", "invalid label bad=-x-: ", "label", "gnp", "p", "bad=-x-")
	want(t, "", 1, "", "resource type 'gnps2' is not supported (did you mean 'gnps'?)\n", "label", "gnps2", "p", "a=b")

	// Nodes: the Calico Node and the Kubernetes Node of the same name.
	want(t, "", 0, "Successfully set label env on nodes both\n", "", "label", "nodes", "both", "env=dev")
	for _, k := range []store.Kind{api.KindNode, store.KindK8sNode} {
		if mustGet(t, st, k, "", "both").GetLabels()["env"] != "dev" {
			t.Errorf("%s both: labels %v", k, mustGet(t, st, k, "", "both").GetLabels())
		}
	}
	want(t, "", 1, "", "failed to update label of nodes both, key zone is already present. please use '--overwrite' to set a new value.\n",
		"label", "nodes", "both", "zone=b")
	want(t, "", 0, "Successfully removed label zone from no both\n", "", "label", "no", "both", "zone", "--remove")
	want(t, "", 0, "Successfully set label role on nodes both\nSuccessfully set label role on nodes calico-only\n", "",
		"label", "nodes", "--all", "role=x")
	want(t, "", 1, "", "nodes ghost not found\n", "label", "nodes", "ghost", "a=b")
	if l := mustGet(t, st, api.KindNode, "", "calico-only").GetLabels(); l["role"] != "x" {
		t.Errorf("calico-only labels %v", l)
	}
}

func jsonUnmarshal(s string, v *any) error { return json.Unmarshal([]byte(s), v) }
