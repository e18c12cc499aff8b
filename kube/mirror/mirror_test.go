package mirror

import (
	"context"
	"fmt"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/kubetest"
	"github.com/palisade-net/palisade/kube/convert"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// run starts a mirror of the cluster into st until the test ends.
func run(t *testing.T, c *kubetest.Cluster, st store.Store, mod func(*Config)) *Mirror {
	t.Helper()
	cfg := Config{Client: c.Client, Store: st, Resync: time.Hour, Debounce: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if mod != nil {
		mod(&cfg)
	}
	m := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	eventuallyWithin(t, 15*time.Second, what, check)
}

func eventuallyWithin(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stored lists the names of a kind in the store.
func stored(st store.Store, kind store.Kind) []string {
	objs, _, err := st.List(context.Background(), kind, "")
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, o := range objs {
		n := o.GetName()
		if o.GetNamespace() != "" {
			n = o.GetNamespace() + "/" + n
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func has(st store.Store, kind store.Kind, want ...string) func() error {
	return func() error {
		if got := stored(st, kind); !slices.Equal(got, want) {
			return fmt.Errorf("%s: %v, want %v", kind, got, want)
		}
		return nil
	}
}

func get(t *testing.T, st store.Store, k store.Key) api.Object {
	t.Helper()
	o, err := st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestMirrorLifecycle creates, labels and deletes every mirrored kind in a
// real kube-apiserver and checks the datastore's contents.
func TestMirrorLifecycle(t *testing.T) {
	c := kubetest.Start(t)
	st := store.NewMemory()
	defer st.Close()
	ctx := context.Background()
	k := c.Client
	m := run(t, c, st, nil)

	_, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app",
		Labels: map[string]string{"team": "blue"}}}, metav1.CreateOptions{})
	must(t, err)
	_, err = k.CoreV1().ServiceAccounts("app").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder",
		Labels: map[string]string{"role": "ci"}}}, metav1.CreateOptions{})
	must(t, err)
	_, err = k.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a",
		Labels: map[string]string{"zone": "a"}}}, metav1.CreateOptions{})
	must(t, err)
	pod, err := k.CoreV1().Pods("app").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1",
		Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{NodeName: "node-a", ServiceAccountName: "builder",
		Containers: []corev1.Container{{Name: "c", Image: "x", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}},
		metav1.CreateOptions{})
	must(t, err)
	_, err = k.NetworkingV1().NetworkPolicies("app").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}},
		metav1.CreateOptions{})
	must(t, err)

	eventually(t, "profiles", has(st, api.KindProfile, "kns.app", "kns.default", "kns.kube-node-lease", "kns.kube-public",
		"kns.kube-system", "ksa.app.builder"))
	eventually(t, "endpoint", has(st, api.KindWorkloadEndpoint, "app/node--a-k8s-web--1-eth0"))
	eventually(t, "policy", has(st, api.KindNetworkPolicy, "app/knp.default.deny"))
	eventually(t, "node", has(st, api.KindNode, "node-a"))
	wk := store.Key{Kind: api.KindWorkloadEndpoint, Namespace: "app", Name: "node--a-k8s-web--1-eth0"}
	w := get(t, st, wk).(*api.WorkloadEndpoint)
	if len(w.Spec.IPNetworks) != 0 || w.Labels["app"] != "web" || !strings.HasPrefix(w.Annotations[convert.SourceAnnotation],
		"Pod app/web-1 uid="+string(pod.UID)) {
		t.Errorf("endpoint before the pod has an address: %+v", w)
	}

	// The kubelet reports the address late.
	pod.Status.PodIP, pod.Status.PodIPs = "198.18.0.5", []corev1.PodIP{{IP: "198.18.0.5"}}
	pod.Status.Phase = corev1.PodRunning
	pod, err = k.CoreV1().Pods("app").UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	must(t, err)
	eventually(t, "address", func() error {
		if w := get(t, st, wk).(*api.WorkloadEndpoint); !slices.Equal(w.Spec.IPNetworks, []string{"198.18.0.5/32"}) {
			return fmt.Errorf("ipNetworks %v", w.Spec.IPNetworks)
		}
		return nil
	})

	// FelixConfiguration default's interfacePrefix (its first entry) names the interface.
	fc := &api.FelixConfiguration{}
	fc.Name, fc.Spec.InterfacePrefix = "default", "eni,cali"
	api.SetTypeMeta(fc)
	_, err = st.Create(ctx, fc)
	must(t, err)
	must(t, m.Reconcile(ctx))
	if w := get(t, st, wk).(*api.WorkloadEndpoint); w.Spec.InterfaceName != convert.InterfaceName("eni", "app", "web-1") {
		t.Errorf("interface %s, want the eni one", w.Spec.InterfaceName)
	}

	// Nothing changed: a resync writes nothing.
	writes := m.Status().Writes
	must(t, m.Reconcile(ctx))
	if got := m.Status().Writes; got != writes {
		t.Errorf("a resync with nothing changed wrote %d objects", got-writes)
	}

	// Labels change: namespace, service account, pod, node (a user's label on the Calico Node survives).
	n := get(t, st, store.Key{Kind: api.KindNode, Name: "node-a"}).(*api.Node)
	n.Labels["rack"] = "r1"
	_, err = st.Update(ctx, n)
	must(t, err)
	patch := []byte(`{"metadata":{"labels":{"team":"red"}}}`)
	_, err = k.CoreV1().Namespaces().Patch(ctx, "app", types.MergePatchType, patch, metav1.PatchOptions{})
	must(t, err)
	_, err = k.CoreV1().Nodes().Patch(ctx, "node-a", types.MergePatchType, []byte(`{"metadata":{"labels":{"zone":"b"}}}`), metav1.PatchOptions{})
	must(t, err)
	eventually(t, "namespace label", func() error {
		if p := get(t, st, store.Key{Kind: api.KindProfile, Name: "kns.app"}).(*api.Profile); p.Spec.LabelsToApply["pcns.team"] != "red" {
			return fmt.Errorf("labels %v", p.Spec.LabelsToApply)
		}
		return nil
	})
	eventually(t, "node label", func() error {
		n := get(t, st, store.Key{Kind: api.KindNode, Name: "node-a"}).(*api.Node)
		if n.Labels["zone"] != "b" || n.Labels["rack"] != "r1" {
			return fmt.Errorf("labels %v", n.Labels)
		}
		return nil
	})

	// A finished pod gives up its address; a new pod with the same address claims it.
	pod.Status.Phase = corev1.PodSucceeded
	_, err = k.CoreV1().Pods("app").UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	must(t, err)
	eventually(t, "finished pod", func() error {
		if w := get(t, st, wk).(*api.WorkloadEndpoint); len(w.Spec.IPNetworks) != 0 {
			return fmt.Errorf("ipNetworks %v", w.Spec.IPNetworks)
		}
		return nil
	})

	// Graceful then final delete; the same name re-created with a new UID.
	must(t, k.CoreV1().Pods("app").Delete(ctx, "web-1", metav1.DeleteOptions{}))
	eventually(t, "pod deleted", has(st, api.KindWorkloadEndpoint))
	again, err := k.CoreV1().Pods("app").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1"},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
	must(t, err)
	eventually(t, "pod re-created", func() error {
		o, err := st.Get(ctx, wk)
		if err != nil {
			return err
		}
		if src := o.GetAnnotations()[convert.SourceAnnotation]; !strings.Contains(src, "uid="+string(again.UID)) {
			return fmt.Errorf("source %q", src)
		}
		return nil
	})
	must(t, k.NetworkingV1().NetworkPolicies("app").Delete(ctx, "deny", metav1.DeleteOptions{}))
	must(t, k.CoreV1().ServiceAccounts("app").Delete(ctx, "builder", metav1.DeleteOptions{}))
	must(t, k.CoreV1().Nodes().Delete(ctx, "node-a", metav1.DeleteOptions{}))
	eventually(t, "policy deleted", has(st, api.KindNetworkPolicy))
	eventually(t, "node deleted", has(st, api.KindNode))
	eventually(t, "service account deleted", func() error {
		if slices.Contains(stored(st, api.KindProfile), "ksa.app.builder") {
			return fmt.Errorf("ksa.app.builder still stored")
		}
		return nil
	})
}

// TestMirrorSweepAndGuard: at start the mirror removes what no longer
// exists, but refuses to delete most of a kind in one pass.
func TestMirrorSweepAndGuard(t *testing.T) {
	c := kubetest.Start(t)
	ctx := context.Background()
	st := store.NewMemory()
	defer st.Close()
	profile := func(name string) *api.Profile {
		p := &api.Profile{}
		p.Name = name
		p.Annotations = map[string]string{convert.SourceAnnotation: "Namespace /" + name + " uid=old rv=1"}
		api.SetTypeMeta(p)
		return p
	}
	// 12 mirrored profiles of namespaces that are gone, and one of the user's.
	for i := range 12 {
		_, err := st.Create(ctx, profile(fmt.Sprintf("kns.gone%d", i)))
		must(t, err)
	}
	user := &api.Profile{}
	user.Name = "mine"
	api.SetTypeMeta(user)
	_, err := st.Create(ctx, user)
	must(t, err)

	m := run(t, c, st, nil)
	eventually(t, "guard", func() error {
		if s := m.Status(); !slices.Contains(s.GuardRefused, string(api.KindProfile)) {
			return fmt.Errorf("status %+v", s)
		}
		return nil
	})
	if got := stored(st, api.KindProfile); !slices.Contains(got, "kns.gone0") || !slices.Contains(got, "mine") {
		t.Fatalf("the guard let the mirror delete: %v", got)
	}

	forced := run(t, c, st, func(cfg *Config) { cfg.ForceDelete = true })
	eventually(t, "forced sweep", func() error {
		got := stored(st, api.KindProfile)
		if slices.Contains(got, "kns.gone0") || !slices.Contains(got, "mine") || !slices.Contains(got, "kns.default") {
			return fmt.Errorf("profiles %v", got)
		}
		return nil
	})
	_ = forced
}

// TestMirrorSurvivesAPIServerRestart: the apiserver stopped for 10 s and
// restarted; a change made after it is back reaches the datastore.
func TestMirrorSurvivesAPIServerRestart(t *testing.T) {
	c := kubetest.Start(t)
	ctx := context.Background()
	st := store.NewMemory()
	defer st.Close()
	run(t, c, st, nil)
	eventually(t, "first sync", has(st, api.KindNetworkPolicy))
	c.StopAPIServer()
	time.Sleep(10 * time.Second)
	c.StartAPIServer(t)
	_, err := c.Client.NetworkingV1().NetworkPolicies("default").Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{})
	must(t, err)
	// The informers' watches back off while the apiserver is away (up to
	// 30 s in client-go): no event is lost, but it may take that long.
	eventuallyWithin(t, time.Minute, "change after the restart", has(st, api.KindNetworkPolicy, "default/knp.default.after"))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMirrorSweepsWhatWentAwayWhileDown: a node and a service account
// deleted while no mirror runs are removed by the next mirror's first pass.
// (A deleted namespace stays Terminating without a controller manager, and
// is mirrored while it exists.)
func TestMirrorSweepsWhatWentAwayWhileDown(t *testing.T) {
	c := kubetest.Start(t)
	ctx := context.Background()
	st := store.NewMemory()
	defer st.Close()
	_, err := c.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n9"}}, metav1.CreateOptions{})
	must(t, err)
	_, err = c.Client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "temp"}}, metav1.CreateOptions{})
	must(t, err)
	first := New(Config{Client: c.Client, Store: st, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = first.Run(fctx) }()
	eventually(t, "first mirror", has(st, api.KindNode, "n9"))
	stop()
	<-done
	must(t, c.Client.CoreV1().Nodes().Delete(ctx, "n9", metav1.DeleteOptions{}))
	must(t, c.Client.CoreV1().ServiceAccounts("default").Delete(ctx, "temp", metav1.DeleteOptions{}))
	run(t, c, st, nil)
	eventually(t, "swept node", has(st, api.KindNode))
	eventually(t, "swept service account profile", func() error {
		if slices.Contains(stored(st, api.KindProfile), "ksa.default.temp") {
			return fmt.Errorf("ksa.default.temp still stored")
		}
		return nil
	})
}

// TestMirrorEndpointSlices: the EndpointSlices of NodePort services are
// mirrored (the NodePort view of explain selects backends through them),
// those of other services are not, and they follow their source.
func TestMirrorEndpointSlices(t *testing.T) {
	c := kubetest.Start(t)
	st := store.NewMemory()
	defer st.Close()
	ctx := context.Background()
	k := c.Client
	run(t, c, st, nil)
	port := func(p int32) []corev1.ServicePort {
		return []corev1.ServicePort{{Name: "http", Port: p, TargetPort: intstr.FromInt32(8080), NodePort: 30000 + p}}
	}
	_, err := k.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: port(80)}}, metav1.CreateOptions{})
	must(t, err)
	_, err = k.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "internal"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}, metav1.CreateOptions{})
	must(t, err)
	name, proto, p8080, ready := "http", corev1.ProtocolTCP, int32(8080), false
	slice := func(svc string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: svc + "-abc",
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"198.18.1.10"}},
				{Addresses: []string{"198.18.1.11"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
			Ports: []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &p8080}}}
	}
	for _, svc := range []string{"np", "internal"} {
		_, err := k.DiscoveryV1().EndpointSlices("default").Create(ctx, slice(svc), metav1.CreateOptions{})
		must(t, err)
	}
	eventually(t, "the NodePort service's slice", has(st, store.KindK8sEndpointSlice, "default/np-abc"))
	es := get(t, st, store.Key{Kind: store.KindK8sEndpointSlice, Namespace: "default", Name: "np-abc"}).(*discoveryv1.EndpointSlice)
	if len(es.Endpoints) != 2 || es.Endpoints[1].Conditions.Ready == nil || *es.Endpoints[1].Conditions.Ready ||
		!strings.HasPrefix(es.Annotations[convert.SourceAnnotation], "EndpointSlice default/np-abc uid=") {
		t.Errorf("mirrored slice: %+v", es)
	}
	must(t, k.DiscoveryV1().EndpointSlices("default").Delete(ctx, "np-abc", metav1.DeleteOptions{}))
	eventually(t, "slice deleted", has(st, store.KindK8sEndpointSlice))
}

// TestPending: what the datastore lacks of the cluster is listed until a
// mirror has written it, and nothing after.
func TestPending(t *testing.T) {
	c := kubetest.Start(t)
	st := store.NewMemory()
	defer st.Close()
	ctx := context.Background()
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	must(t, err)
	pending, err := Pending(ctx, c.Client, st)
	must(t, err)
	if !slices.Contains(pending, "create Profile(kns.shop)") {
		t.Errorf("before any mirror: %v, want it to list Profile(kns.shop)", pending)
	}
	run(t, c, st, nil)
	eventually(t, "caught up", func() error {
		p, err := Pending(ctx, c.Client, st)
		if err == nil && len(p) > 0 {
			err = fmt.Errorf("pending %v", p)
		}
		return err
	})
}
