package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/kubetest"
	"github.com/palisade-net/palisade/kube/mirror"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func run(t *testing.T, env []string, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func helm(t *testing.T) string { return filepath.Join(kubetest.BinDir(t), "helm") }

// install.yaml is exactly what scripts/gen-install makes from the chart.
func TestInstallYAMLMatchesChart(t *testing.T) {
	got, err := os.ReadFile("install.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := run(t, os.Environ(), "", helm(t), "template", "palisade", "../charts/palisade", "--namespace", "palisade")
	body := string(got)
	if i := strings.Index(body, "---\n"); i >= 0 {
		body = body[i:]
	}
	if body != want {
		t.Errorf("deploy/install.yaml is out of date: run scripts/gen-install")
	}
}

func TestHelmLintAndSchema(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--set", "server.replicas=3"},
		{"--set", "server.mode=external", "--set", "server.etcdEndpoints={https://etcd-0:2379}"},
		{"--set", "server.tls.secretName=palisade-pki"},
		{"--set", "cni.mode=chained"},
	} {
		run(t, os.Environ(), "", helm(t), append([]string{"lint", "--strict", "../charts/palisade"}, args...)...)
	}
	for _, bad := range [][]string{
		{"--set", "server.mode=external"}, // no endpoints
		{"--set", "server.replicas=2"},
		{"--set", "server.mode=sideways"},
		{"--set", "agent.healthPort=0"},
		{"--set", "agent.bogus=1"}, // unknown values are rejected
		{"--set", "cni.mode=exclusive"},
	} {
		cmd := exec.Command(helm(t), append([]string{"lint", "../charts/palisade"}, bad...)...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("helm lint %v passed:\n%s", bad, out)
		}
	}
}

// The manifest is accepted by a real apiserver, and the server's service
// account can mirror the cluster and do nothing more.
func TestInstallOnAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	env := c.KubectlEnv()
	run(t, env, "", c.Kubectl, "create", "namespace", "palisade")
	run(t, env, "", c.Kubectl, "apply", "--dry-run=server", "-f", "install.yaml")
	for _, args := range [][]string{{"--set", "server.replicas=3"},
		{"--set", "server.mode=external", "--set", "server.etcdEndpoints={https://etcd-0:2379}"},
		{"--set", "cni.mode=chained"}} {
		y := run(t, os.Environ(), "", helm(t), append([]string{"template", "palisade", "../charts/palisade", "--namespace", "palisade"}, args...)...)
		run(t, env, y, c.Kubectl, "apply", "--dry-run=server", "-f", "-")
	}
	run(t, env, "", c.Kubectl, "apply", "-f", "install.yaml")
	token := strings.TrimSpace(run(t, env, "", c.Kubectl, "create", "token", "palisade-server", "-n", "palisade"))
	cfg := rest.CopyConfig(c.Config)
	cfg.BearerToken = token
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory()
	defer st.Close()
	m := mirror.New(mirror.Config{Client: sa, Store: st, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { _ = m.Run(ctx) }()
	for !m.Status().Synced {
		if ctx.Err() != nil {
			t.Fatalf("the mirror did not sync with the server's service account: %+v", m.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for what, err := range map[string]error{
		"create a pod": func() error {
			_, err := sa.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
			return err
		}(),
		"read secrets": func() error { _, err := sa.CoreV1().Secrets("palisade").List(ctx, metav1.ListOptions{}); return err }(),
		"delete a policy": func() error {
			return sa.NetworkingV1().NetworkPolicies("default").Delete(ctx, "x", metav1.DeleteOptions{})
		}(),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("the server's service account may %s: %v", what, fmt.Sprint(err))
		}
	}
}
