package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/spf13/cobra"
)

type explainOpts struct {
	files     []string
	recursive bool
	flowOpts
	output      string
	staged      bool
	verdictOnly bool
	ds          datastoreOpts
}

// flowOpts are the flags that name one flow (explain, dataplane trace).
type flowOpts struct {
	from, to    string
	port        string
	established bool
	ipv6        bool
}

func addFlowFlags(c *cobra.Command, o *flowOpts) {
	c.Flags().StringVar(&o.from, "from", "", "source: NAMESPACE/POD, node:NAME or an IP address")
	c.Flags().StringVar(&o.to, "to", "", "destination: NAMESPACE/POD, node:NAME or an IP address")
	c.Flags().StringVar(&o.port, "port", "", "destination PORT/PROTO (TCP, UDP, SCTP, ICMP, ICMPv6)")
	c.Flags().BoolVar(&o.established, "established", false, "judge a packet of an already established connection")
	c.Flags().BoolVar(&o.ipv6, "ipv6", false, "use IPv6 addresses where peers have both families")
}

func (o *flowOpts) complete() bool { return o.from != "" && o.to != "" && o.port != "" }

// flow resolves the flags against a model.
func (o *flowOpts) flow(m *policy.Model) (policy.Flow, error) {
	f, err := flowFor(m, o.from, o.to, o.port)
	if err != nil {
		return f, err
	}
	f.Established = o.established
	if o.ipv6 {
		f.Family = 6
	}
	return f, nil
}

func newExplain(s *streams) *cobra.Command {
	o := &explainOpts{}
	c := &cobra.Command{
		Use:   "explain -f FILENAME --from SRC --to DST --port PORT/PROTO",
		Short: "Explain why a flow is allowed or denied",
		Long: "explain evaluates one flow with the reference evaluator and prints the verdict and\n" +
			"every stage evaluated (node, stage, endpoint, tier, policy, rule and action).\n\n" +
			"SRC and DST are NAMESPACE/POD, node:NAME (that node's own processes) or an IP address\n" +
			"(outside the cluster, or a node's or pod's address). PORT/PROTO is e.g. 80/TCP, 53/UDP,\n" +
			"132/SCTP, or 8/ICMP for an echo request (any ICMP type number; 0 also means echo).",
		Example: "  palisade explain -f examples/topology -f examples/seed000 --from 198.19.15.254 --to node:control --port 21/TCP",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExplain(s, o)
		},
	}
	addFileFlags(c, &o.files, &o.recursive)
	addFlowFlags(c, &o.flowOpts)
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	c.Flags().BoolVar(&o.staged, "staged", false, "also explain the flow as if the staged policies were enforced")
	c.Flags().BoolVar(&o.verdictOnly, "verdict-only", false, "print only allow or deny, and exit 0 when allowed, 1 when denied (for scripts)")
	addDatastoreFlags(c, &o.ds)
	return c
}

func runExplain(s *streams, o *explainOpts) error {
	if !o.complete() {
		return fmt.Errorf("explain needs --from, --to and --port")
	}
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("unrecognized output format '%s' (want text or json)", o.output)
	}
	m, docs, err := buildModelDocs(s, o.files, o.recursive, &o.ds)
	if err != nil {
		return err
	}
	v, err := o.evaluate(m)
	if err != nil {
		return err
	}
	if o.verdictOnly {
		fmt.Fprintln(s.out, v.Verdict)
		if !v.Allowed() {
			return &exitError{code: 1}
		}
		return nil
	}
	var vs *policy.Verdict
	if o.staged {
		ms, err := stagedModel(docs)
		if err != nil {
			return err
		}
		if vs, err = o.evaluate(ms); err != nil {
			return fmt.Errorf("with the staged policies: %w", err)
		}
	}
	if o.output == "json" {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if vs != nil {
			return enc.Encode(struct {
				*policy.Verdict
				Staged *policy.Verdict `json:"staged"`
			}{v, vs})
		}
		return enc.Encode(v)
	}
	printVerdict(s.out, v)
	if vs != nil {
		change := "unchanged"
		if vs.Verdict != v.Verdict {
			change = "changed"
		}
		fmt.Fprintf(s.out, "\nWith the staged policies enforced (%s):\n", change)
		printVerdict(s.out, vs)
	}
	return nil
}

// evaluate judges the flow of the flags in a model.
func (o *explainOpts) evaluate(m *policy.Model) (*policy.Verdict, error) {
	f, err := o.flow(m)
	if err != nil {
		return nil, err
	}
	return m.Evaluate(f)
}

// buildModelFrom loads manifests, or without -f every object in the live
// datastore chosen by ds (flags), and builds the model. Problems in
// manifests are printed and the command fails; problems in the live
// datastore are printed as warnings and the model (which fails closed on
// them) is used.
func buildModelFrom(s *streams, files []string, recursive bool, ds *datastoreOpts) (*policy.Model, error) {
	m, _, err := buildModelDocs(s, files, recursive, ds)
	return m, err
}

// buildModelDocs is buildModelFrom that also returns the documents the
// model was built from (with their file and line when read from -f).
func buildModelDocs(s *streams, files []string, recursive bool, ds *datastoreOpts) (*policy.Model, []api.Document, error) {
	var docs []api.Document
	var errs []error
	if len(files) == 0 {
		live, err := liveObjects(ds)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range live {
			docs = append(docs, api.Document{Object: o})
		}
	} else {
		docs, errs = loadManifests(files, recursive, s.in)
	}
	objs := objects(docs)
	m, err := policy.NewModel(objs)
	if err != nil {
		var be *policy.BuildError
		if errors.As(err, &be) {
			errs = append(errs, be.Problems...)
		} else {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 && len(files) == 0 {
		// The live datastore: one bad object never disables the command.
		// The model leaves it out or fails closed on it, as the agents do.
		for _, e := range errs {
			fmt.Fprintln(s.err, "warning: "+e.Error())
		}
		fmt.Fprintf(s.err, "warning: %d problem(s) in the datastore; the rest is judged, failing closed where a "+
			"policy or profile cannot be resolved\n", len(errs))
		return m, docs, nil
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(s.err, e)
		}
		return nil, nil, fmt.Errorf("%d problem(s) in the manifests; run palisade validate for details", len(errs))
	}
	return m, docs, nil
}

func flowFor(m *policy.Model, from, to, port string) (policy.Flow, error) {
	src, err := m.ResolvePeer(from)
	if err != nil {
		return policy.Flow{}, fmt.Errorf("--from: %w", err)
	}
	dst, err := m.ResolvePeer(to)
	if err != nil {
		return policy.Flow{}, fmt.Errorf("--to: %w", err)
	}
	f, err := policy.NewFlow(src, dst, port)
	if err != nil {
		return policy.Flow{}, fmt.Errorf("--port: %w", err)
	}
	return f, nil
}

func printVerdict(w io.Writer, v *policy.Verdict) {
	fmt.Fprintf(w, "Flow:    %s -> %s %s  (%s -> %s)\n", v.From, v.To, v.Port, v.SrcIP, v.DstIP)
	fmt.Fprintf(w, "Verdict: %s\n", strings.ToUpper(string(v.Verdict)))
	for _, p := range v.Paths {
		fmt.Fprintln(w)
		if p.Via != "" {
			fmt.Fprintf(w, "Via %s: %s\n", p.Via, strings.ToUpper(string(p.Verdict)))
		}
		fmt.Fprintln(w, "Request:")
		printSteps(w, p.Request)
		if len(p.Reply) > 0 {
			fmt.Fprintln(w, "Reply:")
			printSteps(w, p.Reply)
		}
	}
}

func printSteps(w io.Writer, steps []policy.Step) {
	for _, st := range steps {
		where := st.Stage
		if st.Node != "" {
			where = st.Node + " " + st.Stage
		}
		fmt.Fprintf(w, "  [%s]", where)
		if st.Endpoint != "" {
			fmt.Fprintf(w, " %s %s (%s)", st.Endpoint, st.Direction, st.Kind)
		}
		fmt.Fprintf(w, "\n      %s: %s\n", strings.ToUpper(string(st.Result)), st.Reason)
		for _, t := range st.Tried {
			fmt.Fprintf(w, "        - %s\n", t)
		}
	}
}
