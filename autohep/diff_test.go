package autohep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/palisade-net/palisade/api"
)

func TestIsManaged(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"created-by label", map[string]string{CreatedByLabel: CreatedByValue}, true},
		{"user endpoint carrying the label", map[string]string{CreatedByLabel: CreatedByValue, "owner": "me"}, true},
		{"other value", map[string]string{CreatedByLabel: "someone-else"}, false},
		{"no labels", nil, false},
	}
	for _, tc := range tests {
		h := &api.HostEndpoint{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}}
		if got := IsManaged(h); got != tc.want {
			t.Errorf("%s: IsManaged = %v, want %v", tc.name, got, tc.want)
		}
	}
	if IsManaged(nil) {
		t.Error("IsManaged(nil) = true")
	}
}

// stored returns a copy of h as the datastore would hold it.
func stored(h *api.HostEndpoint, rv string) *api.HostEndpoint {
	c := clone(h)
	c.ResourceVersion, c.UID, c.CreationTimestamp = rv, types.UID("uid-"+c.Name), metav1.Unix(1000, 0)
	return c
}

func TestDiff(t *testing.T) {
	a := hep("a-auto-hep", "a", "*", []string{"10.0.0.1", "192.168.0.1"}, map[string]string{"x": "1"}, nil)
	b := hep("b-auto-hep", "b", "*", []string{"10.0.0.2"}, nil, nil)
	c := hep("c-auto-hep", "c", "*", []string{"10.0.0.3"}, nil, nil)

	edit := func(h *api.HostEndpoint, f func(*api.HostEndpoint)) *api.HostEndpoint {
		h = stored(h, "7")
		f(h)
		return h
	}
	userHEP := &api.HostEndpoint{ObjectMeta: metav1.ObjectMeta{Name: "b-auto-hep", Labels: map[string]string{"owner": "me"}}}
	stale := hep("gone-auto-hep", "gone", "*", nil, nil, nil)

	tests := []struct {
		name                   string
		desired, existing      []*api.HostEndpoint
		create, update, delete []string
	}{
		{"nothing exists", []*api.HostEndpoint{b, a}, nil, []string{"a-auto-hep", "b-auto-hep"}, nil, nil},
		{"all up to date", []*api.HostEndpoint{a, b}, []*api.HostEndpoint{stored(a, "1"), stored(b, "2")}, nil, nil, nil},
		{"nil and empty annotations are equal", []*api.HostEndpoint{a},
			[]*api.HostEndpoint{edit(a, func(h *api.HostEndpoint) { h.Annotations = map[string]string{} })}, nil, nil, nil},
		{"profiles and ports not compared", []*api.HostEndpoint{a},
			[]*api.HostEndpoint{edit(a, func(h *api.HostEndpoint) {
				h.Spec.Profiles = nil
				h.Spec.Ports = []api.EndpointPort{{Name: "p", Protocol: api.ProtocolFromString("TCP"), Port: 1}}
			})}, nil, nil, nil},
		{"expectedIPs order matters", []*api.HostEndpoint{a},
			[]*api.HostEndpoint{edit(a, func(h *api.HostEndpoint) { h.Spec.ExpectedIPs = []string{"192.168.0.1", "10.0.0.1"} })},
			nil, []string{"a-auto-hep"}, nil},
		{"label changed", []*api.HostEndpoint{a},
			[]*api.HostEndpoint{edit(a, func(h *api.HostEndpoint) { h.Labels["x"] = "2" })}, nil, []string{"a-auto-hep"}, nil},
		{"annotation added by someone", []*api.HostEndpoint{a},
			[]*api.HostEndpoint{edit(a, func(h *api.HostEndpoint) { h.Annotations = map[string]string{"k": "v"} })}, nil, []string{"a-auto-hep"}, nil},
		{"interfaceName changed", []*api.HostEndpoint{a},
			[]*api.HostEndpoint{edit(a, func(h *api.HostEndpoint) { h.Spec.InterfaceName = "eth0" })}, nil, []string{"a-auto-hep"}, nil},
		{"managed but not desired is deleted", []*api.HostEndpoint{a},
			[]*api.HostEndpoint{stored(a, "1"), stored(stale, "3"), stored(c, "4")}, nil, nil, []string{"c-auto-hep", "gone-auto-hep"}},
		{"disabled: everything managed goes", nil,
			[]*api.HostEndpoint{stored(a, "1"), stored(b, "2"), userHEP}, nil, nil, []string{"a-auto-hep", "b-auto-hep"}},
		{"unmanaged endpoint is never touched; its name is still created", []*api.HostEndpoint{b},
			[]*api.HostEndpoint{userHEP}, []string{"b-auto-hep"}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			create, update, del := Diff(tc.desired, tc.existing)
			for _, l := range []struct {
				what string
				got  []*api.HostEndpoint
				want []string
			}{{"create", create, tc.create}, {"update", update, tc.update}, {"delete", del, tc.delete}} {
				var names []string
				for _, h := range l.got {
					names = append(names, h.Name)
				}
				if diff := cmp.Diff(l.want, names); diff != "" {
					t.Errorf("%s (-want +got):\n%s", l.what, diff)
				}
			}
		})
	}
}

func TestDiffUpdateCarriesIdentity(t *testing.T) {
	desired := hep("a-auto-hep", "a", "*", []string{"10.0.0.1"}, map[string]string{"x": "2"}, nil)
	cur := stored(hep("a-auto-hep", "a", "*", []string{"10.0.0.9"}, map[string]string{"x": "1"}, nil), "41")
	cur.Spec.Profiles = []string{"custom"}
	_, update, _ := Diff([]*api.HostEndpoint{desired}, []*api.HostEndpoint{cur})
	if len(update) != 1 {
		t.Fatalf("update = %v", update)
	}
	want := clone(desired)
	want.ResourceVersion, want.UID, want.CreationTimestamp = "41", "uid-a-auto-hep", metav1.Unix(1000, 0)
	if diff := cmp.Diff(want, update[0]); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
	update[0].Labels["x"] = "changed"
	update[0].Spec.ExpectedIPs[0] = "changed"
	if desired.Labels["x"] != "2" || desired.Spec.ExpectedIPs[0] != "10.0.0.1" || desired.ResourceVersion != "" {
		t.Error("Diff output aliases or modified its input")
	}
}

// The controller's steady state: after applying Diff's result, Diff wants
// nothing more.
func TestDiffConverges(t *testing.T) {
	cfg := &api.AutoHostEndpointConfig{AutoCreate: Enabled, Templates: []api.AutoHostEndpointTemplate{
		{GenerateName: "eth", InterfacePattern: "^eth"},
	}}
	node := NodeInfo{Name: "n", InternalIPs: []string{"10.0.0.1"},
		Interfaces: []api.NodeInterface{{Name: "eth0", Addresses: []string{"10.0.0.1"}}, {Name: "eth1"}}}
	desired, err := ForNode(node, cfg)
	if err != nil {
		t.Fatal(err)
	}
	create, _, _ := Diff(desired, nil)
	var store []*api.HostEndpoint
	for _, h := range create {
		store = append(store, stored(h, "1"))
	}
	c, u, d := Diff(desired, store)
	if len(c)+len(u)+len(d) != 0 {
		t.Errorf("not converged: create %v update %v delete %v", c, u, d)
	}
	node.Interfaces = node.Interfaces[:1] // eth1 removed
	desired, _ = ForNode(node, cfg)
	c, u, d = Diff(desired, store)
	if len(c) != 0 || len(u) != 0 || len(d) != 1 || d[0].Name != "n-eth-eth1-auto-hep" {
		t.Errorf("after eth1 removal: create %v update %v delete %v", c, u, d)
	}
}
