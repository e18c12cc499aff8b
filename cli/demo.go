package cli

import (
	"fmt"
	"strings"

	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/policy"
	"github.com/spf13/cobra"
)

// demoStep is one step of a seed walkthrough: the manifests in force and
// the flows to explain.
type demoStep struct {
	title string
	files []string
	flows [][3]string // from, to, PORT/PROTO
}

var demoTour = []demoStep{
	{"seed 000: before any policy, host1 reaches FTP on control",
		[]string{"topology"},
		[][3]string{{"198.19.15.254", "node:control", "21/TCP"}}},
	{"seed 000: default-node-policy and automatic host endpoints; failsafes keep 22, 2379, 6443 open",
		[]string{"topology", "seed000/10-default-node-policy.yaml", "seed000/20-kubecontrollersconfiguration.yaml"},
		[][3]string{{"198.19.15.254", "node:control", "21/TCP"}, {"198.19.15.254", "node:control", "22/TCP"},
			{"198.19.15.254", "node:control", "2379/TCP"}, {"198.19.15.254", "node:control", "6443/TCP"}}},
	{"seed 000: nodeport-policy denies 30000-32767",
		[]string{"topology", "seed000/10-default-node-policy.yaml", "seed000/20-kubecontrollersconfiguration.yaml", "seed000/30-nodeport-policy-deny.yaml"},
		[][3]string{{"198.19.15.254", "198.19.0.1", "30180/TCP"}}},
	{"seed 000: nodeport-policy allows host1 only",
		[]string{"topology", "seed000"},
		[][3]string{{"198.19.15.254", "198.19.0.1", "30180/TCP"}, {"198.19.15.253", "198.19.0.1", "30180/TCP"}}},
	{"seed 003: a pod to its own node, DefaultEndpointToHostAction Drop, then Accept",
		[]string{"topology"},
		[][3]string{{"yaobank/customer", "node:node1", "10250/TCP"}}},
	{"seed 003: after defaultEndpointToHostAction: Accept",
		[]string{"topology", "seed003/30-felixconfiguration.yaml"},
		[][3]string{{"yaobank/customer", "node:node1", "10250/TCP"}}},
	{"seed 004: staging truth table",
		[]string{"topology", "seed004/90-staging"},
		[][3]string{{"staging/frontend", "staging/backend", "80/TCP"}, {"staging/curl", "staging/backend", "80/TCP"},
			{"admin/curl", "staging/backend", "80/TCP"}, {"staging/backend", "staging/db", "5432/TCP"}}},
}

func newDemo(s *streams) *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Walk through the seed examples built into the binary with explain and matrix",
		Long: "demo needs no files: it uses the seed examples embedded in the binary (the same as\n" +
			"examples/ in the source tree). For each walkthrough step it prints the verdict and the\n" +
			"deciding stage of a few flows, then the connectivity matrix of the staging example.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(s, verbose) },
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every stage of every flow, as explain does")
	return c
}

func runDemo(s *streams, verbose bool) error {
	for _, st := range demoTour {
		m, err := demoModel(st.files)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "== %s\n   manifests: %s\n", st.title, strings.Join(st.files, ", "))
		for _, fl := range st.flows {
			f, err := flowFor(m, fl[0], fl[1], fl[2])
			if err != nil {
				return err
			}
			v, err := m.Evaluate(f)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "   %-5s %s -> %s %s: %s\n", strings.ToUpper(string(v.Verdict)), fl[0], fl[1], fl[2], deciding(v))
			if verbose {
				printVerdict(s.out, v)
			}
		}
		fmt.Fprintln(s.out)
	}
	m, err := demoModel([]string{"topology", "seed004/90-staging"})
	if err != nil {
		return err
	}
	var pods []policy.Peer
	for _, p := range m.Pods() {
		if ns := p.Workload.Namespace; ns == "staging" || ns == "admin" {
			pods = append(pods, p)
		}
	}
	ports := []string{"80/TCP", "5432/TCP"}
	cells := matrixCells(pods, nil, ports)
	judgeAll(m, cells, false)
	fmt.Fprintln(s.out, "== seed 004: matrix of the staging and admin pods (palisade matrix)")
	printGrids(s.out, pods, nil, ports, cells)
	return nil
}

func demoModel(paths []string) (*policy.Model, error) {
	docs, errs := loadFS(examples.FS, paths)
	if len(errs) > 0 {
		return nil, fmt.Errorf("embedded examples: %w", errs[0])
	}
	return policy.NewModel(objects(docs))
}

// deciding names the step that decided a verdict: the first deny, or the
// last stage that allowed.
func deciding(v *policy.Verdict) string {
	var last *policy.Step
	for _, p := range v.Paths {
		for i := range p.Request {
			st := &p.Request[i]
			if st.Result == policy.ResultDeny {
				return where(st)
			}
			if st.Result == policy.ResultAllow {
				last = st
			}
		}
	}
	if last == nil {
		return "nothing polices this flow"
	}
	return where(last)
}

func where(st *policy.Step) string {
	s := st.Node + " " + st.Stage
	if st.Endpoint != "" {
		s += ", " + st.Endpoint
	}
	return s + ": " + st.Reason
}
