package integrity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/kube/convert"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
)

// DanglingError: the object names another that does not exist.
type DanglingError struct {
	Object string // api.ID of the object written
	Field  string // the field holding the reference
	Ref    store.Key
}

func (e *DanglingError) Error() string {
	return fmt.Sprintf("%s: %s: resource does not exist: %s with error: <nil>", e.Object, e.Field, e.Ref)
}

// InUseError: other objects still name the one being deleted, or it may
// never be deleted.
type InUseError struct {
	Key    store.Key
	Reason string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("operation Delete is not supported on %s: %s", e.Key, e.Reason)
}

// Store refuses writes that would leave dangling references.
type Store struct{ store.Store }

// Wrap returns s with the checks.
func Wrap(s store.Store) *Store { return &Store{Store: s} }

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, o api.Object) (api.Object, error) {
	if err := s.checkMirror(ctx, "Create", o, store.KeyOf(o)); err != nil {
		return nil, err
	}
	if err := s.checkRefs(ctx, o); err != nil {
		return nil, err
	}
	return s.Store.Create(ctx, o)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, o api.Object) (api.Object, error) {
	if err := s.checkMirror(ctx, "Update", o, store.KeyOf(o)); err != nil {
		return nil, err
	}
	if err := s.checkRefs(ctx, o); err != nil {
		return nil, err
	}
	return s.Store.Update(ctx, o)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, k store.Key, rv string) (api.Object, error) {
	if err := s.checkMirror(ctx, "Delete", nil, k); err != nil {
		return nil, err
	}
	if err := s.checkUsers(ctx, k); err != nil {
		return nil, err
	}
	return s.Store.Delete(ctx, k, rv)
}

// MirroredError: the object is mirrored from Kubernetes (it carries
// palisade.io/source), so only the mirror writes it.
type MirroredError struct {
	Op  string
	Key store.Key
	Why string
}

func (e *MirroredError) Error() string {
	return fmt.Sprintf("operation %s is not supported on %s: %s", e.Op, e.Key, e.Why)
}

// mirroredWhy is Calico's message per mirrored kind; Nodes are not listed:
// users may label them (their labels survive the mirror's).
var mirroredWhy = map[store.Kind]string{
	api.KindNetworkPolicy:      "kubernetes network policies must be managed through the kubernetes API",
	api.KindProfile:            "profiles of kubernetes namespaces and service accounts must be managed through the kubernetes API",
	api.KindWorkloadEndpoint:   "workload endpoints of kubernetes pods must be managed through the kubernetes API",
	store.KindK8sService:       "kubernetes services must be managed through the kubernetes API",
	store.KindK8sEndpointSlice: "kubernetes endpointslices must be managed through the kubernetes API",
}

// checkMirror refuses writes to objects the Kubernetes mirror owns.
func (s *Store) checkMirror(ctx context.Context, op string, o api.Object, k store.Key) error {
	why, ok := mirroredWhy[k.Kind]
	if !ok {
		return nil
	}
	if o != nil && o.GetAnnotations()[convert.SourceAnnotation] != "" {
		return &MirroredError{Op: op, Key: k, Why: why}
	}
	cur, err := s.Get(ctx, k)
	switch {
	case store.IsNotFound(err), store.IsUnreadable(err):
		return nil
	case err != nil:
		return err
	case cur.GetAnnotations()[convert.SourceAnnotation] != "":
		return &MirroredError{Op: op, Key: k, Why: why}
	}
	return nil
}

// checkRefs finds the first reference of o that does not resolve.
func (s *Store) checkRefs(ctx context.Context, o api.Object) error {
	for _, r := range references(o) {
		ok, err := s.exists(ctx, r.ref)
		if err != nil {
			return err
		}
		if !ok {
			return &DanglingError{Object: api.ID(o), Field: r.field, Ref: r.ref}
		}
	}
	return nil
}

type reference struct {
	field string
	ref   store.Key
}

// references lists what o names.
func references(o api.Object) []reference {
	if t, ok := tierOf(o); ok {
		if t == api.DefaultTierName {
			return nil // the default tier always exists
		}
		return []reference{{"spec.tier", store.Key{Kind: api.KindTier, Name: t}}}
	}
	if p, ok := o.(*corev1.Pod); ok {
		return []reference{{"metadata.namespace", store.Key{Kind: store.KindK8sNamespace, Name: p.Namespace}}}
	}
	var out []reference
	for _, n := range profilesOf(o) {
		out = append(out, reference{"spec.profiles", store.Key{Kind: api.KindProfile, Name: n}})
	}
	return out
}

// exists reports whether a referenced object exists. A profile exists as
// the policy model resolves it: the built-in projectcalico-default-allow,
// a Profile object, kns.<ns> for a Namespace, ksa.<ns>.<sa> for a
// ServiceAccount or a pod running as it.
func (s *Store) exists(ctx context.Context, k store.Key) (bool, error) {
	if k.Kind == api.KindProfile && k.Name == api.DefaultAllowProfile {
		return true, nil
	}
	found, err := s.found(ctx, k)
	if found || err != nil || k.Kind != api.KindProfile {
		return found, err
	}
	if ns, ok := strings.CutPrefix(k.Name, "kns."); ok {
		return s.found(ctx, store.Key{Kind: store.KindK8sNamespace, Name: ns})
	}
	rest, ok := strings.CutPrefix(k.Name, "ksa.")
	if !ok {
		return false, nil
	}
	// ksa.<ns>.<sa>: namespaces hold no dot, service account names may.
	ns, sa, ok := strings.Cut(rest, ".")
	if !ok {
		return false, nil
	}
	if found, err := s.found(ctx, store.Key{Kind: store.KindK8sServiceAcct, Namespace: ns, Name: sa}); found || err != nil {
		return found, err
	}
	pods, _, err := s.List(ctx, store.KindK8sPod, ns)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(pods, func(o api.Object) bool {
		p, ok := o.(*corev1.Pod)
		return ok && policy.ServiceAccountProfileName(p.Namespace, policy.PodServiceAccount(p)) == k.Name
	}), nil
}

func (s *Store) found(ctx context.Context, k store.Key) (bool, error) {
	_, err := s.Get(ctx, k)
	switch {
	case err == nil, store.IsUnreadable(err):
		return true, nil
	case store.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// checkUsers refuses deleting what others still name.
func (s *Store) checkUsers(ctx context.Context, k store.Key) error {
	var users []string
	var err error
	switch k.Kind {
	case api.KindTier:
		if k.Name == api.DefaultTierName {
			return &InUseError{Key: k, Reason: "the default tier cannot be deleted"}
		}
		users, err = s.users(ctx, policyKinds, "", func(o api.Object) bool {
			t, _ := tierOf(o)
			return t == k.Name
		})
		if err == nil && len(users) > 0 {
			return &InUseError{Key: k, Reason: "Cannot delete a non-empty tier (it holds " + list(users) + ")"}
		}
	case api.KindProfile:
		users, err = s.users(ctx, []store.Kind{api.KindHostEndpoint, api.KindWorkloadEndpoint}, "", func(o api.Object) bool {
			return slices.Contains(profilesOf(o), k.Name)
		})
		if err == nil && len(users) > 0 {
			return &InUseError{Key: k, Reason: "the profile is still used by " + list(users)}
		}
	case store.KindK8sNamespace:
		users, err = s.users(ctx, []store.Kind{store.KindK8sPod, api.KindWorkloadEndpoint}, k.Name, func(api.Object) bool { return true })
		if err == nil && len(users) > 0 {
			return &InUseError{Key: k, Reason: "the namespace still holds " + list(users) + "; delete them first"}
		}
	}
	return err
}

var policyKinds = []store.Kind{api.KindGlobalNetworkPolicy, api.KindNetworkPolicy,
	api.KindStagedGlobalNetworkPolicy, api.KindStagedNetworkPolicy}

// users lists the objects of kinds (in namespace ns, or all) that match.
func (s *Store) users(ctx context.Context, kinds []store.Kind, ns string, match func(api.Object) bool) ([]string, error) {
	var out []string
	for _, kind := range kinds {
		objs, _, err := s.List(ctx, kind, ns)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if match(o) {
				out = append(out, store.KeyOf(o).String())
			}
		}
	}
	return out, nil
}

// tierOf returns a policy's tier (default when empty); false for other
// objects.
func tierOf(o api.Object) (string, bool) {
	var t string
	switch x := o.(type) {
	case *api.GlobalNetworkPolicy:
		t = x.Spec.Tier
	case *api.NetworkPolicy:
		t = x.Spec.Tier
	case *api.StagedGlobalNetworkPolicy:
		t = x.Spec.Tier
	case *api.StagedNetworkPolicy:
		t = x.Spec.Tier
	default:
		return "", false
	}
	if t == "" {
		t = api.DefaultTierName
	}
	return t, true
}

func profilesOf(o api.Object) []string {
	switch x := o.(type) {
	case *api.HostEndpoint:
		return x.Spec.Profiles
	case *api.WorkloadEndpoint:
		return x.Spec.Profiles
	}
	return nil
}

// list names at most five objects.
func list(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + fmt.Sprintf(" and %d more", len(ids)-5)
	}
	return strings.Join(ids, ", ")
}
