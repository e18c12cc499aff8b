package conformance

import (
	"fmt"
	"net/netip"
	"sort"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/connectivity/probe"
	"github.com/mattfenwick/cyclonus/pkg/generator"
	"github.com/palisade-net/palisade/api"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The default cyclonus model, as `cyclonus generate` sets it up.
var (
	modelNamespaces = []string{"x", "y", "z"}
	modelPods       = []string{"a", "b", "c"}
	modelPorts      = []int{80, 81}
	modelProtocols  = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
)

// metadataNameLabel is the label the API server puts on every namespace.
// cyclonus reads the initial namespaces' labels back from the cluster, so
// its model of x, y and z carries it; palisade adds it itself.
const metadataNameLabel = "kubernetes.io/metadata.name"

// podAddr is the address palisade and cyclonus both give pod number pod in
// namespace number ns: 198.18.<ns>.<16*pod+10>, so x/a is 198.18.0.10 and
// z/c is 198.18.2.42.
//
// The spacing matters. The generator derives its ipBlock peers from z/c's
// address: CIDR = the address with 8 host bits (198.18.2.0/24, all of z),
// except = the address with 4 host bits (198.18.2.32/28). Sixteen addresses
// apart, each pod of a namespace sits in its own /28, so "ipblock with
// except" admits z/a and z/b and refuses z/c instead of refusing nothing.
func podAddr(ns, pod int) string {
	return netip.AddrFrom4([4]byte{198, 18, byte(ns), byte(16*pod + 10)}).String()
}

// zcAddr is z/c's address, the pod IP the generator builds ipBlocks from
// (cyclonus's RunGenerateCommand passes it the same way).
var zcAddr = podAddr(2, 2)

// cluster is the simulated cluster one test case runs against. It mirrors
// cyclonus's connectivity.TestCaseState without a Kubernetes API behind it:
// resources and policies change exactly as TestCaseState changes them, and
// the same values feed both cyclonus's matcher and palisade.
type cluster struct {
	res      *probe.Resources
	policies []*networkingv1.NetworkPolicy

	// nsIndex and podIndex number namespaces and pod names for podAddr.
	// Names a test case creates (y-2, w, pod d) get the next free number.
	nsIndex  map[string]int
	podIndex map[string]int
}

func newCluster() *cluster {
	c := &cluster{
		res:      &probe.Resources{Namespaces: map[string]map[string]string{}},
		nsIndex:  map[string]int{},
		podIndex: map[string]int{},
	}
	for i, p := range modelPods {
		c.podIndex[p] = i
	}
	for i, ns := range modelNamespaces {
		c.nsIndex[ns] = i
		c.res.Namespaces[ns] = map[string]string{"ns": ns, metadataNameLabel: ns}
		for j, name := range modelPods {
			p := probe.NewDefaultPod(ns, name, modelPorts, modelProtocols, false, "registry.k8s.io")
			p.IP = podAddr(i, j)
			c.res.Pods = append(c.res.Pods, p)
		}
	}
	return c
}

func (c *cluster) addr(ns, pod string) string {
	if _, ok := c.nsIndex[ns]; !ok {
		c.nsIndex[ns] = len(c.nsIndex)
	}
	if _, ok := c.podIndex[pod]; !ok {
		c.podIndex[pod] = len(c.podIndex)
	}
	return podAddr(c.nsIndex[ns], c.podIndex[pod])
}

func (c *cluster) findPolicy(ns, name string) int {
	for i, p := range c.policies {
		if p.Namespace == ns && p.Name == name {
			return i
		}
	}
	return -1
}

// apply performs one action the way TestCaseState does.
func (c *cluster) apply(a *generator.Action) error {
	var err error
	switch {
	case a.CreatePolicy != nil:
		p := a.CreatePolicy.Policy
		if c.findPolicy(p.Namespace, p.Name) >= 0 {
			return fmt.Errorf("create policy %s/%s: already exists", p.Namespace, p.Name)
		}
		c.policies = append(c.policies, p)
	case a.UpdatePolicy != nil:
		p := a.UpdatePolicy.Policy
		i := c.findPolicy(p.Namespace, p.Name)
		if i < 0 {
			return fmt.Errorf("update policy %s/%s: not found", p.Namespace, p.Name)
		}
		c.policies[i] = p
	case a.DeletePolicy != nil:
		i := c.findPolicy(a.DeletePolicy.Namespace, a.DeletePolicy.Name)
		if i < 0 {
			return fmt.Errorf("delete policy %s/%s: not found", a.DeletePolicy.Namespace, a.DeletePolicy.Name)
		}
		c.policies = append(c.policies[:i:i], c.policies[i+1:]...)
	case a.CreateNamespace != nil:
		c.res, err = c.res.CreateNamespace(a.CreateNamespace.Namespace, a.CreateNamespace.Labels)
	case a.SetNamespaceLabels != nil:
		c.res, err = c.res.UpdateNamespaceLabels(a.SetNamespaceLabels.Namespace, a.SetNamespaceLabels.Labels)
	case a.DeleteNamespace != nil:
		ns := a.DeleteNamespace.Namespace
		c.res, err = c.res.DeleteNamespace(ns)
		// Deleting a namespace deletes its policies. TestCaseState keeps
		// them in its list; no generated case deletes a namespace that
		// holds a policy, so both models see the same thing either way.
		var kept []*networkingv1.NetworkPolicy
		for _, p := range c.policies {
			if p.Namespace != ns {
				kept = append(kept, p)
			}
		}
		c.policies = kept
	case a.CreatePod != nil:
		cp := a.CreatePod
		c.res, err = c.res.CreatePod(cp.Namespace, cp.Pod, cp.Labels)
		if err == nil {
			var p *probe.Pod
			p, err = c.res.GetPod(cp.Namespace, cp.Pod)
			if err == nil {
				// TestCaseState reads the new pod's IP back from the cluster.
				p.IP = c.addr(cp.Namespace, cp.Pod)
			}
		}
	case a.SetPodLabels != nil:
		sp := a.SetPodLabels
		c.res, err = c.res.SetPodLabels(sp.Namespace, sp.Pod, sp.Labels)
	case a.DeletePod != nil:
		c.res, err = c.res.DeletePod(a.DeletePod.Namespace, a.DeletePod.Pod)
	case a.ReadNetworkPolicies != nil:
		// TestCaseState appends the cluster's policies to its list; with
		// no cluster there is nothing to read, and no generated case uses it.
		return fmt.Errorf("ReadNetworkPolicies is not supported without a cluster")
	default:
		return fmt.Errorf("empty action")
	}
	return err
}

// objects is the cluster as palisade's NewModel takes it. Policies are
// copied and given the API server's defaulting (api.Default), since they
// never went through an API server or palisade's decoder.
func (c *cluster) objects() []api.Object {
	var out []api.Object
	nss := make([]string, 0, len(c.res.Namespaces))
	for ns := range c.res.Namespaces {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		out = append(out, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: copyLabels(c.res.Namespaces[ns])}})
	}
	for _, p := range c.res.Pods {
		out = append(out, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: copyLabels(p.Labels)},
			Spec:       corev1.PodSpec{Containers: p.KubeContainers()},
			Status: corev1.PodStatus{
				Phase:  corev1.PodRunning,
				PodIP:  p.IP,
				PodIPs: []corev1.PodIP{{IP: p.IP}},
			},
		})
	}
	for _, np := range c.policies {
		cp := np.DeepCopy()
		api.Default(cp)
		out = append(out, cp)
	}
	return out
}

func copyLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// describeActions prints a step's actions for failure messages.
func describeActions(actions []*generator.Action) []string {
	var out []string
	for _, a := range actions {
		switch {
		case a.CreatePolicy != nil:
			out = append(out, "create policy "+a.CreatePolicy.Policy.Namespace+"/"+a.CreatePolicy.Policy.Name)
		case a.UpdatePolicy != nil:
			out = append(out, "update policy "+a.UpdatePolicy.Policy.Namespace+"/"+a.UpdatePolicy.Policy.Name)
		case a.DeletePolicy != nil:
			out = append(out, "delete policy "+a.DeletePolicy.Namespace+"/"+a.DeletePolicy.Name)
		case a.CreateNamespace != nil:
			out = append(out, fmt.Sprintf("create namespace %s %v", a.CreateNamespace.Namespace, a.CreateNamespace.Labels))
		case a.SetNamespaceLabels != nil:
			out = append(out, fmt.Sprintf("set namespace %s labels %v", a.SetNamespaceLabels.Namespace, a.SetNamespaceLabels.Labels))
		case a.DeleteNamespace != nil:
			out = append(out, "delete namespace "+a.DeleteNamespace.Namespace)
		case a.CreatePod != nil:
			out = append(out, fmt.Sprintf("create pod %s/%s %v", a.CreatePod.Namespace, a.CreatePod.Pod, a.CreatePod.Labels))
		case a.SetPodLabels != nil:
			out = append(out, fmt.Sprintf("set pod %s/%s labels %v", a.SetPodLabels.Namespace, a.SetPodLabels.Pod, a.SetPodLabels.Labels))
		case a.DeletePod != nil:
			out = append(out, "delete pod "+a.DeletePod.Namespace+"/"+a.DeletePod.Pod)
		case a.ReadNetworkPolicies != nil:
			out = append(out, fmt.Sprintf("read policies %v", a.ReadNetworkPolicies.Namespaces))
		}
	}
	return out
}

// TestAddressPlan pins what the address plan is for: the generator's
// ipBlock peers, built from z/c's address, must cover z and carve z/c (and
// only z/c) out with the except, or the ipBlock cases test much less.
func TestAddressPlan(t *testing.T) {
	var cidr, except string
	for _, tc := range allCases() {
		for _, st := range tc.Steps {
			for _, a := range st.Actions {
				if a.CreatePolicy == nil {
					continue
				}
				for _, r := range a.CreatePolicy.Policy.Spec.Ingress {
					for _, p := range r.From {
						if p.IPBlock != nil && len(p.IPBlock.Except) == 1 {
							cidr, except = p.IPBlock.CIDR, p.IPBlock.Except[0]
						}
					}
				}
			}
		}
	}
	if cidr != "198.18.2.0/24" || except != "198.18.2.32/28" {
		t.Fatalf("ipBlock with except is %s except %s, want 198.18.2.0/24 except 198.18.2.32/28", cidr, except)
	}
	c := newCluster()
	in := netip.MustParsePrefix(cidr)
	out := netip.MustParsePrefix(except)
	for _, p := range c.res.Pods {
		a := netip.MustParseAddr(p.IP)
		wantIn := p.Namespace == "z"
		wantOut := p.Namespace == "z" && p.Name == "c"
		if in.Contains(a) != wantIn || out.Contains(a) != wantOut {
			t.Errorf("%s/%s %s: in %s = %t, in except %s = %t", p.Namespace, p.Name, a, in, in.Contains(a), out, out.Contains(a))
		}
	}
}
