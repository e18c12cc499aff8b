package lab

import (
	"io/fs"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/store"
)

// TestScenariosAreTheExamples checks that the lab walks exactly the
// examples' walkthroughs, step for step.
func TestScenariosAreTheExamples(t *testing.T) {
	sc := Scenarios()
	if len(sc) != len(examples.Seeds()) {
		t.Fatalf("%d scenarios, %d walkthroughs", len(sc), len(examples.Seeds()))
	}
	for i, seed := range examples.Seeds() {
		want := examples.Walkthrough(seed)
		got := sc[i].steps()
		if sc[i].Name != seed || len(got) != len(want) {
			t.Fatalf("scenario %s has %d steps, walkthrough %s has %d", sc[i].Name, len(got), seed, len(want))
		}
		for j := range want {
			if got[j].name != want[j].Name || len(got[j].flows) != len(want[j].Flows) || len(got[j].files) != len(want[j].Files) {
				t.Errorf("%s step %d: %s differs from the walkthrough's %s", seed, j, got[j].name, want[j].Name)
			}
		}
	}
}

// TestEveryFlowResolves checks that every flow names a pod, a node or an
// address of the lab, and a port the probes understand.
func TestEveryFlowResolves(t *testing.T) {
	l, err := newLab(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sc := range Scenarios() {
		for _, st := range sc.steps() {
			for _, f := range st.flows {
				n++
				for _, peer := range []string{f.from, f.to} {
					if _, err := l.resolve(peer); err != nil {
						t.Errorf("%s / %s: %s: %v", sc.Name, st.name, peer, err)
					}
				}
				if _, _, err := parsePort(f.port); err != nil {
					t.Errorf("%s / %s: %v", sc.Name, st.name, err)
				}
				if f.want != "allow" && f.want != "deny" {
					t.Errorf("%s / %s: want %q", sc.Name, st.name, f.want)
				}
			}
		}
	}
	if n < 300 {
		t.Errorf("only %d flows; the seeds have more than 300", n)
	}
}

func TestNamespaceNames(t *testing.T) {
	topo, err := LoadTopology()
	if err != nil {
		t.Fatal(err)
	}
	names := topo.Namespaces()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("namespace %s twice", n)
		}
		seen[n] = true
		if !strings.HasPrefix(n, "palisade-") || len(n) > maxNSNameLen {
			t.Errorf("namespace name %q: want palisade-… of at most %d characters", n, maxNSNameLen)
		}
	}
	for _, want := range []string{"palisade-switch", "palisade-control", "palisade-node1", "palisade-node2",
		"palisade-host1", "palisade-host2", "palisade-pod-yaobank-customer", "palisade-pod-kube-system-coredns"} {
		if !seen[want] {
			t.Errorf("no namespace %s", want)
		}
	}
	if got := PodNS("a-very-long-namespace-name", "and-a-long-pod-name-too"); len(got) != maxNSNameLen ||
		!strings.HasPrefix(got, "palisade-pod-a-very-long") {
		t.Errorf("PodNS of a long name = %q", got)
	}
	if len(topo.Pods) < 30 || len(topo.Nodes) != 3 {
		t.Errorf("%d pods on %d nodes", len(topo.Pods), len(topo.Nodes))
	}
}

func TestPlanStep(t *testing.T) {
	keys := map[string][]store.Key{
		"a.yaml":    {{Kind: "GlobalNetworkPolicy", Name: "a"}},
		"b.yaml":    {{Kind: "GlobalNetworkPolicy", Name: "b"}},
		"hep1.yaml": {{Kind: "HostEndpoint", Name: "h"}},
		"hep2.yaml": {{Kind: "HostEndpoint", Name: "h"}},
		"pods.yaml": {{Kind: store.KindK8sPod, Namespace: "default", Name: "p"}},
	}
	base := map[store.Key]bool{{Kind: store.KindK8sPod, Namespace: "default", Name: "p"}: true}
	kf := func(f string) []store.Key { return keys[f] }
	show := func(p plan) string {
		var s []string
		if p.reset {
			s = append(s, "reset")
		}
		for _, c := range p.cmds {
			s = append(s, strings.Join(c.args, " "))
		}
		return strings.Join(s, "; ")
	}
	for _, tc := range []struct {
		prev, cur []string
		want      string
	}{
		{[]string{topology}, []string{topology, "a.yaml"}, "apply -f examples/a.yaml"},
		{[]string{topology, "a.yaml"}, []string{topology, "a.yaml", "b.yaml"}, "apply -f examples/b.yaml"},
		{[]string{topology, "a.yaml"}, []string{topology, "b.yaml"}, "delete -f examples/a.yaml; apply -f examples/b.yaml"},
		{[]string{topology, "hep1.yaml"}, []string{topology, "hep2.yaml"}, "apply -f examples/hep2.yaml"},
		{[]string{topology, "pods.yaml"}, []string{topology, "a.yaml"}, "reset; apply -f examples/a.yaml"},
		{[]string{topology}, []string{topology, "seed004/80-busybox/20-pod-labels.yaml"},
			"label pods busybox1 test=in; label pods busybox2 test=out"},
	} {
		if got := show(planStep(tc.prev, tc.cur, kf, base, false)); got != tc.want {
			t.Errorf("planStep(%v, %v) = %q, want %q", tc.prev, tc.cur, got, tc.want)
		}
	}
}

// TestSeedCommandFilesExist keeps the seed commands pointing at example
// files that the steps use.
func TestSeedCommandFilesExist(t *testing.T) {
	used := map[string]bool{}
	for _, sc := range Scenarios() {
		for _, st := range sc.steps() {
			for _, f := range st.files {
				used[f] = true
			}
		}
	}
	for f, cmds := range seedCommands {
		if !used[f] {
			t.Errorf("seedCommands[%s]: no step uses that file", f)
		}
		for _, c := range cmds {
			for _, a := range c.args {
				if rest, ok := strings.CutPrefix(a, "examples/"); ok {
					if _, err := fs.Stat(examples.FS, rest); err != nil {
						t.Errorf("seedCommands[%s]: %v", f, err)
					}
				}
			}
		}
	}
}

func TestAcceptEndpointToHost(t *testing.T) {
	out, err := acceptEndpointToHost("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec: {}\n")
	if err != nil || !strings.Contains(out, "defaultEndpointToHostAction: Accept") || !strings.Contains(out, "name: default") {
		t.Errorf("got %q, %v", out, err)
	}
}

func TestMappingNotes(t *testing.T) {
	notes := mappingNotes("seed002/40-prednat-policies.yaml")
	if len(notes) != 1 || !strings.Contains(notes[0], "10.0.0.0/8") || !strings.Contains(notes[0], "198.19.15.252/31") {
		t.Errorf("notes = %q", notes)
	}
}

func TestSelectScenarios(t *testing.T) {
	sel, err := selectScenarios([]string{"seed004/icmp", "seed001"})
	if err != nil || len(sel) != 2 || sel[0].sc.Name != "seed001" || sel[1].sc.Name != "seed004" ||
		!slices.Equal(sel[1].prefixes, []string{"icmp"}) || sel[0].prefixes != nil {
		t.Errorf("selectScenarios = %+v, %v", sel, err)
	}
	if _, err := selectScenarios([]string{"seed9"}); err == nil {
		t.Error("an unknown scenario was accepted")
	}
	if all, _ := selectScenarios(nil); len(all) != 5 {
		t.Errorf("%d scenarios, want 5", len(all))
	}
}

func TestQuoteArgs(t *testing.T) {
	c := pal("patch", "kcc", "default", "--patch="+autoHEPPatch)
	want := `palisade patch kcc default --patch='` + autoHEPPatch + `'`
	if c.String() != want {
		t.Errorf("%s\nwant %s", c, want)
	}
}

func TestExecTarget(t *testing.T) {
	topo, err := LoadTopology()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"yaobank/customer": PodNS("yaobank", "customer"), "node:control": NodeNS("control"),
		"node1": NodeNS("node1"), "host1": NodeNS("host1"),
	} {
		if got, err := ExecTarget(topo, in); err != nil || got != want {
			t.Errorf("ExecTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"yaobank/nobody", "node9"} {
		if _, err := ExecTarget(topo, bad); err == nil {
			t.Errorf("ExecTarget(%q): no error", bad)
		}
	}
}

// TestResponderHTTP: a connection that opens with an HTTP request gets a
// page; anything else is echoed (the probes' one-byte exchange).
func TestResponderHTTP(t *testing.T) {
	for _, tc := range []struct{ send, want string }{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.0 200 OK"},
		{"x", "x"},
	} {
		a, b := net.Pipe()
		go echo(a)
		go func() { _, _ = b.Write([]byte(tc.send)) }()
		buf := make([]byte, 256)
		_ = b.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := b.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), tc.want) {
			t.Errorf("sent %q: got %q, %v; want %q first", tc.send, buf[:n], err, tc.want)
		}
		b.Close()
	}
}
