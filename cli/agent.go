package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-net/palisade/agent"
	"github.com/palisade-net/palisade/cni"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

func init() { register(newAgentCmd) }

// agentFlags are the flags of `palisade agent`.
type agentFlags struct {
	cfg        agent.Config
	nodeLabels string
	logLevel   string
	logFormat  string
	cleanup    bool
	force      bool
	nftBinary  string
	nftScripts bool
	ds         datastoreOpts
}

func newAgentCmd(s *streams) *cobra.Command {
	f := &agentFlags{}
	c := &cobra.Command{
		Use:   "agent",
		Short: "Enforce this node's policy in the kernel with nftables (one agent per host)",
		Long: "agent runs on every host, in the network namespace it protects. It registers the host's Calico\n" +
			"Node (addresses and interfaces discovered with netlink, labels from --node-labels), watches the\n" +
			"datastore, computes the node's ruleset and applies it to table inet palisade in one nf_tables\n" +
			"transaction per batch of changes, over netlink (the nft binary is not needed). Nothing is written before the first full sync; a failed\n" +
			"transaction leaves the previous ruleset in force; SIGTERM or SIGINT stops the agent and leaves\n" +
			"the ruleset in force. It serves /liveness, /readiness, /metrics and /flows on --health-listen.\n" +
			"With --cleanup it removes table inet palisade (and nothing else) and exits.",
		Example: "  palisade agent --node node1 --etcd-endpoints http://10.0.0.1:2379 --node-labels rack=r1\n" +
			"  palisade agent --cleanup",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAgent(s, f) },
	}
	fl := c.Flags()
	cfg := &f.cfg
	fl.StringVar(&cfg.Node, "node", "", "this node's name (default: the hostname, lower-cased)")
	fl.StringVar(&f.nodeLabels, "node-labels", "", "labels to add to the Node, k=v,k2=v2 (merged with its existing labels)")
	fl.StringVar(&cfg.HealthListen, "health-listen", agent.DefaultHealthListen, "address of /liveness, /readiness, /metrics and /flows (- disables them)")
	fl.StringVar(&cfg.FlowLogFile, "flow-log-file", "", "append each flow log record (FelixConfiguration spec.flowLogs) to this file as a JSON line")
	fl.StringVar(&cfg.RuleMetrics, "rule-metrics", agent.RuleMetricsRules, "series of palisade_rule_packets_total: rules (one per rule), policies (rules summed) or off")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json (one object a line)")
	fl.BoolVar(&f.cleanup, "cleanup", false, "remove table inet palisade (and nothing else) from this network namespace, then exit")
	fl.BoolVar(&f.force, "force", false, "with --cleanup: remove the table even while an agent runs in this network namespace")
	fl.DurationVar(&cfg.BatchDelay, "batch-delay", agent.DefaultBatchDelay, "quiet period that ends a burst of changes before they are applied")
	fl.DurationVar(&cfg.MaxBatchDelay, "max-batch-delay", agent.DefaultMaxBatchDelay, "longest a change waits for its burst to end")
	fl.DurationVar(&cfg.ProbeInterval, "probe-interval", agent.DefaultProbeInterval, "period of the datastore read behind /readiness")
	fl.StringVar(&cfg.Engine, "engine", agent.EngineIncremental,
		"how the node model is computed: incremental (calc) or rebuild (the whole model per batch)")
	fl.StringVar(&cfg.Rules, "rules", agent.RulesCompiled,
		"the form of each endpoint's policy in nftables: compiled (identity and verdict map lookups,\n"+
			"a per-packet cost flat in the number of policies) or linear (one nft rule per policy rule)")
	fl.StringVar(&cfg.CNISocket, "cni-socket", "", "serve palisade-cni, the chained CNI plugin, on this unix socket\n"+
		"(mode 0600; the plugin's default is "+cni.DefaultSocket+")")
	fl.StringVar(&cfg.StateFile, "state-file", "", "where the applied ruleset is kept so a restart takes over the kernel's table\n"+
		"instead of reloading it (default "+agent.DefaultCNIStateDir+"/ruleset-<node>.state; - for never)")
	fl.StringVar(&cfg.CNIStateDir, "cni-state-dir", agent.DefaultCNIStateDir, "where the CNI attachments are kept across restarts")
	fl.StringVar(&cfg.CNIConfDir, "cni-conf-dir", "", "with --cni-socket: keep palisade-cni in this CNI configuration directory\n"+
		"(e.g. /etc/cni/net.d): inserted before the agent is ready, removed when it stops")
	fl.DurationVar(&cfg.CNITimeout, "cni-timeout", cni.DefaultTimeout, "how long the plugin's ADD waits for the pod's policy")
	fl.StringVar(&f.nftBinary, "nft", "nft", "the nft executable (only --nft-scripts needs it)")
	_ = fl.MarkHidden("nft")
	fl.BoolVar(&f.nftScripts, "nft-scripts", false, "write the table with nft scripts run by the nft binary instead of over netlink")
	_ = fl.MarkHidden("nft-scripts")
	addDatastoreFlags(c, &f.ds)
	return c
}

func runAgent(s *streams, f *agentFlags) error {
	log, err := newLogger(s.err, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	// Before anything is written to the datastore or the kernel.
	if err := agent.CheckNetAdmin(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if f.cleanup {
		return runCleanup(ctx, s, f)
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	cfg.Logger = log
	dcfg, err := resolveDatastore(&f.ds)
	if err != nil {
		return err
	}
	k, err := nft.NewKernel(nft.Config{Binary: f.nftBinary, NoNetlink: f.nftScripts})
	if err != nil {
		return err
	}
	release, err := agent.LockNamespace()
	if err != nil {
		return err
	}
	defer release()
	st, err := newStore(dcfg)
	if err != nil {
		return err
	}
	defer st.Close()
	go func() {
		// After the first signal, a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	log.Info("palisade agent starting", "node", cfg.Node, "datastore", dcfg.Endpoints)
	return agent.Run(ctx, cfg, st, k, &agent.Netlink{Logger: log})
}

// runCleanup removes palisade's table from this network namespace.
func runCleanup(ctx context.Context, s *streams, f *agentFlags) error {
	k, err := nft.NewKernel(nft.Config{Binary: f.nftBinary})
	if err != nil {
		return err
	}
	release, err := agent.LockNamespace()
	switch {
	case errors.Is(err, agent.ErrAgentRunning) && !f.force:
		return fmt.Errorf("refusing --cleanup: %w; removing its table would leave this node unprotected "+
			"(and the agent would restore it within a second); stop the agent first, or add --force", err)
	case err == nil:
		defer release()
	case !errors.Is(err, agent.ErrAgentRunning):
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := agent.Cleanup(ctx, k); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "removed table %s %s\n", render.TableFamily, render.TableName)
	return nil
}

// config completes the agent configuration from the flags.
func (f *agentFlags) config() (agent.Config, error) {
	cfg := f.cfg
	if cfg.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("--node not given and no hostname: %w", err)
		}
		cfg.Node = strings.ToLower(h)
	}
	labels, err := parseNodeLabels(f.nodeLabels)
	if err != nil {
		return cfg, err
	}
	cfg.NodeLabels = labels
	return cfg, nil
}

// parseNodeLabels parses "k=v,k2=v2".
func parseNodeLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--node-labels: %q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
