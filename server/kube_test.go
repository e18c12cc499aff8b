package server

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/kubetest"
)

// `palisade server --kubeconfig` against a real kube-apiserver: what
// kubectl applies shows up in palisade's datastore under Calico's names,
// the CLI refuses to change the mirrors, and /metrics reports the mirror.
func TestServerMirrorsKubernetes(t *testing.T) {
	t.Parallel()
	binary(t)
	c := kubetest.Start(t)
	ports := freePorts(t, 3)
	p := startServer(t, addr(ports[2]), nil, "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen", addr(ports[0]), "--peer-listen", addr(ports[1]), "--kubeconfig", c.Kubeconfig)
	p.waitReady(60 * time.Second)
	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, c.Kubectl, args...)
		cmd.Env = c.KubectlEnv()
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	kubectl("", "create", "namespace", "shop")
	kubectl(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
`, "apply", "-f", "-")
	env := []string{"ETCD_ENDPOINTS=http://" + addr(ports[0])}
	eventually(t, 20*time.Second, func() error {
		out, err := cliRun(t, env, "get", "networkpolicy", "-A")
		if err != nil || !strings.Contains(out, "knp.default.deny-all") {
			return fmt.Errorf("get networkpolicy -A: %v\n%s", err, out)
		}
		out, err = cliRun(t, env, "get", "profiles")
		if err != nil || !strings.Contains(out, "kns.shop") {
			return fmt.Errorf("get profiles: %v\n%s", err, out)
		}
		return nil
	})
	out, err := cliRun(t, env, "delete", "networkpolicy", "knp.default.deny-all", "-n", "shop")
	if err == nil || !strings.Contains(out, "kubernetes network policies must be managed through the kubernetes API") {
		t.Errorf("palisade delete of a mirrored policy: %v\n%s", err, out)
	}
	out, err = cliRun(t, env, "delete", "profile", "kns.shop")
	if err == nil || !strings.Contains(out, "must be managed through the kubernetes API") {
		t.Errorf("palisade delete of a mirrored profile: %v\n%s", err, out)
	}
	_, body, err := httpGet("http://" + addr(ports[2]) + "/metrics")
	if err != nil || !strings.Contains(body, "palisade_kube_mirror_last_sync_timestamp_seconds") ||
		!strings.Contains(body, "palisade_kube_mirror_failing_keys 0") {
		t.Errorf("/metrics: %v", err)
	}
	// explain works on the mirrored datastore as on any other.
	for _, pod := range []struct{ name, ip string }{{"a", "198.18.0.5"}, {"b", "198.18.0.6"}} {
		kubectl(`apiVersion: v1
kind: Pod
metadata: {name: `+pod.name+`, namespace: shop, labels: {app: `+pod.name+`}}
spec: {nodeName: n1, containers: [{name: c, image: x}]}
`, "apply", "-f", "-")
		kubectl("", "patch", "pod", pod.name, "-n", "shop", "--subresource=status", "--type=merge",
			"-p", `{"status":{"phase":"Running","podIP":"`+pod.ip+`","podIPs":[{"ip":"`+pod.ip+`"}]}}`)
	}
	explain := func(want string) func() error {
		return func() error {
			out, err := cliRun(t, env, "explain", "--from", "shop/a", "--to", "shop/b", "--port", "80/TCP")
			if err != nil || !strings.Contains(out, "Verdict: "+want) {
				return fmt.Errorf("explain: %v\n%s", err, out)
			}
			return nil
		}
	}
	eventually(t, 20*time.Second, explain("DENY"))
	kubectl("", "delete", "networkpolicy", "deny-all", "-n", "shop")
	eventually(t, 20*time.Second, explain("ALLOW"))
	eventually(t, 20*time.Second, func() error {
		out, err := cliRun(t, env, "get", "networkpolicy", "-A")
		if err != nil || strings.Contains(out, "deny-all") {
			return fmt.Errorf("after kubectl delete: %v\n%s", err, out)
		}
		return nil
	})
}
