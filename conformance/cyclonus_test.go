package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattfenwick/cyclonus/pkg/connectivity/probe"
	"github.com/mattfenwick/cyclonus/pkg/generator"
	"github.com/mattfenwick/cyclonus/pkg/matcher"
	"github.com/palisade-net/palisade/policy"
	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// cliDefaultExcludedTags is `cyclonus generate`'s default --exclude
// (pkg/cli/generate.go, DefaultExcludeTags). The suite runs every case
// anyway; the list only feeds the log line that says how many of them a
// default cyclonus run would have covered.
var cliDefaultExcludedTags = []string{
	generator.TagMultiPeer,
	generator.TagUpstreamE2E,
	generator.TagExample,
	generator.TagEndPort,
	generator.TagNamespacesByDefaultLabel,
}

// allCases is every test case the generator makes for the default model:
// DNS egress allowed (the CLI default), namespaces x, y, z, ipBlocks built
// from z/c's address, and no tag included or excluded.
func allCases() []*generator.TestCase {
	return generator.NewTestCaseGenerator(true, zcAddr, modelNamespaces, nil, nil).GenerateTestCases()
}

type totals struct {
	steps, flows, denied, namedPortFlows, invalidProbes, disagreements atomic.Int64
	// deviationFlows are skipped as cyclonus deviations; of them,
	// notKubernetes get a palisade verdict other than the documented one.
	deviationFlows, notKubernetes atomic.Int64
}

// deviationsSeen records which deviations some flow still hits.
type deviationsSeen struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (d *deviationsSeen) mark(name string) {
	d.mu.Lock()
	d.seen[name] = true
	d.mu.Unlock()
}

// TestCyclonus replays every generated cyclonus test case, step by step,
// and requires palisade's verdict to equal cyclonus's expected one on every
// probe cyclonus would run after each step.
func TestCyclonus(t *testing.T) {
	// The matcher logs at debug level while combining port matchers.
	logrus.SetLevel(logrus.WarnLevel)

	cases := allCases()
	if len(cases) == 0 {
		t.Fatal("the cyclonus generator produced no test cases")
	}
	cliDefault := 0
	for _, tc := range cases {
		if !tc.Tags.ContainsAny(cliDefaultExcludedTags) {
			cliDefault++
		}
	}

	start := time.Now()
	var tot totals
	seen := &deviationsSeen{seen: map[string]bool{}}
	t.Run("case", func(t *testing.T) {
		for i, tc := range cases {
			num := i + 1
			t.Run(fmt.Sprintf("%03d", num), func(t *testing.T) {
				t.Parallel()
				runCase(t, num, tc, &tot, seen)
			})
		}
	})

	for _, d := range cyclonusDeviations {
		if !seen.seen[d.Name] {
			t.Errorf("stale deviation %q: no generated flow hits it any more; remove it from cyclonusDeviations", d.Name)
		}
	}
	t.Logf("cyclonus v0.5.6: %d test cases (%d of them in `cyclonus generate`'s default selection), %d steps, "+
		"%d flows judged by both (%d denied by palisade, %d probed by port name), %d probes cyclonus itself marks invalid; "+
		"%d flows compared, %d skipped as known cyclonus deviations (palisade contradicts the Kubernetes documentation on %d of them), "+
		"%d disagreements; %v",
		len(cases), cliDefault, tot.steps.Load(), tot.flows.Load(), tot.denied.Load(), tot.namedPortFlows.Load(),
		tot.invalidProbes.Load(), tot.flows.Load()-tot.deviationFlows.Load(), tot.deviationFlows.Load(),
		tot.notKubernetes.Load(), tot.disagreements.Load(), time.Since(start).Round(time.Millisecond))
}

func runCase(t *testing.T, num int, tc *generator.TestCase, tot *totals, seen *deviationsSeen) {
	c := newCluster()
	for si, step := range tc.Steps {
		for _, a := range step.Actions {
			if err := c.apply(a); err != nil {
				t.Fatalf("test #%d %q step %d: %v", num, tc.Description, si+1, err)
			}
		}
		tot.steps.Add(1)
		checkStep(t, num, tc, si, c, tot, seen)
	}
}

// checkStep judges every probe of one step both ways.
func checkStep(t *testing.T, num int, tc *generator.TestCase, si int, c *cluster, tot *totals, seen *deviationsSeen) {
	step := tc.Steps[si]
	where := fmt.Sprintf("test #%d %q [tags %s] step %d (%s)", num, tc.Description,
		strings.Join(tc.Tags.Keys(), ","), si+1, strings.Join(describeActions(step.Actions), "; "))

	m, err := policy.NewModel(c.objects())
	if err != nil {
		t.Fatalf("%s: palisade rejects the cluster: %v", where, err)
	}
	// This is what cyclonus's Interpreter.runProbe does to get the truth
	// table it expects a cluster to show.
	expected := matcher.BuildNetworkPolicies(true, c.policies)
	jobs := (&probe.JobBuilder{TimeoutSeconds: 1}).GetJobsForProbeConfig(c.res, step.Probe)
	// Probes of a port the destination does not serve are never sent; the
	// matcher has no verdict for them either.
	tot.invalidProbes.Add(int64(len(jobs.BadNamedPort) + len(jobs.BadPortProtocol)))

	named := step.Probe.PortProtocol != nil && step.Probe.PortProtocol.Port.Type == intstr.String
	skipped := map[string][]string{} // deviation name -> flows
	for _, job := range jobs.Valid {
		want := expected.IsTrafficAllowed(job.Traffic())
		port := fmt.Sprintf("%d/%s", job.ResolvedPort, job.Protocol)
		src, err := m.ResolvePeer(job.FromKey)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		dst, err := m.ResolvePeer(job.ToKey)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		f, err := policy.NewFlow(src, dst, port)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		got, err := m.Allowed(f)
		if err != nil {
			t.Fatalf("%s: %s -> %s %s: %v", where, job.FromKey, job.ToKey, port, err)
		}
		tot.flows.Add(1)
		if !got {
			tot.denied.Add(1)
		}
		if named {
			tot.namedPortFlows.Add(1)
		}

		cyclonusAllows := want.IsAllowed()
		if d := deviationFor(job, cyclonusAllows); d != nil {
			seen.mark(d.Name)
			tot.deviationFlows.Add(1)
			line := fmt.Sprintf("%s -> %s %s (cyclonus %s, palisade %s)", job.FromKey, job.ToKey, port,
				verdictWord(cyclonusAllows), verdictWord(got))
			skipped[d.Name] = append(skipped[d.Name], line)
			if got != d.Kubernetes {
				tot.notKubernetes.Add(1)
				if requireKubernetesOnDeviations {
					t.Errorf("deviation %q: the Kubernetes documentation requires %s, palisade says %s\n%s", d.Name,
						verdictWord(d.Kubernetes), verdictWord(got), mismatchReport(where, m, f, job, port, want, got))
				}
			}
			continue
		}
		if got == cyclonusAllows {
			continue
		}
		tot.disagreements.Add(1)
		t.Errorf("%s", mismatchReport(where, m, f, job, port, want, got))
	}
	for _, d := range cyclonusDeviations {
		if lines := skipped[d.Name]; len(lines) > 0 {
			t.Logf("%s: skipped %d flows, known cyclonus deviation %q (Kubernetes: %s): %s",
				where, len(lines), d.Name, verdictWord(d.Kubernetes), strings.Join(lines, ", "))
		}
	}
}

// deviationFor returns the cyclonus deviation a flow falls under, if any.
func deviationFor(job *probe.Job, cyclonusAllows bool) *deviation {
	for i := range cyclonusDeviations {
		if cyclonusDeviations[i].Applies(job, cyclonusAllows) {
			return &cyclonusDeviations[i]
		}
	}
	return nil
}

func verdictWord(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// mismatchReport says everything needed to judge a disagreement: the
// case, step and flow, cyclonus's verdict with the targets behind it, and
// palisade's explanation.
func mismatchReport(where string, m *policy.Model, f policy.Flow, job *probe.Job, port string, want *matcher.AllowedResult, got bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n  flow %s (%s) -> %s (%s) %s", where, job.FromKey, job.FromIP, job.ToKey, job.ToIP, port)
	if job.ResolvedPortName != "" {
		fmt.Fprintf(&b, " (destination port name %s)", job.ResolvedPortName)
	}
	fmt.Fprintf(&b, "\n  cyclonus: %s (ingress %s, egress %s)\n%s", verdictWord(want.IsAllowed()),
		verdictWord(want.Ingress.IsAllowed()), verdictWord(want.Egress.IsAllowed()), indent(want.Table()))
	fmt.Fprintf(&b, "  palisade: %s\n", verdictWord(got))
	v, err := m.Evaluate(f)
	if err != nil {
		fmt.Fprintf(&b, "  palisade's explanation failed: %v\n", err)
		return b.String()
	}
	js, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		fmt.Fprintf(&b, "  palisade's explanation does not marshal: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "  %s\n", js)
	return b.String()
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
