package agent

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/palisade-net/palisade/api"
)

func TestBindInterfaces(t *testing.T) {
	ip := netip.MustParseAddr
	pfx := netip.MustParsePrefix
	veth := func(name string, routes ...string) HostInterface {
		hi := HostInterface{Name: name, PeerElsewhere: true}
		for _, r := range routes {
			hi.Routes = append(hi.Routes, pfx(r))
		}
		return hi
	}
	web := localWorkload{key: "app/web", iface: "cali1111", ips: []netip.Addr{ip("198.18.1.10")}}
	db := localWorkload{key: "app/db", iface: "cali2222", ips: []netip.Addr{ip("198.18.1.20"), ip("fd00:18::20")}}
	eth0 := HostInterface{Name: "eth0", Addrs: []netip.Prefix{pfx("198.19.0.2/24")}}
	tests := []struct {
		name     string
		wls      []localWorkload
		ifs      []HostInterface
		prefixes []string
		cni      map[string]string
		want     api.InterfaceReport
	}{
		{name: "the convention holds: nothing to report",
			wls: []localWorkload{web, db}, ifs: []HostInterface{eth0, veth("cali1111"), veth("cali2222")},
			prefixes: []string{"cali"}},
		{name: "an absent interface is found by its route",
			wls: []localWorkload{web}, ifs: []HostInterface{eth0, veth("veth9", "198.18.1.10/32")},
			prefixes: []string{"cali"}, want: api.InterfaceReport{Bound: map[string]string{"app/web": "veth9"}}},
		{name: "the IPv6 address's route counts too",
			wls: []localWorkload{db}, ifs: []HostInterface{veth("veth9", "fd00:18::20/128")},
			prefixes: []string{"cali"}, want: api.InterfaceReport{Bound: map[string]string{"app/db": "veth9"}}},
		{name: "the most specific route wins",
			wls:      []localWorkload{web},
			ifs:      []HostInterface{veth("vethwide", "198.18.0.0/16"), veth("vethhost", "198.18.1.10/32")},
			prefixes: []string{"cali"}, want: api.InterfaceReport{Bound: map[string]string{"app/web": "vethhost"}}},
		{name: "a route through a veth whose peer is on the host does not bind",
			wls:      []localWorkload{web},
			ifs:      []HostInterface{{Name: "vethlocal", Routes: []netip.Prefix{pfx("198.18.1.10/32")}}},
			prefixes: []string{"cali"}, want: api.InterfaceReport{Missing: []string{"app/web"}}},
		{name: "a route through another workload's interface does not bind",
			wls:      []localWorkload{web, {key: "app/other", iface: "veth9"}},
			ifs:      []HostInterface{veth("veth9", "198.18.1.0/24")},
			prefixes: []string{"cali"}, want: api.InterfaceReport{Missing: []string{"app/web"}}},
		{name: "no interface and no route: missing",
			wls: []localWorkload{web, {key: "app/noip", iface: "cali3333"}}, ifs: []HostInterface{eth0},
			prefixes: []string{"cali"}, want: api.InterfaceReport{Missing: []string{"app/noip", "app/web"}}},
		{name: "a prefixed interface of no workload is unbound, under every prefix",
			wls:      []localWorkload{web},
			ifs:      []HostInterface{eth0, veth("cali1111"), veth("cali9999"), veth("eni42"), veth("vethx")},
			prefixes: []string{"cali", "eni"}, want: api.InterfaceReport{Unbound: []string{"cali9999", "eni42"}}},
		{name: "a prefixed interface bound by route is not unbound",
			wls: []localWorkload{web}, ifs: []HostInterface{veth("cali7777", "198.18.1.10/32")},
			prefixes: []string{"cali"}, want: api.InterfaceReport{Bound: map[string]string{"app/web": "cali7777"}}},
		{name: "a pod and its endpoint are one workload; the one whose interface exists wins",
			wls: []localWorkload{{key: "app/web", iface: "caliAAAA", ips: web.ips}, web},
			ifs: []HostInterface{veth("cali1111")}, prefixes: []string{"cali"}},
		{name: "a CNI attachment binds its interface, before the convention and routes",
			wls: []localWorkload{web}, ifs: []HostInterface{veth("cali1111"), veth("veth7", "198.18.1.10/32")},
			prefixes: []string{"cali"}, cni: map[string]string{"app/web": "veth7"},
			want: api.InterfaceReport{Bound: map[string]string{"app/web": "veth7"}, Unbound: []string{"cali1111"}}},
		{name: "a CNI attachment on the conventional interface reports nothing",
			wls: []localWorkload{web}, ifs: []HostInterface{veth("cali1111")},
			prefixes: []string{"cali"}, cni: map[string]string{"app/web": "cali1111"}},
		{name: "a CNI attachment of a pod whose endpoint is not known yet binds (its traffic is dropped)",
			ifs: []HostInterface{veth("veth7")}, prefixes: []string{"cali"}, cni: map[string]string{"app/new": "veth7"},
			want: api.InterfaceReport{Bound: map[string]string{"app/new": "veth7"}}},
		{name: "a CNI attachment whose interface is gone falls back to the convention",
			wls: []localWorkload{web}, ifs: []HostInterface{veth("cali1111")},
			prefixes: []string{"cali"}, cni: map[string]string{"app/web": "veth7"}},
		{name: "two workloads routed to one veth: the first by key takes it",
			wls: []localWorkload{web, {key: "app/aaa", iface: "cali0", ips: web.ips}},
			ifs: []HostInterface{veth("veth9", "198.18.1.10/32")}, prefixes: []string{"cali"},
			want: api.InterfaceReport{Bound: map[string]string{"app/aaa": "veth9"}, Missing: []string{"app/web"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := bindInterfaces(tc.wls, tc.ifs, tc.prefixes, tc.cni)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInterfaceReportAnnotation: the report round-trips through the Node's
// annotation, an empty one removes it, and a broken one is an error naming
// the annotation.
func TestInterfaceReportAnnotation(t *testing.T) {
	r := api.InterfaceReport{Bound: map[string]string{"a/b": "veth1"}, Unbound: []string{"cali1"}, Missing: []string{"a/c"}}
	n := &api.Node{}
	api.SetNodeInterfaceReport(n, r)
	got, err := api.NodeInterfaceReport(n)
	if err != nil || !got.Equal(r) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	api.SetNodeInterfaceReport(n, api.InterfaceReport{})
	if n.Annotations != nil {
		t.Errorf("an empty report left annotations %v", n.Annotations)
	}
	n.Annotations = map[string]string{api.InterfacesAnnotation: "{bad"}
	if _, err := api.NodeInterfaceReport(n); err == nil || !strings.Contains(err.Error(), "metadata.annotations[palisade.io/interfaces]") {
		t.Errorf("a broken annotation: %v", err)
	}
}
