package agent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/kubetest"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/kube/mirror"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// watchedKernel is the real applier, noting when each ruleset reached the
// kernel.
type watchedKernel struct {
	*nft.Kernel
	mu      sync.Mutex
	applied []appliedAt
}

type appliedAt struct {
	at   time.Time
	text string
}

func (w *watchedKernel) Apply(ctx context.Context, rs *render.Ruleset) error {
	err := w.Kernel.Apply(ctx, rs)
	if err == nil {
		w.mu.Lock()
		w.applied = append(w.applied, appliedAt{time.Now(), rs.Text()})
		w.mu.Unlock()
	}
	return err
}

// firstWith returns when a ruleset holding s was first applied after t0.
func (w *watchedKernel) firstWith(t0 time.Time, s string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.applied {
		if a.at.After(t0) && strings.Contains(a.text, s) {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// BenchmarkKubeWriteToKernel: a real kube-apiserver with 1,000 pods (20 on
// this node) and 200 NetworkPolicies, the mirror, and an agent programming
// the kernel in a network namespace. Each iteration changes one
// NetworkPolicy's port with the Kubernetes API and waits until the agent's
// transaction with the new port has committed; it reports the p50 and p99
// of that time (target p99 <= 1 s).
//
//	go test ./agent -run '^$' -bench KubeWriteToKernel -benchtime 40x
func BenchmarkKubeWriteToKernel(b *testing.B) {
	c := kubetest.Start(b)
	ctx := context.Background()
	k := c.Client
	const pods, local, policies = 1000, 20, 200
	_, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{})
	must(b, err)
	for i := range pods {
		node := "remote"
		if i < local {
			node = testNode
		}
		p, err := k.CoreV1().Pods("bench").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i),
			Labels: map[string]string{"app": fmt.Sprintf("a%d", i%policies)}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
		must(b, err)
		p.Status.PodIP = fmt.Sprintf("198.18.%d.%d", 10+i/250, 1+i%250)
		p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
		p.Status.Phase = corev1.PodRunning
		_, err = k.CoreV1().Pods("bench").UpdateStatus(ctx, p, metav1.UpdateOptions{})
		must(b, err)
	}
	np := func(i, port int) *networkingv1.NetworkPolicy {
		p := intstr.FromInt32(int32(port))
		return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("np%d", i), Namespace: "bench"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("a%d", i)}},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("a%d", (i+1)%policies)}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Port: &p}}}}}}
	}
	for i := range policies {
		_, err := k.NetworkingV1().NetworkPolicies("bench").Create(ctx, np(i, 1000+i), metav1.CreateOptions{})
		must(b, err)
	}

	st := store.NewMemory()
	defer st.Close()
	m := mirror.New(mirror.Config{Client: k, Store: st, Logger: slog.New(slog.DiscardHandler)})
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = m.Run(mctx) }()
	lab := netlab.ForTest(b, "pal-kb")
	ns, err := lab.NewNS("node")
	must(b, err)
	kern, err := nft.NewKernel(nft.Config{NetNS: ns.Path()})
	must(b, err)
	w := &watchedKernel{Kernel: kern}
	cfg := testConfig(b)
	cfg.Logger = slog.New(slog.DiscardHandler)
	a := startAgent(b, cfg, st, w, NewStaticInterfaces(testIfaces()...))
	eventually(b, 120*time.Second, func() error {
		if _, ok := w.firstWith(time.Time{}, "1019"); !ok { // np19 (a local pod's policy) applied
			return fmt.Errorf("the initial state is not in the kernel yet")
		}
		return a.Ready()
	})

	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pol := i % local // policies of local pods change the node's ruleset
		port := 20000 + i
		cur, err := k.NetworkingV1().NetworkPolicies("bench").Get(ctx, fmt.Sprintf("np%d", pol), metav1.GetOptions{})
		must(b, err)
		p := intstr.FromInt32(int32(port))
		cur.Spec.Ingress[0].Ports[0].Port = &p
		t0 := time.Now()
		_, err = k.NetworkingV1().NetworkPolicies("bench").Update(ctx, cur, metav1.UpdateOptions{})
		must(b, err)
		for {
			if at, ok := w.firstWith(t0, fmt.Sprint(port)); ok {
				took = append(took, at.Sub(t0))
				break
			}
			if time.Since(t0) > 30*time.Second {
				b.Fatalf("change %d did not reach the kernel in 30 s", i)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	q := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
}
