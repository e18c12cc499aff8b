package lab

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
)

// printTable prints a step's flows: what was expected, what the kernel
// did and what explain says.
func (l *Lab) printTable(res []FlowResult) {
	tw := tabwriter.NewWriter(l.out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  FLOW\tWANT\tKERNEL\tEXPLAIN\t")
	for _, r := range res {
		mark, want := "ok", r.Want
		if r.Extra {
			want = "-"
		}
		switch {
		case !r.Agree():
			mark = "FAIL: kernel and explain disagree"
		case !r.OK():
			mark = "FAIL: not the expected verdict"
		case r.Extra:
			mark = "ok (extra flow: they agree)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s (%s)\t%s\t%s\n", r, want, r.Kernel, r.Detail, r.Explain, mark)
	}
	tw.Flush()
}

// printFailures prints, for every flow that failed, the reason for the
// expectation, what explain says and the rulesets of the nodes it crosses.
func (l *Lab) printFailures(ctx context.Context, res []FlowResult) {
	for _, r := range res {
		if r.OK() {
			if l.cfg.Verbose {
				l.printf("$ palisade explain --from %s --to %s --port %s\n", r.From, r.To, r.Port)
				l.printIndented(r.explainText)
			}
			continue
		}
		l.printf("\n!! %s / %s: flow %s: want %s, kernel %s (%s), explain %s\n",
			r.Scenario, r.Step, r, r.Want, r.Kernel, r.Detail, r.Explain)
		if r.Why != "" {
			l.printf("   expected because: %s\n", r.Why)
		}
		if r.ExplainErr != "" {
			l.printf("   explain failed: %s\n", r.ExplainErr)
		}
		l.printf("$ palisade explain --from %s --to %s --port %s\n", r.From, r.To, r.Port)
		l.printIndented(r.explainText)
		for _, node := range r.Nodes {
			l.printf("$ ip netns exec %s nft list ruleset\n", NodeNS(node))
			out, err := l.nss[NodeNS(node)].Run(ctx, nil, "nft", "list", "ruleset")
			if err != nil {
				l.printf("  (%v)\n", err)
			}
			l.printIndented(string(out))
		}
	}
}

// printSummary prints the totals, every disagreement and every problem.
func (l *Lab) printSummary(s *Summary) {
	failed, dis := s.Failed(), s.Disagreements()
	l.printf("\n==== summary: %d scenario(s), %d step(s), %d flow(s): %d as expected, %d not; "+
		"kernel and explain disagree on %d; %d other problem(s); %.1fs\n",
		s.Scenarios, s.Steps, len(s.Flows), len(s.Flows)-len(failed), len(failed), len(dis), len(s.Problems), s.Took.Seconds())
	for _, r := range failed {
		l.printf("  FAIL %s / %s: %s: want %s, kernel %s (%s), explain %s\n",
			r.Scenario, r.Step, r, r.Want, r.Kernel, r.Detail, r.Explain)
	}
	for _, p := range s.Problems {
		l.printf("  PROBLEM %s\n", strings.TrimSpace(p))
	}
	if s.OK() {
		l.printf("every expectation held\n")
	}
}

// PrintTopology prints the lab's machines: name, address, namespace, what
// runs there and how many pods.
func (l *Lab) PrintTopology() {
	tw := tabwriter.NewWriter(l.out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  MACHINE\tADDRESS\tNAMESPACE\tRUNS\tPODS")
	for _, n := range l.topo.Nodes {
		pods := 0
		for _, p := range l.topo.Pods {
			if p.Node == n.Name {
				pods++
			}
		}
		runs := l.cfg.Enforcer
		if n.Name == l.controlNode().Name {
			runs = "server (datastore), " + runs
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d in %s\n", n.Name, n.IP, NodeNS(n.Name), runs, pods, n.PodCIDR)
	}
	for _, h := range l.topo.Hosts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t-\n", h.Name, h.IP, NodeNS(h.Name), "outside the cluster")
	}
	tw.Flush()
}
