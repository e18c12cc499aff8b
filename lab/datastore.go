package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/kube/convert"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/server"
	"github.com/palisade-net/palisade/store"
)

// liveObjects reads every object of the datastore, sorted by key path (the
// order the agent builds its model in).
func (l *Lab) liveObjects(ctx context.Context) ([]api.Object, error) {
	var out []api.Object
	for _, k := range store.AllKinds() {
		objs, _, err := l.st.List(ctx, k, "")
		if err != nil {
			return nil, fmt.Errorf("lab: list %s: %w", k, err)
		}
		out = append(out, objs...)
	}
	slices.SortFunc(out, func(a, b api.Object) int {
		return strings.Compare(store.KeyOf(a).Path(), store.KeyOf(b).Path())
	})
	return out, nil
}

// liveModel is the evaluator's model of the datastore as it is now. Objects
// the model cannot use are left out, as the agent leaves them out.
func (l *Lab) liveModel(ctx context.Context) (*policy.Model, error) {
	objs, err := l.liveObjects(ctx)
	if err != nil {
		return nil, err
	}
	m, err := policy.NewModel(objs)
	var be *policy.BuildError
	if err != nil && !errors.As(err, &be) {
		return nil, err
	}
	return m, nil
}

// baseline is the unprotected lab: the topology and the default resources
// the server creates (automatic host endpoints disabled); with Empty, the
// topology's nodes only.
func (l *Lab) baseline() []api.Object {
	var out []api.Object
	for _, o := range l.topo.Objects {
		switch o.(type) {
		case *corev1.Namespace, *corev1.Pod, *corev1.Service:
			if l.cfg.Empty {
				continue
			}
		}
		out = append(out, o)
	}
	return append(out, server.DefaultResources()...)
}

// storeBaseline is the part of the baseline the lab writes to the
// datastore itself: all of it, or with --kube what is not a Kubernetes
// object (those are the apiserver's, and the server mirrors them).
func (l *Lab) storeBaseline() []api.Object {
	if !l.cfg.Kube {
		return l.baseline()
	}
	var out []api.Object
	for _, o := range l.baseline() {
		if !isKubeObject(o) {
			out = append(out, o)
		}
	}
	return out
}

// syncEndpoints makes the datastore's workload endpoints follow the pods:
// the lab's CNI does it, or with --kube the server's mirror, which the lab
// waits for.
func (l *Lab) syncEndpoints(ctx context.Context) error {
	if l.cfg.Kube {
		return l.kubeCaughtUp(ctx)
	}
	return l.syncWorkloads(ctx)
}

// reset brings the datastore back to the unprotected lab: every object the
// seeds created is deleted, the topology and the defaults are restored, and
// the Calico Nodes the agents registered lose the labels steps added. With
// --kube the apiserver is reset to the topology instead of the Kubernetes
// objects, and the mirror's objects are left to the mirror.
func (l *Lab) reset(ctx context.Context) error {
	keep := map[store.Key]api.Object{}
	for _, o := range l.storeBaseline() {
		keep[store.KeyOf(o)] = o
	}
	for _, k := range store.AllKinds() {
		objs, _, err := l.st.List(ctx, k, "")
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := l.resetOne(ctx, o, keep); err != nil {
				return err
			}
		}
	}
	for _, o := range l.storeBaseline() {
		if err := l.restore(ctx, o); err != nil {
			return err
		}
	}
	if l.cfg.Kube {
		if err := l.kubeReset(ctx); err != nil {
			return err
		}
	}
	return l.syncEndpoints(ctx)
}

func (l *Lab) resetOne(ctx context.Context, o api.Object, keep map[store.Key]api.Object) error {
	k := store.KeyOf(o)
	if _, ok := keep[k]; ok {
		return nil
	}
	if _, mirrored := o.GetAnnotations()[convert.SourceAnnotation]; mirrored && l.cfg.Kube {
		return nil // the mirror's: it follows the apiserver's reset
	}
	switch x := o.(type) {
	case *api.Node:
		if l.cfg.Kube {
			return nil // labels come from the Kubernetes Node (and the mirror)
		}
		want := map[string]string{"kubernetes.io/hostname": x.Name}
		if maps.Equal(x.Labels, want) {
			return nil
		}
		x.Labels = want
		_, err := l.st.Update(ctx, x)
		return err
	case *api.HostEndpoint:
		if x.Labels[autohep.CreatedByLabel] == autohep.CreatedByValue {
			return nil // the controller deletes them once autoCreate is Disabled
		}
	case *api.WorkloadEndpoint:
		return nil // the lab's CNI sync owns them
	}
	_, err := l.st.Delete(ctx, k, "")
	if store.IsNotFound(err) {
		return nil
	}
	return err
}

// restore writes o unless the stored object already has its labels and
// content.
func (l *Lab) restore(ctx context.Context, o api.Object) error {
	cur, err := l.st.Get(ctx, store.KeyOf(o))
	if store.IsNotFound(err) {
		_, err = l.st.Create(ctx, o)
		return err
	}
	if err != nil {
		return err
	}
	if sameContent(cur, o) {
		return nil
	}
	_, err = l.st.Update(ctx, o)
	return err
}

// sameContent compares two objects without their server-side metadata.
func sameContent(a, b api.Object) bool {
	return contentJSON(a) == contentJSON(b)
}

func contentJSON(o api.Object) string {
	data, err := json.Marshal(o)
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"} {
			delete(md, f)
		}
	}
	data, _ = json.Marshal(m)
	return string(data)
}

// syncWorkloads is the lab's CNI plugin (and the workload endpoint
// controller of calico-kube-controllers): every pod that runs on a node
// with an address has a WorkloadEndpoint "<node>-k8s-<pod>-eth0" with the
// pod's labels, its namespace's profiles and its cali… interface; other
// lab-made endpoints are removed.
func (l *Lab) syncWorkloads(ctx context.Context) error {
	pods, _, err := l.st.List(ctx, store.KindK8sPod, "")
	if err != nil {
		return err
	}
	want := map[store.Key]api.Object{}
	for _, o := range pods {
		p, ok := o.(*corev1.Pod) // an unreadable stored pod has no endpoint
		if !ok {
			continue
		}
		if w := podEndpoint(p); w != nil {
			want[store.KeyOf(w)] = w
		}
	}
	have, _, err := l.st.List(ctx, store.Kind(api.KindWorkloadEndpoint), "")
	if err != nil {
		return err
	}
	for _, o := range have {
		k := store.KeyOf(o)
		w, ok := want[k]
		if !ok {
			if _, err := l.st.Delete(ctx, k, ""); err != nil && !store.IsNotFound(err) {
				return err
			}
			continue
		}
		delete(want, k)
		if !sameContent(o, w) {
			if _, err := l.st.Update(ctx, w); err != nil {
				return err
			}
		}
	}
	for _, w := range want {
		if _, err := l.st.Create(ctx, w); err != nil && !store.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// podEndpoint is the WorkloadEndpoint Calico's CNI plugin writes for a pod
// (the Kubernetes mirror's conversion), or nil for a pod without a node or
// an address yet.
func podEndpoint(p *corev1.Pod) *api.WorkloadEndpoint {
	w := convert.Endpoint(p, convert.DefaultInterfacePrefix)
	if w == nil || len(w.Spec.IPNetworks) == 0 {
		return nil
	}
	return w
}
