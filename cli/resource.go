package cli

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Resource operations shared by the datastore commands, following
// calicoctl's resource manager (docs/api.md §8.3, §8.5).

// k8sAliases name the Kubernetes kinds palisade stores, for get, delete and
// label by kind (calicoctl has no such kinds; these are kubectl's names,
// except where they would clash with a Calico alias).
var k8sAliases = map[string]store.Kind{
	"pod": store.KindK8sPod, "pods": store.KindK8sPod, "po": store.KindK8sPod,
	"namespace": store.KindK8sNamespace, "namespaces": store.KindK8sNamespace, "ns": store.KindK8sNamespace,
	"service": store.KindK8sService, "services": store.KindK8sService, "svc": store.KindK8sService,
	"endpointslice": store.KindK8sEndpointSlice, "endpointslices": store.KindK8sEndpointSlice,
	"serviceaccount": store.KindK8sServiceAcct, "serviceaccounts": store.KindK8sServiceAcct, "sa": store.KindK8sServiceAcct,
	"kubernetesnetworkpolicy": store.KindK8sNetworkPolicy, "kubernetesnetworkpolicies": store.KindK8sNetworkPolicy,
	"knp": store.KindK8sNetworkPolicy, "knps": store.KindK8sNetworkPolicy,
	"netpol": store.KindK8sNetworkPolicy, "netpols": store.KindK8sNetworkPolicy, // kubectl's short name
	"kubernetesnode": store.KindK8sNode, "kubernetesnodes": store.KindK8sNode,
	"k8snode": store.KindK8sNode, "k8snodes": store.KindK8sNode,
}

// UnsupportedKindError: the KIND argument names no kind palisade stores.
type UnsupportedKindError struct {
	Arg     string
	Meaning string // the closest kind name or alias, if one is close
}

func (e *UnsupportedKindError) Error() string {
	msg := fmt.Sprintf("resource type '%s' is not supported", e.Arg)
	if e.Meaning != "" {
		msg += fmt.Sprintf(" (did you mean '%s'?)", e.Meaning)
	}
	return msg
}

// closestKind is the accepted kind name or alias nearest to arg, when it
// is a likely typo of it (one edit, two for names over four letters), else
// "".
func closestKind(arg string) string {
	arg = strings.ToLower(strings.TrimSpace(arg))
	best, bestD := "", 2
	if len(arg) > 4 {
		bestD = 3
	}
	names := api.KindAliases()
	for a := range k8sAliases {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, n := range names {
		if d := editDistance(arg, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// kindsHelp lists the kinds for help texts: the Calico kinds, then the
// Kubernetes kinds palisade stores, with a short alias each.
func kindsHelp() string {
	return "Kinds: " + strings.Join(api.CalicoKinds(), ", ") +
		";\nKubernetes kinds: pods (po), namespaces (ns), services (svc), endpointslices, serviceaccounts (sa),\n" +
		"kubernetesnetworkpolicies (knp, netpol), kubernetesnodes (k8snode)."
}

// completeKinds completes a KIND argument from the kinds and aliases.
func completeKinds(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, a := range append(api.KindAliases(), slices.Collect(maps.Keys(k8sAliases))...) {
		if strings.HasPrefix(a, strings.ToLower(prefix)) {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeNames completes KIND and then the names of KIND's resources,
// read from the datastore (ds) in namespace *ns (all when *all), within a
// short timeout; nothing is offered when the datastore does not answer.
func completeNames(ds *datastoreOpts, ns *string, all *bool) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(c *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return completeKinds(c, args, prefix)
		}
		kind, err := lookupKind(args[0])
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		sess, err := openSession(ds)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer sess.close()
		space := ""
		if kind.Namespaced() && (all == nil || !*all) {
			space = "default"
			if ns != nil && *ns != "" {
				space = *ns
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		objs, _, err := sess.st.List(ctx, kind, space)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, o := range objs {
			if n := o.GetName(); strings.HasPrefix(n, prefix) && !slices.Contains(args[1:], n) {
				out = append(out, n)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// lookupKind resolves a KIND argument (docs/api.md §1.3 aliases, case-insensitive).
func lookupKind(arg string) (store.Kind, error) {
	if k, ok := api.LookupKind(arg); ok {
		return store.Kind(k), nil
	}
	if k, ok := k8sAliases[strings.ToLower(strings.TrimSpace(arg))]; ok {
		return k, nil
	}
	return "", &UnsupportedKindError{Arg: arg, Meaning: closestKind(arg)}
}

// kindName is the kind as printed: "GlobalNetworkPolicy", "Pod", "Node".
func kindName(k store.Kind) string { return strings.TrimPrefix(string(k), "k8s/") }

// NamespaceError is one of calicoctl's namespace rules (docs/api.md §8.2).
type NamespaceError struct{ Msg string }

func (e *NamespaceError) Error() string { return e.Msg }

var errBothNamespaceFlags = &NamespaceError{Msg: "cannot use both --namespace and --all-namespaces flags at the same time"}

// resolveNamespace applies calicoctl's handleNamespace to one resource:
// resNS is the resource's own namespace ("" when not given), cliNS the -n
// value, all the -A flag. It returns the namespace to use ("" for every
// namespace or a cluster-scoped kind).
func resolveNamespace(kind store.Kind, resNS, cliNS string, all bool) (string, error) {
	if !kind.Namespaced() {
		switch {
		case resNS != "":
			return "", &NamespaceError{Msg: fmt.Sprintf(
				"namespace should not be specified for a non-namespaced resource. %s is not a namespaced resource", kindName(kind))}
		case all || cliNS != "":
			return "", &NamespaceError{Msg: kindName(kind) + " is not namespaced"}
		}
		return "", nil
	}
	switch {
	case all && cliNS != "":
		return "", errBothNamespaceFlags
	case all:
		return "", nil
	case resNS == "" && cliNS != "":
		return cliNS, nil
	case resNS == "":
		return "default", nil
	case cliNS != "" && resNS != cliNS:
		return "", &NamespaceError{Msg: fmt.Sprintf("resource namespace does not match client namespace. %s != %s", resNS, cliNS)}
	}
	return resNS, nil
}

// placeItem gives a decoded resource its namespace under -n and checks it
// again when that changed it.
func placeItem(it *inputItem, cliNS string) error {
	kind := store.KindOf(it.obj)
	resNS := it.obj.GetNamespace()
	if !it.nsSet && kind.Namespaced() {
		resNS = ""
	}
	ns, err := resolveNamespace(kind, resNS, cliNS, false)
	if err != nil {
		return err
	}
	if ns != it.obj.GetNamespace() {
		it.obj.SetNamespace(ns)
		api.Default(it.obj)
		if fe := api.Validate(it.obj); len(fe) > 0 {
			return &api.DocumentError{Source: it.src, Index: it.index, Line: it.line, Kind: it.kind,
				Name: it.obj.GetName(), Fields: fe}
		}
	}
	return nil
}

// NotSupportedError is calicoctl's ErrorOperationNotSupported.
type NotSupportedError struct {
	Op, ID, Reason string
}

func (e *NotSupportedError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("operation %s is not supported on %s", e.Op, e.ID)
	}
	return fmt.Sprintf("operation %s is not supported on %s: %s", e.Op, e.ID, e.Reason)
}

// ValidationError is calicoctl's one-field ErrorValidation.
type ValidationError struct {
	Field, Value, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("error with field %s = '%s' (%s)", e.Field, e.Value, e.Reason)
}

// mirrorPrefix names the etcd-mode mirrors of Kubernetes NetworkPolicies.
const mirrorPrefix = "knp.default."

// refuseMirror keeps Calico NetworkPolicies named knp.default.* (the
// mirrors of Kubernetes policies, docs/api.md §9.1) out of the CLI's writes.
func refuseMirror(o api.Object, op string) error {
	if _, ok := o.(*api.NetworkPolicy); ok && strings.HasPrefix(o.GetName(), mirrorPrefix) {
		return &NotSupportedError{Op: op, ID: store.KeyOf(o).String(),
			Reason: "kubernetes network policies must be managed through the kubernetes API"}
	}
	return nil
}

// keepInputMeta drops the metadata a create must not carry: only name,
// namespace, resourceVersion, labels and annotations are honoured (docs/api.md
// §8.2); the store fills in uid and creationTimestamp.
func keepInputMeta(o api.Object) {
	o.SetUID("")
	o.SetCreationTimestamp(metav1.Time{})
	o.SetGeneration(0)
	o.SetGenerateName("")
	o.SetOwnerReferences(nil)
	o.SetFinalizers(nil)
	o.SetManagedFields(nil)
	o.SetDeletionTimestamp(nil)
	o.SetDeletionGracePeriodSeconds(nil)
}

// takeStoredMeta gives an update the stored object's metadata, with the
// input's labels and annotations merged over the stored ones, as
// calicoctl's mergeMetadataForUpdate does (docs/api.md §8.5): an apply never
// drops a label someone else set meanwhile (label --remove removes one).
func takeStoredMeta(o, stored api.Object, labels, annotations map[string]string) {
	o.SetLabels(mergeMaps(stored.GetLabels(), labels))
	o.SetAnnotations(mergeMaps(stored.GetAnnotations(), annotations))
	o.SetResourceVersion(stored.GetResourceVersion())
	o.SetUID(stored.GetUID())
	o.SetCreationTimestamp(stored.GetCreationTimestamp())
	o.SetGeneration(stored.GetGeneration())
	o.SetOwnerReferences(stored.GetOwnerReferences())
	o.SetFinalizers(stored.GetFinalizers())
	o.SetDeletionTimestamp(stored.GetDeletionTimestamp())
	o.SetDeletionGracePeriodSeconds(stored.GetDeletionGracePeriodSeconds())
}

// mergeMaps returns base with over's entries on top (nil when both are
// empty).
func mergeMaps(base, over map[string]string) map[string]string {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// Update retries (docs/api.md §8.5): 5 attempts, 1 s apart, on conflict.
var (
	updateAttempts = 5
	retryDelay     = time.Second
)

// retryPause is retryDelay give or take half of it, so that writers that
// conflicted once do not retry in lockstep and conflict again.
func retryPause() time.Duration {
	return retryDelay/2 + rand.N(retryDelay)
}

// UpdateFailedError: every retry of an update hit a conflict.
type UpdateFailedError struct{ Err error }

func (e *UpdateFailedError) Error() string { return "failed to update the resource: " + e.Err.Error() }

func (e *UpdateFailedError) Unwrap() error { return e.Err }

// createObject creates o (create and apply); a resourceVersion is refused.
// o's metadata is trimmed to what a create honours. The object-level
// functions below own their argument: it is one decoded input resource.
func (s *session) createObject(o api.Object, op string) (api.Object, error) {
	if err := refuseMirror(o, op); err != nil {
		return nil, err
	}
	if rv := o.GetResourceVersion(); rv != "" {
		return nil, &ValidationError{Field: "Metadata.ResourceVersion", Value: rv,
			Reason: "field must not be set for a Create request"}
	}
	keepInputMeta(o)
	return s.create(o)
}

// applyObject creates o, or updates it when it exists.
func (s *session) applyObject(o api.Object) (api.Object, error) {
	if err := refuseMirror(o, "create or apply"); err != nil {
		return nil, err
	}
	rv := o.GetResourceVersion()
	o.SetResourceVersion("")
	out, err := s.createObject(o, "create or apply")
	o.SetResourceVersion(rv)
	if store.IsAlreadyExists(err) {
		return s.updateObject(o, "apply or replace")
	}
	return out, err
}

// updateObject replaces an existing object (replace, and apply's
// fallback). With a resourceVersion it is a precondition and there is no
// retry; without one the latest version is read and the update retried on
// conflict.
func (s *session) updateObject(o api.Object, op string) (api.Object, error) {
	if err := refuseMirror(o, op); err != nil {
		return nil, err
	}
	key := store.KeyOf(o)
	labels, annotations := o.GetLabels(), o.GetAnnotations()
	if rv := o.GetResourceVersion(); rv != "" {
		cur, err := s.get(key)
		if err != nil {
			return nil, err
		}
		if cur.GetResourceVersion() != rv {
			return nil, &store.ConflictError{Key: key, Detail: fmt.Sprintf(
				"resource version '%s' is out of date (latest: %s); update the resource YAML/JSON in order to make changes",
				rv, cur.GetResourceVersion())}
		}
		takeStoredMeta(o, cur, labels, annotations)
		return s.update(o)
	}
	var last error
	for i := 0; i < updateAttempts; i++ {
		if i > 0 {
			time.Sleep(retryPause())
		}
		cur, err := s.get(key)
		if store.IsUnreadable(err) {
			return s.update(o) // the stored value is unreadable: replace it whole
		}
		if err != nil {
			return nil, err
		}
		takeStoredMeta(o, cur, labels, annotations)
		out, err := s.update(o)
		if !store.IsConflict(err) {
			return out, err
		}
		last = err
	}
	return nil, &UpdateFailedError{Err: last}
}

// deleteObject deletes the object at k; rv, when set, is a precondition.
func (s *session) deleteObject(k store.Key, rv string) (api.Object, error) {
	if k.Kind == api.KindNetworkPolicy && strings.HasPrefix(k.Name, mirrorPrefix) {
		return nil, &NotSupportedError{Op: "delete", ID: k.String(),
			Reason: "kubernetes network policies must be managed through the kubernetes API"}
	}
	return s.delete(k, rv)
}

// ensureInitialized creates the default tier when it is missing, as
// calicoctl's write commands do (docs/api.md §8.1). Failures are ignored, except
// an unreachable datastore, which is returned so the command stops at once.
func (s *session) ensureInitialized() error {
	k := store.Key{Kind: api.KindTier, Name: api.DefaultTierName}
	_, err := s.get(k)
	if store.IsUnavailable(err) {
		return err
	}
	if !store.IsNotFound(err) {
		return nil
	}
	order, deny := 1e6, api.Deny
	t := &api.Tier{ObjectMeta: metav1.ObjectMeta{Name: api.DefaultTierName},
		Spec: api.TierSpec{Order: &order, DefaultAction: &deny}}
	api.SetTypeMeta(t)
	_, err = s.create(t)
	if store.IsUnavailable(err) {
		return err
	}
	return nil
}

// probe checks that the datastore answers, so that an unreachable one is
// reported once, within the store's dial timeout.
func (s *session) probe() error {
	_, err := s.get(store.Key{Kind: api.KindTier, Name: api.DefaultTierName})
	if store.IsUnavailable(err) {
		return err
	}
	return nil
}

// defaultAllowProfile is projectcalico-default-allow, which every profile
// list includes whether or not it is stored (docs/api.md §9.1).
func defaultAllowProfile() api.Object {
	p := &api.Profile{ObjectMeta: metav1.ObjectMeta{Name: api.DefaultAllowProfile},
		Spec: api.ProfileSpec{Ingress: []api.Rule{{Action: api.Allow}}, Egress: []api.Rule{{Action: api.Allow}}}}
	api.SetTypeMeta(p)
	return p
}

// listKind lists a kind; profile lists always end with
// projectcalico-default-allow.
func (s *session) listKind(kind store.Kind, ns string) ([]api.Object, int64, error) {
	objs, rev, err := s.list(kind, ns)
	if err != nil || kind != api.KindProfile {
		return objs, rev, err
	}
	for _, o := range objs {
		if o.GetName() == api.DefaultAllowProfile {
			return objs, rev, nil
		}
	}
	return append(objs, defaultAllowProfile()), rev, nil
}

// getKey gets one object; projectcalico-default-allow exists even when it
// is not stored.
func (s *session) getKey(k store.Key) (api.Object, error) {
	o, err := s.get(k)
	if store.IsNotFound(err) && k.Kind == api.KindProfile && k.Name == api.DefaultAllowProfile {
		return defaultAllowProfile(), nil
	}
	return o, err
}

// singleKind is the kind shared by every item, or "" (calicoctl prints it
// in its messages only when all resources share one kind).
func singleKind(items []inputItem) string {
	kinds := map[string]bool{}
	for _, it := range items {
		kinds[it.kind] = true
	}
	if len(kinds) != 1 {
		return ""
	}
	for k := range kinds {
		return k
	}
	return ""
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
