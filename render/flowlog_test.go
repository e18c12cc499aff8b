package render

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
)

// modelWith is loadExample plus extra documents.
func modelWith(t *testing.T, extra string, entries ...string) *policy.Model {
	t.Helper()
	var objs []api.Object
	add := func(name string, data []byte) {
		docs, errs := api.Decode(name, data)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs)
		}
		for _, d := range docs {
			objs = append(objs, d.Object)
		}
	}
	for _, e := range entries {
		for _, f := range exampleFiles(t, e) {
			data, err := fs.ReadFile(examples.FS, f)
			if err != nil {
				t.Fatal(err)
			}
			add(f, data)
		}
	}
	add("extra", []byte(extra))
	m, err := policy.NewModel(objs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func felixFlowLogs(mode string) string {
	return "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: node.node1}\n" +
		"spec: {flowLogs: " + mode + ", flowLogsRateLimit: 50}\n"
}

// TestFlowLogRules checks, for each mode, that exactly the rules deciding
// Deny (Denied) or Deny and Allow (All) for a policy rule, profile rule,
// end of tier or endpoint default are preceded by their flow log twin
// (same matches, the decision's counter in the prefix, the node's limit),
// and that nft accepts the result.
func TestFlowLogRules(t *testing.T) {
	for _, mode := range []string{"Disabled", "Denied", "All"} {
		t.Run(mode, func(t *testing.T) {
			m := modelWith(t, felixFlowLogs(mode), "topology", "seed004/90-staging", "seed000")
			rs, err := Node(m, "node1")
			if err != nil {
				t.Fatal(err)
			}
			if (rs.FlowLog != nil) != (mode != "Disabled") {
				t.Fatalf("FlowLog = %+v in mode %s", rs.FlowLog, mode)
			}
			if rs.FlowLog != nil && (rs.FlowLog.Rate != 50 || rs.FlowLog.Burst != policy.DefaultFlowLogBurst) {
				t.Errorf("limit %+v, want rate 50 and the default burst", rs.FlowLog)
			}
			logged := map[string]int{}
			for _, c := range rs.Chains {
				for i, r := range c.Rules {
					name := counterOf(r)
					if name == "" {
						continue
					}
					key := rs.Counter(name).Key
					want := key.Action == "Deny" && mode != "Disabled" || key.Action == "Allow" && mode == "All"
					want = want && key.Kind != CountFailsafe && key.Kind != CountForward
					var prev *Rule
					if i > 0 {
						prev = &c.Rules[i-1]
					}
					got := prev != nil && isFlowLog(*prev)
					if got != want {
						t.Fatalf("%s rule %d (%s): flow log twin %v, want %v", c.Name, i, key.Comment(), got, want)
					}
					if !got {
						continue
					}
					wantLog := StmtLog{Prefix: FlowLogPrefix + name, Group: FlowLogGroup, Limit: FlowLogLimitName}
					if !reflect.DeepEqual(prev.Matches, r.Matches) || !reflect.DeepEqual(prev.Statements, []Statement{wantLog}) || prev.Verdict.Kind != VerdictNone {
						t.Fatalf("%s rule %d: twin %s does not match %s", c.Name, i, prev.String(), r.String())
					}
					logged[key.Action]++
				}
			}
			switch {
			case mode == "Denied" && (logged["Deny"] == 0 || logged["Allow"] != 0),
				mode == "All" && (logged["Deny"] == 0 || logged["Allow"] == 0):
				t.Errorf("mode %s logged %v", mode, logged)
			}
			nftCheck(t, rs.Text())
		})
	}
}

func counterOf(r Rule) string {
	for _, s := range r.Statements {
		if c, ok := s.(StmtCounter); ok {
			return c.Name
		}
	}
	return ""
}

func isFlowLog(r Rule) bool {
	for _, s := range r.Statements {
		if l, ok := s.(StmtLog); ok && l.Group != 0 {
			return true
		}
	}
	return false
}

// nftCheck runs nft -c on text in a scratch namespace (skipped without nft
// outside CI).
func nftCheck(t *testing.T, text string) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no nft in CI: %v", err)
		}
		t.Skipf("no nft: %v", err)
	}
	ns, err := netlab.ForTest(t, "pal-render").NewNS("fl")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "rs.nft")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", ns.Name, "nft", "-c", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("nft -c: %v\n%s", err, out)
	}
}
