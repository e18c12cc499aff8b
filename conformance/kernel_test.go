package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/mattfenwick/cyclonus/pkg/connectivity/probe"
	"github.com/mattfenwick/cyclonus/pkg/generator"
	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/palisade-net/palisade/agent"
	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/cnitest"
	"github.com/palisade-net/palisade/internal/kubetest"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/kube/convert"
	"github.com/palisade-net/palisade/kube/mirror"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

// The kernel conformance run: the cyclonus cases as real NetworkPolicies
// through a real kube-apiserver, mirrored by palisade's mirror into a
// datastore, enforced by palisade's agent (in this process) in a node's
// network namespace, on pods x/a ... z/c that live in namespaces of their
// own behind veths named by Calico's convention (the agent binds them by
// name). After each step every TCP and UDP probe cyclonus would run is sent
// for real, and the kernel's verdict must equal explain's (the evaluator on
// the mirrored datastore).

const (
	kernelNode = "n1"
	podGateway = "198.19.255.1"
)

// appliedKernel is the kernel applier, remembering the last ruleset it
// committed.
type appliedKernel struct {
	*nft.Kernel
	mu   sync.Mutex
	text string
}

func (k *appliedKernel) Apply(ctx context.Context, rs *render.Ruleset) error {
	err := k.Kernel.Apply(ctx, rs)
	if err == nil {
		k.mu.Lock()
		k.text = rs.Text()
		k.mu.Unlock()
	}
	return err
}

func (k *appliedKernel) last() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.text
}

// kernelCluster is the real cluster the kernel run uses.
type kernelCluster struct {
	kube  kubernetes.Interface
	st    store.Store
	kern  *appliedKernel
	node  *netlab.NS
	pods  map[string]*netlab.NS // "ns/pod" -> the pod's namespace
	ports map[string]uint16     // "ns/pod" -> the last source port its probes used
}

// srcPort is a source port the pod's probes have not used (they count up
// from 20000; a run sends far fewer than 40,000 from one pod): every probe
// is a new connection, as cyclonus's are, and none meets an earlier
// probe's conntrack entry or TIME_WAIT socket.
func (c *kernelCluster) srcPort(pod string) uint16 {
	p := c.ports[pod]
	if p < 20000 || p >= 60000 {
		p = 20000
	}
	c.ports[pod] = p + 1
	return p + 1
}

// newKernelCluster builds the cluster. Pods are attached by Calico's
// naming convention (a veth the test names), or with chained by a real CNI
// chain: libcni runs ptp and host-local (random veth names, the pod's
// address asked for with IP=) and then palisade-cni, which binds the pod
// in the agent; FelixConfiguration interfacePrefix "veth" makes every
// ptp veth a workload interface, dropped until it is bound.
func newKernelCluster(t *testing.T, chained bool) *kernelCluster {
	t.Helper()
	netlab.RequireRoot(t)
	var bin string
	if chained {
		bin = cnitest.Plugins(t)
	}
	kc := kubetest.Start(t)
	lab := netlab.ForTest(t, "pal-cy")
	node, err := lab.NewNS("node")
	must(t, err)
	must(t, node.EnableForwarding())
	c := &kernelCluster{kube: kc.Client, st: store.NewMemory(), node: node, pods: map[string]*netlab.NS{},
		ports: map[string]uint16{}}
	t.Cleanup(func() { c.st.Close() })
	ctx := context.Background()
	sim := newCluster()
	for _, ns := range modelNamespaces {
		_, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
			Labels: map[string]string{"ns": ns}}}, metav1.CreateOptions{})
		must(t, err)
	}
	for _, p := range sim.res.Pods {
		must(t, c.createPod(ctx, p))
	}
	var cniSocket string
	if chained {
		cniSocket = filepath.Join(t.TempDir(), "cni.sock")
		fc := &api.FelixConfiguration{}
		fc.Name, fc.Spec.InterfacePrefix = "default", "veth"
		api.SetTypeMeta(fc)
		_, err := c.st.Create(ctx, fc)
		must(t, err)
	}

	m := mirror.New(mirror.Config{Client: c.kube, Store: c.st, Debounce: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	mctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go func() { _ = m.Run(mctx) }()

	k, err := nft.NewKernel(nft.Config{NetNS: node.Path()})
	must(t, err)
	c.kern = &appliedKernel{Kernel: k}
	h, err := netns.GetFromPath(node.Path())
	must(t, err)
	t.Cleanup(func() { h.Close() })
	a, err := agent.New(agent.Config{Node: kernelNode, HealthListen: "-", BatchDelay: 2 * time.Millisecond,
		MaxBatchDelay: 20 * time.Millisecond, CNISocket: cniSocket, CNIStateDir: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler)},
		c.st, c.kern, &agent.Netlink{NetNS: h, Debounce: 5 * time.Millisecond})
	must(t, err)
	must(t, a.Start(ctx))
	t.Cleanup(func() { _ = a.Close() })
	var chain *cniChain
	if chained {
		chain = newCNIChain(t, bin, cniSocket, node)
	}
	for i, p := range sim.res.Pods {
		ns, err := lab.NewNS(fmt.Sprintf("p%d", i))
		must(t, err)
		if chained {
			must(t, chain.add(ns, p))
			must(t, chain.check(ns, p)) // attached, and its policy in the kernel
		} else {
			must(t, conventionVeth(lab, node, ns, p))
		}
		must(t, serve(ns))
		c.pods[p.Namespace+"/"+p.Name] = ns
	}
	return c
}

// cniChain runs ptp + host-local + palisade-cni with libcni.
type cniChain struct {
	cni  *libcni.CNIConfig
	list *libcni.NetworkConfigList
	node *netlab.NS
}

func newCNIChain(t *testing.T, bin, socket string, node *netlab.NS) *cniChain {
	conf := fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "k8s", "plugins": [
  {"type": "ptp", "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "198.18.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "palisade-cni", "socket": %q, "policySetupTimeoutSeconds": 10}]}`, t.TempDir(), socket)
	list, err := libcni.NetworkConfFromBytes([]byte(conf))
	must(t, err)
	return &cniChain{cni: libcni.NewCNIConfigWithCacheDir([]string{bin}, t.TempDir(), nil), list: list, node: node}
}

// add attaches pod p in namespace ns, at the address the cyclonus model
// gives it, as the kubelet's runtime would.
func (ch *cniChain) add(ns *netlab.NS, p *probe.Pod) error {
	rt := &libcni.RuntimeConf{ContainerID: "sandbox-" + p.Namespace + "-" + p.Name, NetNS: ns.Path(), IfName: "eth0",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", p.Namespace}, {"K8S_POD_NAME", p.Name},
			{"IP", p.IP}}}
	return cnitest.InNS(ch.node.Path(), func() error {
		_, err := ch.cni.AddNetworkList(context.Background(), ch.list, rt)
		return err
	})
}

func (ch *cniChain) check(ns *netlab.NS, p *probe.Pod) error {
	rt := &libcni.RuntimeConf{ContainerID: "sandbox-" + p.Namespace + "-" + p.Name, NetNS: ns.Path(), IfName: "eth0",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", p.Namespace}, {"K8S_POD_NAME", p.Name}}}
	return cnitest.InNS(ch.node.Path(), func() error {
		return ch.cni.CheckNetworkList(context.Background(), ch.list, rt)
	})
}

// conventionVeth attaches pod p in namespace ns behind a veth named by
// Calico's convention, with host routes and an on-link gateway.
func conventionVeth(lab *netlab.Lab, node, ns *netlab.NS, p *probe.Pod) error {
	addr := netip.MustParseAddr(p.IP)
	inside := netlab.End{NS: ns, Name: "eth0", Addrs: []netip.Prefix{netip.PrefixFrom(addr, 32)}}
	host := netlab.End{NS: node, Name: convert.InterfaceName(convert.DefaultInterfacePrefix, p.Namespace, p.Name)}
	if err := lab.Veth(host, inside); err != nil {
		return err
	}
	if err := netlab.HostRoutes(host, inside); err != nil {
		return err
	}
	return netlab.Gateway(inside, host, netip.MustParseAddr(podGateway))
}

// serve answers TCP and UDP on the model's ports.
func serve(ns *netlab.NS) error {
	var ports []uint16
	for _, pt := range modelPorts {
		ports = append(ports, uint16(pt))
	}
	if err := ns.ServeTCP(ports...); err != nil {
		return err
	}
	return ns.ServeUDP(ports...)
}

// createPod creates pod p in the apiserver with its status, as its
// kubelet would report it.
func (c *kernelCluster) createPod(ctx context.Context, p *probe.Pod) error {
	pod, err := c.kube.CoreV1().Pods(p.Namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: copyLabels(p.Labels)},
		Spec:       corev1.PodSpec{NodeName: kernelNode, Containers: p.KubeContainers()}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: p.IP, PodIPs: []corev1.PodIP{{IP: p.IP}}}
	_, err = c.kube.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

// reset deletes every NetworkPolicy, gives namespaces and pods their
// starting labels and forgets every connection.
func (c *kernelCluster) reset(ctx context.Context) error {
	if err := c.node.FlushConntrack(); err != nil {
		return err
	}
	for _, ns := range modelNamespaces {
		if err := c.kube.NetworkingV1().NetworkPolicies(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return err
		}
		if err := c.setNamespaceLabels(ctx, ns, map[string]string{"ns": ns}); err != nil {
			return err
		}
		for _, pod := range modelPods {
			if err := c.setPodLabels(ctx, ns, pod, map[string]string{"pod": pod}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *kernelCluster) setNamespaceLabels(ctx context.Context, name string, labels map[string]string) error {
	cur, err := c.kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cur.Labels = copyLabels(labels) // the apiserver adds kubernetes.io/metadata.name back
	_, err = c.kube.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

func (c *kernelCluster) setPodLabels(ctx context.Context, ns, name string, labels map[string]string) error {
	cur, err := c.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cur.Labels = copyLabels(labels)
	_, err = c.kube.CoreV1().Pods(ns).Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

// apply performs one action through the Kubernetes API; kernelAction says
// which actions it can.
func (c *kernelCluster) apply(ctx context.Context, a *generator.Action) error {
	np := c.kube.NetworkingV1().NetworkPolicies
	switch {
	case a.CreatePolicy != nil:
		_, err := np(a.CreatePolicy.Policy.Namespace).Create(ctx, a.CreatePolicy.Policy.DeepCopy(), metav1.CreateOptions{})
		return err
	case a.UpdatePolicy != nil:
		p := a.UpdatePolicy.Policy.DeepCopy()
		cur, err := np(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.ResourceVersion = cur.ResourceVersion
		_, err = np(p.Namespace).Update(ctx, p, metav1.UpdateOptions{})
		return err
	case a.DeletePolicy != nil:
		return np(a.DeletePolicy.Namespace).Delete(ctx, a.DeletePolicy.Name, metav1.DeleteOptions{})
	case a.SetNamespaceLabels != nil:
		return c.setNamespaceLabels(ctx, a.SetNamespaceLabels.Namespace, a.SetNamespaceLabels.Labels)
	case a.SetPodLabels != nil:
		return c.setPodLabels(ctx, a.SetPodLabels.Namespace, a.SetPodLabels.Pod, a.SetPodLabels.Labels)
	}
	return fmt.Errorf("action %v is not run against the kernel", describeActions([]*generator.Action{a}))
}

// kernelAction: the kernel run changes policies and labels; cases that
// create or delete pods or namespaces are left to the evaluator's run.
func kernelAction(a *generator.Action) bool {
	return a.CreatePolicy != nil || a.UpdatePolicy != nil || a.DeletePolicy != nil ||
		a.SetNamespaceLabels != nil || a.SetPodLabels != nil
}

func kernelCase(tc *generator.TestCase) bool {
	for _, st := range tc.Steps {
		for _, a := range st.Actions {
			if !kernelAction(a) {
				return false
			}
		}
	}
	return true
}

// converge waits until the mirror has caught up with the apiserver (its
// every change is in the datastore: mirror.Pending is empty) and the agent
// has committed the ruleset of the datastore's state. It returns the model
// of that state: what explain judges.
func (c *kernelCluster) converge(ctx context.Context) (*policy.Model, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		pending, err := mirror.Pending(ctx, c.kube, c.st)
		if err != nil {
			return nil, err
		}
		if len(pending) == 0 {
			m, err := c.model(ctx)
			if err != nil {
				return nil, err
			}
			rs, err := render.Node(m, kernelNode)
			if err != nil {
				return nil, err
			}
			// The agent programs the compiled form (its default).
			if render.Compile(rs).Text() == c.kern.last() {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the datastore or the kernel did not catch up with the apiserver in 20s (pending: %v)", pending)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// model is the evaluator's model of the datastore.
func (c *kernelCluster) model(ctx context.Context) (*policy.Model, error) {
	var objs []api.Object
	for _, k := range store.AllKinds() {
		list, _, err := c.st.List(ctx, k, "")
		if err != nil {
			return nil, err
		}
		objs = append(objs, list...)
	}
	sort.Slice(objs, func(i, j int) bool { return store.KeyOf(objs[i]).Path() < store.KeyOf(objs[j]).Path() })
	return policy.NewModel(objs)
}

// kernelProbe is one probe and its two verdicts.
type kernelProbe struct {
	job     *probe.Job
	port    string
	explain bool
	kernel  bool
	detail  string
}

// TestCyclonusKernel runs the cyclonus cases that change only policies and
// labels (in -short mode every eighth of them) against the real cluster,
// pods attached by Calico's naming convention.
func TestCyclonusKernel(t *testing.T) {
	runKernelCases(t, false, 1)
}

// TestCyclonusKernelChain runs every third of those cases (in -short
// mode every twenty-fourth) with the pods attached by a real CNI chain
// ending in palisade-cni.
func TestCyclonusKernelChain(t *testing.T) {
	runKernelCases(t, true, 3)
}

// runKernelCases runs every every-th kernel case (eight times fewer with
// -short).
func runKernelCases(t *testing.T, chained bool, every int) {
	logrus.SetLevel(logrus.WarnLevel)
	if testing.Short() {
		every *= 8
	}
	c := newKernelCluster(t, chained)
	ctx := context.Background()
	start := time.Now()
	ran, skipped, steps, probes, denied := 0, 0, 0, 0, 0
	for i, tc := range allCases() {
		if !kernelCase(tc) {
			skipped++
			continue
		}
		if i%every != 0 {
			continue
		}
		ran++
		must(t, c.reset(ctx))
		sim := newCluster()
		for si, step := range tc.Steps {
			where := fmt.Sprintf("test #%d %q step %d (%s)", i+1, tc.Description, si+1, strings.Join(describeActions(step.Actions), "; "))
			for _, a := range step.Actions {
				if err := sim.apply(a); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if err := c.apply(ctx, a); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatalf("%s: the apiserver: %v", where, err)
				}
			}
			m, err := c.converge(ctx)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			results := c.probeStep(ctx, t, m, sim, step, where)
			steps++
			for _, r := range results {
				probes++
				if !r.kernel {
					denied++
				}
				if r.kernel != r.explain {
					t.Errorf("%s: %s -> %s %s: kernel %s (%s), explain %s\n%s", where, r.job.FromKey, r.job.ToKey, r.port,
						verdictWord(r.kernel), r.detail, verdictWord(r.explain), explainText(m, r))
				}
			}
		}
		if t.Failed() {
			break // one case's failures say enough
		}
	}
	how := "Calico's naming convention"
	if chained {
		how = "a CNI chain (ptp, host-local, palisade-cni)"
	}
	t.Logf("cyclonus cases through the apiserver and the kernel, pods attached by %s: %d run, %d left to the evaluator run "+
		"(they create or delete pods or namespaces), %d steps, %d TCP and UDP probes (%d denied), kernel equal to explain on all; %v",
		how, ran, skipped, steps, probes, denied, time.Since(start).Round(time.Millisecond))
}

// probeStep sends every TCP and UDP probe of the step at once and judges
// each with the model too.
func (c *kernelCluster) probeStep(ctx context.Context, t *testing.T, m *policy.Model, sim *cluster, step *generator.TestStep, where string) []*kernelProbe {
	jobs := (&probe.JobBuilder{TimeoutSeconds: 1}).GetJobsForProbeConfig(sim.res, step.Probe)
	var out []*kernelProbe
	for _, job := range jobs.Valid {
		if job.Protocol != corev1.ProtocolTCP && job.Protocol != corev1.ProtocolUDP {
			continue // netlab probes TCP, UDP and ICMP
		}
		r := &kernelProbe{job: job, port: fmt.Sprintf("%d/%s", job.ResolvedPort, job.Protocol)}
		src, err := m.ResolvePeer(job.FromKey)
		if err == nil {
			var dst policy.Peer
			if dst, err = m.ResolvePeer(job.ToKey); err == nil {
				var f policy.Flow
				if f, err = policy.NewFlow(src, dst, r.port); err == nil {
					r.explain, err = m.Allowed(f)
				}
			}
		}
		if err != nil {
			t.Fatalf("%s: %s -> %s %s: %v", where, job.FromKey, job.ToKey, r.port, err)
		}
		out = append(out, r)
	}
	var wg sync.WaitGroup
	for _, r := range out {
		wg.Add(1)
		p := netlab.Probe{Proto: strings.ToLower(string(r.job.Protocol)), SrcPort: c.srcPort(r.job.FromKey),
			Dst: netip.MustParseAddr(r.job.ToIP), DstPort: uint16(r.job.ResolvedPort), Timeout: 400 * time.Millisecond}
		go func() {
			defer wg.Done()
			err := c.pods[r.job.FromKey].Probe(ctx, p)
			r.kernel = err == nil
			if err != nil {
				r.detail = err.Error()
			} else {
				r.detail = "answered"
			}
		}()
	}
	wg.Wait()
	// A drop is only ever inferred from silence: under load an answer can
	// take longer than the short timeout, so a denial explain disagrees
	// with is probed again, alone, with a long one.
	for _, r := range out {
		if r.kernel || !r.explain {
			continue
		}
		err := c.pods[r.job.FromKey].Probe(ctx, netlab.Probe{Proto: strings.ToLower(string(r.job.Protocol)),
			SrcPort: c.srcPort(r.job.FromKey), Dst: netip.MustParseAddr(r.job.ToIP), DstPort: uint16(r.job.ResolvedPort),
			Timeout: 3 * time.Second})
		if r.kernel = err == nil; r.kernel {
			r.detail = "answered when probed again with a longer timeout"
		}
	}
	return out
}

func explainText(m *policy.Model, r *kernelProbe) string {
	src, _ := m.ResolvePeer(r.job.FromKey)
	dst, _ := m.ResolvePeer(r.job.ToKey)
	f, err := policy.NewFlow(src, dst, r.port)
	if err != nil {
		return err.Error()
	}
	v, err := m.Evaluate(f)
	if err != nil {
		return err.Error()
	}
	js, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err.Error()
	}
	return "  " + string(js)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
