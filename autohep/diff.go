package autohep

import (
	"maps"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/api"
)

// IsManaged reports whether h belongs to the controller: it carries the
// created-by label with the controller's value. Only the label counts, so a
// user's endpoint with that label is managed and may be deleted (§7.2).
func IsManaged(h *api.HostEndpoint) bool {
	return h != nil && h.Labels[CreatedByLabel] == CreatedByValue
}

// NeedsUpdate reports whether the controller would rewrite current to reach
// desired: labels, annotations, expectedIPs (order-sensitive) or
// interfaceName differ. Profiles and ports are not compared (§7.5). A nil
// map or list equals an empty one.
func NeedsUpdate(current, desired *api.HostEndpoint) bool {
	return !maps.Equal(current.Labels, desired.Labels) ||
		!maps.Equal(current.Annotations, desired.Annotations) ||
		!slices.Equal(current.Spec.ExpectedIPs, desired.Spec.ExpectedIPs) ||
		current.Spec.InterfaceName != desired.Spec.InterfaceName
}

// Diff says what to do to reach desired from the existing endpoints: create
// the desired endpoints that do not exist, update those that differ (see
// NeedsUpdate), delete the managed endpoints that are not desired. Each
// list is sorted by name.
//
// Existing endpoints that are not managed are ignored: a desired endpoint
// whose name an unmanaged endpoint already holds is listed for creation, and
// the store's "already exists" error is the outcome, as in Calico.
// existing must cover the same scope as desired (one node, or all nodes);
// a managed endpoint outside that scope would be listed for deletion.
//
// Updates are copies of the desired endpoints carrying the existing
// endpoint's resourceVersion, uid and creationTimestamp, ready for an
// optimistic-concurrency update. The inputs are not modified.
func Diff(desired, existing []*api.HostEndpoint) (create, update, del []*api.HostEndpoint) {
	current := map[string]*api.HostEndpoint{}
	for _, h := range existing {
		if IsManaged(h) {
			if _, dup := current[h.Name]; !dup {
				current[h.Name] = h
			}
		}
	}
	wanted := map[string]bool{}
	for _, d := range desired {
		if wanted[d.Name] {
			continue
		}
		wanted[d.Name] = true
		cur, ok := current[d.Name]
		switch {
		case !ok:
			create = append(create, clone(d))
		case NeedsUpdate(cur, d):
			u := clone(d)
			u.ResourceVersion = cur.ResourceVersion
			u.UID = cur.UID
			u.CreationTimestamp = cur.CreationTimestamp
			update = append(update, u)
		}
	}
	for name, h := range current {
		if !wanted[name] {
			del = append(del, h)
		}
	}
	byName := func(a, b *api.HostEndpoint) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(create, byName)
	slices.SortFunc(update, byName)
	slices.SortFunc(del, byName)
	return create, update, del
}

// clone copies h deeply enough that changes to the copy never reach h.
func clone(h *api.HostEndpoint) *api.HostEndpoint {
	c := *h
	c.ObjectMeta = *h.ObjectMeta.DeepCopy()
	c.Spec.ExpectedIPs = slices.Clone(h.Spec.ExpectedIPs)
	c.Spec.Profiles = slices.Clone(h.Spec.Profiles)
	c.Spec.Ports = slices.Clone(h.Spec.Ports)
	return &c
}
