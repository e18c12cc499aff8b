package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const stagedCluster = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 198.18.1.11, podIPs: [{ip: 198.18.1.11}]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec: {selector: app == 'web', ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]}
`

// TestStaged: explain and matrix judge flows as if the staged policies
// were enforced too; a staged Set replaces the enforced policy of its
// name, a staged Delete removes it.
func TestStaged(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := write("cluster.yaml", stagedCluster)
	set := write("set.yaml", `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: web, namespace: shop}
spec: {selector: app == 'web', ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}]}
`)
	out, _ := wantContains(t, "", 0, "Verdict: ALLOW", "", "explain", "-f", base, "-f", set,
		"--from", "shop/client", "--to", "shop/web", "--port", "80/TCP", "--staged")
	if !strings.Contains(out, "With the staged policies enforced (changed):") || !strings.Contains(out, "Verdict: DENY") {
		t.Errorf("explain --staged:\n%s", out)
	}
	want(t, "", 0, "shop/client\tshop/web\tTCP/80\tallow -> deny\nshop/client\tshop/web\tTCP/8080\tdeny -> allow\n"+
		"2 of 4 flow(s) would change with the staged policies\n", "",
		"matrix", "-f", base, "-f", set, "--ports", "80/TCP,8080/TCP", "--staged", "-o", "diff")
	del := write("del.yaml", `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: web, namespace: shop}
spec: {stagedAction: Delete}
`)
	want(t, "", 0, "shop/client\tshop/web\tTCP/8080\tdeny -> allow\n1 of 4 flow(s) would change with the staged policies\n", "",
		"matrix", "-f", base, "-f", del, "--ports", "80/TCP,8080/TCP", "--staged")
	wantContains(t, "", 1, "", "-o diff needs --staged", "matrix", "-f", base, "--ports", "80/TCP", "-o", "diff")
}

// TestExplainVerdictOnly: scripts get the word and the exit status; a
// denial at the end of a tier lists why each rule tried did not match.
func TestExplainVerdictOnly(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(base, []byte(stagedCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	flow := []string{"explain", "-f", base, "--from", "shop/client", "--to", "shop/web"}
	want(t, "", 0, "allow\n", "", append(flow, "--port", "80/TCP", "--verdict-only")...)
	want(t, "", 1, "deny\n", "", append(flow, "--port", "8080/TCP", "--verdict-only")...)
	out, _ := wantContains(t, "", 0, "end of tier default", "", append(flow, "--port", "8080/TCP")...)
	if !strings.Contains(out, "- shop/web rule 0: destination port 8080 is not in [80]") {
		t.Errorf("the tried rules are not listed:\n%s", out)
	}
}
