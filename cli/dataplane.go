package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/agent"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/spf13/cobra"
)

func init() { register(newDataplaneCmd) }

type dataplaneOpts struct {
	files     []string
	recursive bool
	node      string
	output    string
	rules     string
	flowOpts
	ds datastoreOpts
}

func newDataplaneCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "dataplane",
		Short: "Show or trace the nftables ruleset palisade renders for a node, or read its counters",
		Long: "dataplane works on the nftables ruleset (table inet palisade) that palisade renders for one\n" +
			"node: show and trace render it offline from manifests (-f) or, without -f, from the datastore,\n" +
			"and touch no kernel; counters reads the packet counts of the ruleset in force on this machine.",
		Args: cobra.NoArgs,
	}
	c.AddCommand(newDataplaneShow(s), newDataplaneTrace(s), newDataplaneCounters(s))
	return c
}

func newDataplaneShow(s *streams) *cobra.Command {
	o := &dataplaneOpts{}
	c := &cobra.Command{
		Use:     "show -f FILENAME --node NAME",
		Short:   "Print a node's nftables ruleset in nft syntax",
		Long:    "show prints the table inet palisade that palisade renders for the node, in the syntax nft -f reads.\nWith -o stats it prints only the number of chains, rules, sets, maps and elements.",
		Example: "  palisade dataplane show -f examples/topology -f examples/seed000 --node control",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataplaneShow(s, o)
		},
	}
	addFileFlags(c, &o.files, &o.recursive)
	c.Flags().StringVar(&o.node, "node", "", "the node whose ruleset to render")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text (nft syntax) or stats")
	addRulesFlag(c, &o.rules)
	addDatastoreFlags(c, &o.ds)
	return c
}

func runDataplaneShow(s *streams, o *dataplaneOpts) error {
	if o.node == "" {
		return fmt.Errorf("dataplane show needs --node")
	}
	if o.output != "text" && o.output != "stats" {
		return fmt.Errorf("unrecognized output format '%s' (want text or stats)", o.output)
	}
	if err := validRules(o.rules); err != nil {
		return err
	}
	m, err := buildModelFrom(s, o.files, o.recursive, &o.ds)
	if err != nil {
		return err
	}
	rs, err := renderNode(m, o.node, o.rules)
	if err != nil {
		return err
	}
	if o.output == "stats" {
		st := rs.Stats()
		fmt.Fprintf(s.out, "chains %d (base %d)\nrules %d\nsets %d (elements %d)\nmaps %d (elements %d)\n",
			st.Chains, st.BaseChains, st.Rules, st.Sets, st.SetElements, st.Maps, st.MapElements)
		return nil
	}
	writeInterfaceReport(s.out, m.Nodes[o.node])
	_, err = io.WriteString(s.out, rs.Text())
	return err
}

// addRulesFlag adds --rules, the form of the policy rules as the agent's
// flag of that name chooses it.
func addRulesFlag(c *cobra.Command, rules *string) {
	c.Flags().StringVar(rules, "rules", agent.RulesCompiled,
		"the form of each endpoint's policy, as palisade agent --rules: compiled (identity and verdict\n"+
			"map lookups, what the agent programs by default) or linear (one nft rule per policy rule)")
}

func validRules(r string) error {
	if err := agent.ValidRules(r); err != nil {
		return fmt.Errorf("--rules: %w", err)
	}
	return nil
}

// renderNode renders the node's ruleset in the form the agent would
// program with --rules.
func renderNode(m *policy.Model, node, rules string) (*render.Ruleset, error) {
	rs, err := render.Node(m, node)
	if err != nil || rules == agent.RulesLinear {
		return rs, err
	}
	return render.Compile(rs), nil
}

// writeInterfaceReport prints, as nft comments, what the node's agent
// reported of its workload interfaces where they depart from the naming
// convention.
func writeInterfaceReport(w io.Writer, n *policy.Node) {
	if n == nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(n.Bound)) {
		fmt.Fprintf(w, "# workload %s: bound by route lookup to interface %s\n", k, n.Bound[k])
	}
	for _, ifc := range n.Unbound {
		fmt.Fprintf(w, "# interface %s: no workload endpoint (its traffic is dropped)\n", ifc)
	}
	for _, k := range n.Missing {
		fmt.Fprintf(w, "# workload %s: no interface on the node\n", k)
	}
}

func newDataplaneTrace(s *streams) *cobra.Command {
	o := &dataplaneOpts{}
	c := &cobra.Command{
		Use:   "trace -f FILENAME --node NAME --from SRC --to DST --port PORT/PROTO",
		Short: "Trace a flow's packets through a node's nftables ruleset",
		Long: "trace walks the flow's first packet, and then its reply, through the ruleset rendered for the\n" +
			"node (the base chains of each hook in priority order, jumps, verdict maps and set lookups) and\n" +
			"names every rule that matched. SRC, DST and PORT/PROTO are as for explain; the flow must start\n" +
			"or end on the node. The reference evaluator's verdict for the whole path is printed beside it.",
		Example: "  palisade dataplane trace -f examples/topology -f examples/seed000 --node control --from 198.19.15.254 --to node:control --port 21/TCP",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataplaneTrace(s, o)
		},
	}
	addFileFlags(c, &o.files, &o.recursive)
	c.Flags().StringVar(&o.node, "node", "", "the node whose ruleset to trace through")
	addRulesFlag(c, &o.rules)
	addFlowFlags(c, &o.flowOpts)
	addDatastoreFlags(c, &o.ds)
	return c
}

func runDataplaneTrace(s *streams, o *dataplaneOpts) error {
	if o.node == "" || !o.complete() {
		return fmt.Errorf("dataplane trace needs --node, --from, --to and --port")
	}
	if err := validRules(o.rules); err != nil {
		return err
	}
	m, err := buildModelFrom(s, o.files, o.recursive, &o.ds)
	if err != nil {
		return err
	}
	f, err := o.flow(m)
	if err != nil {
		return err
	}
	rs, err := renderNode(m, o.node, o.rules)
	if err != nil {
		return err
	}
	hops, err := render.FlowHops(m, o.node, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "Flow:  %s -> %s %s at node %s\n", f.Src, f.Dst, o.port, o.node)
	if v, err := m.Evaluate(f); err == nil {
		fmt.Fprintf(s.out, "Evaluator (whole path): %s\n", strings.ToUpper(string(v.Verdict)))
	}
	st := render.CtNew
	if f.Established {
		st = render.CtEstablished
	}
	for _, h := range hops {
		printHopTrace(s.out, rs, h, st)
	}
	return nil
}

// printHopTrace traces the request and, if it gets through, the reply.
func printHopTrace(w io.Writer, rs *render.Ruleset, h render.Hop, st string) {
	fmt.Fprintln(w)
	if h.Via != "" {
		fmt.Fprintf(w, "Via %s\n", h.Via)
	}
	if h.NoBackend {
		fmt.Fprintln(w, "Ruleset: DROP (kube-proxy has no backend for the NodePort here)")
		return
	}
	fmt.Fprintf(w, "Request: %s\n", describeHop(h))
	req := rs.TraceHop(h, st, false)
	printTraces(w, req.Traces)
	if !req.Allowed {
		fmt.Fprintln(w, "Ruleset: DROP (request)")
		return
	}
	reply := h.Reply()
	rst := render.ReplyState(h, req.Untracked)
	fmt.Fprintf(w, "Reply (ct %s): %s\n", rst, describeHop(reply))
	rep := rs.TraceHop(reply, rst, h.DNAT)
	printTraces(w, rep.Traces)
	if !rep.Allowed {
		fmt.Fprintln(w, "Ruleset: DROP (reply)")
		return
	}
	fmt.Fprintln(w, "Ruleset: ACCEPT")
}

func describeHop(h render.Hop) string {
	in, out := "from a local process", "to a local process"
	if h.In != "" {
		in = "in " + h.In
	}
	if h.Out != "" {
		out = "out " + h.Out
	}
	p := h.Pre
	desc := fmt.Sprintf("%s, %s: %s -> %s proto %s", in, out, p.Src, p.Dst, policy.ProtoName(p.Proto))
	switch p.Proto {
	case 1, 58:
		desc += fmt.Sprintf(" type %d code %d", p.ICMPType, p.ICMPCode)
	default:
		desc += fmt.Sprintf(" ports %d -> %d", p.Sport, p.Dport)
	}
	if h.DNAT {
		desc += fmt.Sprintf(" (DNAT to %s:%d)", h.Post.Dst, h.Post.Dport)
	}
	return desc
}

func printTraces(w io.Writer, ts []render.TraceResult) {
	for _, t := range ts {
		for _, hit := range t.Hits {
			fmt.Fprintf(w, "  %-11s %s[%d]: %s\n", hit.Hook, hit.Chain, hit.Index, hit.Rule)
		}
		for _, hr := range t.Hooks {
			fmt.Fprintf(w, "  => hook %s: %s", hr.Hook, strings.ToUpper(hr.Verdict))
			if hr.Chain != "" {
				fmt.Fprintf(w, " in %s", hr.Chain)
			}
			fmt.Fprintln(w)
		}
		if t.Err != nil {
			fmt.Fprintf(w, "  error: %v\n", t.Err)
		}
	}
}
