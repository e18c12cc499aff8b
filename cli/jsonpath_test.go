package cli

import "testing"

// kubectl's -o jsonpath and custom-columns=HEADER:.path beside calicoctl's.
func TestGetKubectlFormats(t *testing.T) {
	st := newMemory(t)
	put(t, st, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns, labels: {team: net}}
spec: {order: 100, selector: all()}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-ingress}
spec: {selector: has(kubernetes-host)}
`)
	for _, tc := range []struct {
		args         []string
		code         int
		out, errText string
	}{
		{[]string{"get", "gnp", "-o", "jsonpath={.items[*].metadata.name}"}, 0, "allow-dns host-ingress", ""},
		{[]string{"get", "gnp", "allow-dns", "-o", "jsonpath={.spec.order}"}, 0, "100", ""},
		{[]string{"get", "gnp", "allow-dns", "-o", "jsonpath=.metadata.labels.team"}, 0, "net", ""},
		{[]string{"get", "gnp", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.selector}{"\n"}{end}`}, 0,
			"allow-dns\tall()\nhost-ingress\thas(kubernetes-host)\n", ""},
		{[]string{"get", "gnp", "-o", "custom-columns=NAME:.metadata.name,ORDER:.spec.order,TEAM:.metadata.labels.team"}, 0,
			"NAME           ORDER    TEAM\nallow-dns      100      net\nhost-ingress   <none>   <none>\n", ""},
		{[]string{"get", "gnp", "-o", "jsonpath={.items[}"}, 1, "", "error parsing jsonpath"},
		{[]string{"get", "gnp", "-o", "jsonpath="}, 1, "", "template format specified but no template given"},
		{[]string{"get", "gnp", "-o", "custom-columns=NAME:.metadata.name,ORDER"}, 1, "", "expected <header>:<json-path-expr>"},
	} {
		if tc.errText == "" {
			want(t, "", tc.code, tc.out, "", tc.args...)
		} else {
			wantContains(t, "", tc.code, tc.out, tc.errText, tc.args...)
		}
	}
}

// Shell completion offers resource names from the datastore after KIND.
func TestCompleteNames(t *testing.T) {
	st := newMemory(t)
	put(t, st, `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-ingress}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec: {selector: all()}
`)
	want(t, "", 0, "allow-dns\nhost-ingress\n:4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n",
		"__complete", "get", "gnp", "")
	want(t, "", 0, "host-ingress\n:4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n",
		"__complete", "delete", "gnp", "h")
	want(t, "", 0, "web\n:4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n",
		"__complete", "get", "networkpolicy", "-n", "prod", "")
	want(t, "", 0, ":4\n", "Completion ended with directive: ShellCompDirectiveNoFileComp\n",
		"__complete", "get", "networkpolicy", "")
}
