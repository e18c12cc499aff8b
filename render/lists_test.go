package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const listsPolicy = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: lists}
spec:
  selector: all()
  types: [Ingress]
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [8000:8100, 80]}}
  - {action: Allow, protocol: UDP, destination: {ports: [80, 8000:8100]}}
  - {action: Deny, protocol: TCP, source: {nets: [198.19.9.9/32, 198.19.7.0/24]}, destination: {notPorts: [22, 25]}}
  - {action: Deny, protocol: UDP, source: {nets: [198.19.7.0/24]}, destination: {notPorts: [25, 22]}}
  - {action: Allow, protocol: TCP, destination: {ports: [443]}}
  - {action: Allow, protocol: TCP, destination: {ports: [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]}}
`

// A rule's list of ports or networks is looked up in a named set shared
// by every rule with the same list; a single port or network stays a
// comparison. The rule keeps its ranges and prefixes, equal to the set's.
func TestListSets(t *testing.T) {
	rs, err := Node(modelWith(t, listsPolicy, "topology"), "node1")
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string]*Set{}
	for _, s := range rs.Sets {
		sets[s.Name] = s
	}
	used := map[string]int{}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			for _, m := range r.Matches {
				switch x := m.(type) {
				case MatchPort:
					if (x.Set != "") != (len(x.Ranges) > 1) {
						t.Fatalf("%s: %s: set %q for %d ranges", c.Name, r.String(), x.Set, len(x.Ranges))
					}
					if x.Set == "" {
						continue
					}
					s := sets[x.Set]
					if s == nil || s.Type != SetService {
						t.Fatalf("%s: %s: no port set %q", c.Name, r.String(), x.Set)
					}
					if diff := cmp.Diff(x.Ranges, s.Ports); diff != "" {
						t.Fatalf("%s: set %s holds other ports (-rule +set):\n%s", c.Name, x.Set, diff)
					}
					if s.Interval != slices.ContainsFunc(s.Ports, func(r PortRange) bool { return r.Lo != r.Hi }) {
						t.Errorf("set %s: interval %v for %v", s.Name, s.Interval, s.Ports)
					}
					used[x.Set]++
				case MatchAddr:
					if len(x.Prefixes) < 2 {
						if len(x.Prefixes) == 1 && x.Set != "" {
							t.Fatalf("%s: one network with a set: %s", c.Name, r.String())
						}
						continue
					}
					s := sets[x.Set]
					if s == nil || !strings.HasPrefix(s.Name, "nets-") {
						t.Fatalf("%s: %s: no net set %q", c.Name, r.String(), x.Set)
					}
					if !slices.Equal(x.Prefixes, s.Addrs.Prefixes()) {
						t.Fatalf("%s: set %s holds %v, the rule %v", c.Name, x.Set, s.Addrs, x.Prefixes)
					}
					used[x.Set]++
				}
			}
		}
	}
	bases := map[string]int{}
	for name, n := range used {
		bases[BaseName(name)] += n
	}
	for name, n := range map[string]int{
		"ports-80_8000-8100": 2, // the TCP and the UDP rule share it
		"ports-22_25":        2, // two notPorts lists in another order
		"nets-" + shortHash("198.19.7.0/24,198.19.9.9") + "-v4": 1, // sorted; 198.19.7.0/24 alone is compared
	} {
		if bases[name] != n {
			t.Errorf("list set %s named by %d rules, want %d (sets used: %v)", name, bases[name], n, bases)
		}
	}
	long := 0
	for base := range bases {
		if strings.HasPrefix(base, "ports-") && len(base) == len("ports-")+hashLen {
			long++
		}
	}
	if long != 1 {
		t.Errorf("%d port sets named by a hash, want 1 (the 16 ports): %v", long, bases)
	}
	nftCheck(t, rs.Text())
}

// The trace looks a port up where the kernel does: in the list set the
// match names.
func TestTracePortList(t *testing.T) {
	tr := &tracer{sets: map[string]*Set{"ports-80_443/x": {Name: "ports-80_443/x", Type: SetService,
		Ports: []PortRange{{80, 80}, {443, 443}}}}}
	for _, tc := range []struct {
		m    MatchPort
		port uint16
		want bool
	}{
		{MatchPort{Ranges: []PortRange{{80, 80}, {443, 443}}, Set: "ports-80_443/x"}, 443, true},
		{MatchPort{Ranges: []PortRange{{80, 80}, {443, 443}}, Set: "ports-80_443/x"}, 8080, false},
		{MatchPort{Ranges: []PortRange{{8080, 8080}, {9, 9}}, Set: "ports-80_443/x"}, 8080, false}, // the set decides
		{MatchPort{Ranges: []PortRange{{8080, 8080}, {9, 9}}}, 8080, true},
	} {
		if got := tr.portIn(tc.m, tc.port); got != tc.want || tr.res.Err != nil {
			t.Errorf("%+v port %d: %v (err %v), want %v", tc.m, tc.port, got, tr.res.Err, tc.want)
		}
	}
	tr.portIn(MatchPort{Ranges: []PortRange{{1, 1}, {2, 2}}, Set: "ports-gone"}, 1)
	if tr.res.Err == nil {
		t.Error("a missing list set is not an error")
	}
}

// The compiled form's protocol guards name list sets too, and the
// compiled ruleset declares each set a rule names, with the rule's
// protocols, also when its sections come from the compiler's memo.
func TestCompiledProtoLists(t *testing.T) {
	rs, err := Node(modelWith(t, listsPolicy, "topology"), "node1")
	if err != nil {
		t.Fatal(err)
	}
	cp := NewCompiler()
	for round := 0; round < 2; round++ { // the second compile reuses every section
		out := cp.Compile(rs)
		sets := map[string]*Set{}
		for _, s := range out.Sets {
			sets[s.Name] = s
		}
		named := 0
		for _, c := range out.Chains {
			for _, r := range c.Rules {
				for _, m := range r.Matches {
					x, ok := m.(MatchL4Proto)
					if !ok || len(x.Protos) < 2 {
						continue
					}
					s := sets[x.Set]
					if s == nil || s.Type != SetProto || !slices.Equal(s.Protos, x.Protos) {
						t.Fatalf("round %d, %s: %s: list set %q is %+v", round, c.Name, r.String(), x.Set, s)
					}
					named++
				}
			}
		}
		if named == 0 {
			t.Fatalf("round %d: no compiled protocol guard (%d maps)", round, len(out.Maps))
		}
		if round == 1 && cp.Reused == 0 {
			t.Fatalf("the second compile walked every section again (walked %d)", cp.Walked)
		}
		nftCheck(t, out.Text())
	}
}
