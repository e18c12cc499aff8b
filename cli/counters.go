package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/palisade-net/palisade/flowlog"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/lab"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	"github.com/spf13/cobra"
)

type countersOpts struct {
	node, netns, policy, output string
	unused                      bool
}

func newDataplaneCounters(s *streams) *cobra.Command {
	o := &countersOpts{}
	c := &cobra.Command{
		Use:   "counters [--node NAME] [--policy NAME] [--unused] [-o wide|json]",
		Short: "Print the kernel's packet and byte counts per policy rule, end of tier, profile and failsafe",
		Long: "counters reads the named counters of table inet palisade from the kernel of the machine it runs on\n" +
			"(every rule palisade renders for a policy rule, a tier's end, a profile rule, an endpoint's default\n" +
			"or a failsafe counts into one) and prints one line per rule with its packets and bytes. Counts\n" +
			"survive the agent's updates of other rules. --unused lists only rules that were never hit.\n" +
			"With --node NAME on a machine running `palisade lab`, it reads that lab node's namespace.",
		Example: "  palisade dataplane counters\n" +
			"  palisade dataplane counters --node node1 --policy default.allow-ssh -o wide\n" +
			"  palisade lab exec node1 -- palisade dataplane counters --unused",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCounters(cmd.Context(), s, o)
		},
	}
	c.Flags().StringVar(&o.node, "node", "", "the node: this machine, or a `palisade lab` node's namespace")
	c.Flags().StringVar(&o.netns, "netns", "", "read the kernel of this network namespace (a name `ip netns` knows, or a path)")
	c.Flags().StringVar(&o.policy, "policy", "", "only this policy's or profile's rules (name, namespace/name, or kind and name)")
	c.Flags().BoolVar(&o.unused, "unused", false, "only rules whose counters were never hit")
	c.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide or json")
	return c
}

// CounterRow is one line of `palisade dataplane counters`.
type CounterRow struct {
	render.CounterKey
	Counter string `json:"counter"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func runCounters(ctx context.Context, s *streams, o *countersOpts) error {
	switch o.output {
	case "", "wide", "json":
	default:
		return fmt.Errorf("--output: %q is not wide or json", o.output)
	}
	ns := o.netns
	if ns == "" && o.node != "" && netlab.Exists(lab.NodeNS(o.node)) {
		ns = lab.NodeNS(o.node)
	}
	k, err := nft.NewKernel(nft.Config{NetNS: ns})
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	vals, err := k.Counters(ctx)
	if errors.Is(err, nft.ErrNoTable) {
		where := "this machine"
		if ns != "" {
			where = "network namespace " + ns
		}
		return fmt.Errorf("no palisade table in %s: is the agent running there?", where)
	}
	if err != nil {
		return err
	}
	rows := CounterRows(vals)
	rows = filterRows(rows, o.policy, o.unused)
	if o.output == "json" {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []CounterRow{}
		}
		return enc.Encode(rows)
	}
	return writeCounterRows(s, rows, o.output == "wide")
}

// CounterRows turns the kernel's counters into rows, sorted by tier,
// policy, direction and rule; a counter whose comment is not palisade's
// is kept with its comment as the policy.
func CounterRows(vals []nft.CounterValue) []CounterRow {
	rows := make([]CounterRow, 0, len(vals))
	for _, v := range vals {
		key, ok := render.ParseCounterComment(v.Comment)
		if !ok {
			key = render.CounterKey{Kind: "unknown", Policy: v.Comment, Rule: -1}
		}
		rows = append(rows, CounterRow{CounterKey: key, Counter: v.Name, Packets: v.Packets, Bytes: v.Bytes})
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Kind == render.CountFailsafe || b.Kind == render.CountFailsafe {
			if (a.Kind == render.CountFailsafe) != (b.Kind == render.CountFailsafe) {
				return a.Kind == render.CountFailsafe
			}
		}
		if a.Tier != b.Tier {
			return a.Tier < b.Tier
		}
		if pa, pb := sortPolicy(a), sortPolicy(b); pa != pb {
			return pa < pb
		}
		if a.Direction != b.Direction {
			return a.Direction < b.Direction
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Kind < b.Kind
	})
	return rows
}

// sortPolicy puts a tier's end after its policies.
func sortPolicy(r CounterRow) string {
	if r.Kind == render.CountEndOfTier || r.Kind == render.CountStagedEndOfTier {
		return "\xff"
	}
	return r.Policy
}

// policyMatches reports whether a counter's policy is the one named: by
// its whole name ("GlobalNetworkPolicy default.x"), its key ("ns/name",
// "default.x"), or a namespaced policy's bare name.
func policyMatches(have, want string) bool { return flowlog.PolicyMatches(have, want) }

func filterRows(rows []CounterRow, pol string, unused bool) []CounterRow {
	var out []CounterRow
	for _, r := range rows {
		if !policyMatches(r.Policy, pol) || unused && r.Packets != 0 {
			continue
		}
		out = append(out, r)
	}
	return out
}

func writeCounterRows(s *streams, rows []CounterRow, wide bool) error {
	tw := tabwriter.NewWriter(s.out, 0, 8, 2, ' ', 0)
	head := "TIER\tPOLICY\tRULE\tACTION\tDIRECTION\tPACKETS\tBYTES"
	if wide {
		head += "\tKIND\tCOUNTER"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		tier, pol, rule := dash(r.Tier), dash(r.Policy), "-"
		if r.Rule >= 0 {
			rule = strconv.Itoa(r.Rule)
		}
		switch r.Kind {
		case render.CountEndOfTier:
			pol, rule = "(end of tier)", "-"
		case render.CountNoPolicy:
			pol = "(no policy or profile allowed)"
		case render.CountForward:
			pol = "(forward default)"
		case render.CountStagedEndOfTier:
			pol, rule = "(staged: end of tier)", "-"
		case render.CountStagedRule:
			pol = "(staged) " + pol
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%d", tier, pol, rule, dash(r.Action), dash(r.Direction), r.Packets, r.Bytes)
		if wide {
			line += "\t" + r.Kind + "\t" + r.Counter
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
