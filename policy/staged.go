package policy

import (
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-net/palisade/api"
)

// StagedView returns the objects as they would be if every staged policy
// were enforced: a staged policy with stagedAction Set (the default) puts
// its spec in place of the enforced policy of the same kind, namespace and
// name (or adds it), and one with Delete removes that policy. The staged
// objects themselves are left out. Comparing NewModel(objs) with
// NewModel(StagedView(objs)) shows what staging would change.
func StagedView(objs []api.Object) []api.Object {
	type key struct{ kind, ns, name string }
	staged := map[key]api.Object{} // the enforced object to use, or nil to delete
	for _, o := range objs {
		switch x := o.(type) {
		case *api.StagedGlobalNetworkPolicy:
			k := key{api.KindGlobalNetworkPolicy, "", x.Name}
			if x.Spec.StagedAction == api.StagedActionDelete {
				staged[k] = nil
				continue
			}
			p := &api.GlobalNetworkPolicy{ObjectMeta: *x.ObjectMeta.DeepCopy(), Spec: x.Spec.GlobalNetworkPolicySpec}
			api.SetTypeMeta(p)
			staged[k] = p
		case *api.StagedNetworkPolicy:
			k := key{api.KindNetworkPolicy, x.Namespace, x.Name}
			if x.Spec.StagedAction == api.StagedActionDelete {
				staged[k] = nil
				continue
			}
			p := &api.NetworkPolicy{ObjectMeta: *x.ObjectMeta.DeepCopy(), Spec: x.Spec.NetworkPolicySpec}
			api.SetTypeMeta(p)
			staged[k] = p
		case *api.StagedKubernetesNetworkPolicy:
			k := key{"k8s/NetworkPolicy", x.Namespace, x.Name}
			if x.Spec.StagedAction == api.StagedActionDelete {
				staged[k] = nil
				continue
			}
			p := &networkingv1.NetworkPolicy{ObjectMeta: *x.ObjectMeta.DeepCopy(), Spec: networkingv1.NetworkPolicySpec{
				PodSelector: x.Spec.PodSelector, Ingress: x.Spec.Ingress, Egress: x.Spec.Egress, PolicyTypes: x.Spec.PolicyTypes}}
			api.SetTypeMeta(p)
			api.Default(p)
			staged[k] = p
		}
	}
	keyOf := func(o api.Object) (key, bool) {
		switch o.(type) {
		case *api.GlobalNetworkPolicy:
			return key{api.KindGlobalNetworkPolicy, "", o.GetName()}, true
		case *api.NetworkPolicy:
			return key{api.KindNetworkPolicy, o.GetNamespace(), o.GetName()}, true
		case *networkingv1.NetworkPolicy:
			return key{"k8s/NetworkPolicy", o.GetNamespace(), o.GetName()}, true
		}
		return key{}, false
	}
	out := make([]api.Object, 0, len(objs))
	used := map[key]bool{}
	for _, o := range objs {
		switch o.(type) {
		case *api.StagedGlobalNetworkPolicy, *api.StagedNetworkPolicy, *api.StagedKubernetesNetworkPolicy:
			continue
		}
		if k, ok := keyOf(o); ok {
			if s, isStaged := staged[k]; isStaged {
				used[k] = true
				if s != nil {
					out = append(out, s)
				}
				continue
			}
		}
		out = append(out, o)
	}
	keys := make([]key, 0, len(staged))
	for k := range staged {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return strings.Compare(a.kind+"/"+a.ns+"/"+a.name, b.kind+"/"+b.ns+"/"+b.name)
	})
	for _, k := range keys {
		if s := staged[k]; !used[k] && s != nil {
			out = append(out, s)
		}
	}
	return out
}
