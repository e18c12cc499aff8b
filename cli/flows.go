package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/palisade-net/palisade/agent"
	"github.com/palisade-net/palisade/flowlog"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/lab"
	"github.com/spf13/cobra"
)

func init() { register(newFlowsCmd) }

type flowsOpts struct {
	node, agentAddr, verdict, from, to, policy, output string
	follow                                             bool
	last                                               int
}

func newFlowsCmd(s *streams) *cobra.Command {
	o := &flowsOpts{}
	c := &cobra.Command{
		Use:   "flows [--node NAME] [--follow] [--verdict denied|allowed] [--from X] [--to Y]",
		Short: "Show the flows a node's agent logged: who talked to whom, and the rule that allowed or denied it",
		Long: "flows reads the flow log of the agent on this machine (its /flows endpoint on --agent,\n" +
			"127.0.0.1:9091 by default), like `hubble observe`: one line per logged packet with its addresses,\n" +
			"ports, verdict, endpoint and the tier, policy and rule the kernel matched. Flow logs are turned on\n" +
			"by FelixConfiguration spec.flowLogs (Denied, or All to log allowed new connections too).\n" +
			"--from and --to take an address, a CIDR or an endpoint name (ns/pod). With --node NAME on a\n" +
			"machine running `palisade lab`, it reads that lab node's agent.",
		Example: "  palisade flows --verdict denied\n" +
			"  palisade flows --node node1 --follow --to 198.18.0.90\n" +
			"  palisade flows --from staging/frontend -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runFlows(ctx, s, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.node, "node", "", "the node: this machine, or a `palisade lab` node's namespace")
	f.StringVar(&o.agentAddr, "agent", agent.DefaultHealthListen, "the agent's --health-listen address")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing flows as they are logged")
	f.StringVar(&o.verdict, "verdict", "", "only denied or allowed flows")
	f.StringVar(&o.from, "from", "", "only flows from this address, CIDR or endpoint")
	f.StringVar(&o.to, "to", "", "only flows to this address, CIDR or endpoint")
	f.StringVar(&o.policy, "policy", "", "only flows decided by this policy")
	f.IntVar(&o.last, "last", 0, "at most this many of the kept flows (0: all)")
	f.StringVarP(&o.output, "output", "o", "", "output format: json (one record per line)")
	return c
}

func runFlows(ctx context.Context, s *streams, o *flowsOpts) error {
	if _, err := flowlog.ParseFilter(o.verdict, o.from, o.to, o.policy); err != nil {
		return err
	}
	if o.output != "" && o.output != "json" {
		return fmt.Errorf("--output: %q is not json", o.output)
	}
	q := url.Values{}
	for k, v := range map[string]string{"verdict": o.verdict, "from": o.from, "to": o.to, "policy": o.policy} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.last > 0 {
		q.Set("last", strconv.Itoa(o.last))
	}
	if o.follow {
		q.Set("follow", "1")
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer(o.node)}}
	u := "http://" + o.agentAddr + "/flows?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("reading the agent's flow log at %s: %w (is the agent running there?)", o.agentAddr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("agent at %s: %s", o.agentAddr, strings.TrimSpace(string(msg)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if o.output == "json" {
			fmt.Fprintln(s.out, sc.Text())
			continue
		}
		var r flowlog.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("agent sent an unreadable record: %w", err)
		}
		fmt.Fprintln(s.out, r.Text())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return err
	}
	return nil
}

// dialer connects from the lab node's network namespace when node names
// one, else from here.
func dialer(node string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if node == "" || !netlab.Exists(lab.NodeNS(node)) {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ns, err := netlab.OpenNamed(lab.NodeNS(node))
		if err != nil {
			return nil, err
		}
		defer ns.Close()
		var c net.Conn
		err = ns.Do(func() error {
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
