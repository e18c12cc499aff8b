package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/palisade-net/palisade/lab"
)

func init() { register(newLabCmd) }

// labOpts are the flags every lab command shares.
type labOpts struct {
	dir      string
	enforcer string
	verbose  bool
	keep     bool
	extra    int
	kube     bool
	empty    bool
}

func (o *labOpts) config(s *streams) (lab.Config, error) {
	exe, err := os.Executable()
	if err != nil {
		return lab.Config{}, err
	}
	if o.enforcer != "agent" && o.enforcer != "standin" {
		return lab.Config{}, fmt.Errorf("--enforcer %q: want agent or standin", o.enforcer)
	}
	return lab.Config{Dir: o.dir, Exe: exe, Palisade: Run, Out: s.out, Verbose: o.verbose,
		Enforcer: o.enforcer, Extra: o.extra, Kube: o.kube, Empty: o.empty}, nil
}

func newLabCmd(s *streams) *cobra.Command {
	o := &labOpts{}
	c := &cobra.Command{
		Use:   "lab",
		Short: "Build the seeds' cluster in network namespaces and walk through every seed with real packets",
		Long: "lab builds the seed documents' cluster out of network namespaces on this machine: nodes control,\n" +
			"node1 and node2 and the outside hosts host1 and host2 on one switch, the pods of every seed behind\n" +
			"cali… veths, the palisade server on control and an agent on every node. It then runs each seed's\n" +
			"commands and checks, with real connections, what is reachable after every step; each flow is also\n" +
			"judged by `palisade explain` on the live datastore, and the kernel and the evaluator must agree.\n\n" +
			"Without a subcommand: up, every scenario, the tables and a summary, down. The exit status is 0 only\n" +
			"if every expectation held. Needs root; touches nothing outside the namespaces palisade-*.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLabAll(s, o) },
	}
	pf := c.PersistentFlags()
	pf.StringVar(&o.dir, "dir", lab.DefaultDir, "the lab's state directory: datastore, socket, logs and pid records")
	pf.StringVar(&o.enforcer, "enforcer", "agent", "what programs the nodes: agent (palisade agent) or standin (the lab's minimal stand-in)")
	pf.BoolVarP(&o.verbose, "verbose", "v", false, "print every flow's explanation")
	pf.IntVar(&o.extra, "extra", 0, "add N flows the seeds do not list to every step (kernel and explain must agree on them)")
	pf.BoolVar(&o.kube, "kube", false, "run a real kube-apiserver beside the lab: pods, namespaces, nodes and services are Kubernetes\n"+
		"objects the server mirrors, and the seeds' kubectl commands run with a real kubectl (needs the binaries\n"+
		"of scripts/kube-binaries.sh)")
	c.Flags().BoolVar(&o.keep, "keep", false, "leave the lab up after the run (remove it later with palisade lab down)")
	c.AddCommand(newLabUp(s, o), newLabDown(s, o), newLabStatus(s, o), newLabRun(s, o), newLabEnv(s, o),
		newLabResponder(s), newLabEnforcer(s), newLabAPIServer(s, o), newLabController(s, o), newLabExec(s))
	return c
}

// labContext is cancelled by SIGINT or SIGTERM.
func labContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func runLabAll(s *streams, o *labOpts) error {
	cfg, err := o.config(s)
	if err != nil {
		return err
	}
	ctx, stop := labContext()
	defer stop()
	l, err := lab.Up(ctx, cfg)
	if err != nil {
		return err
	}
	sum, runErr := l.Run(ctx)
	l.Close()
	if !o.keep {
		if err := lab.Down(cfg); err != nil {
			fmt.Fprintln(s.err, "lab down:", err)
		}
	}
	if runErr != nil {
		return runErr
	}
	if !sum.OK() {
		return &exitError{code: 1}
	}
	return nil
}

func newLabUp(s *streams, o *labOpts) *cobra.Command {
	c := &cobra.Command{
		Use:   "up",
		Short: "Build the lab and leave it running, unprotected (no host endpoints, no policies)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := o.config(s)
			if err != nil {
				return err
			}
			ctx, stop := labContext()
			defer stop()
			l, err := lab.Up(ctx, cfg)
			if err != nil {
				return err
			}
			l.Close()
			fmt.Fprintf(s.out, "eval \"$(palisade lab env%s)\" points palisade at the lab's datastore\n", dirFlag(o))
			return nil
		},
	}
	c.Flags().BoolVar(&o.empty, "empty", false, "leave the seeds' namespaces, pods and services out of the datastore (their\n"+
		"network namespaces are built): a seed's own commands create them; the scenarios need them")
	return c
}

func dirFlag(o *labOpts) string {
	if o.dir == lab.DefaultDir {
		return ""
	}
	return " --dir " + o.dir
}

func newLabDown(s *streams, o *labOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove every namespace, process and file the lab made (also after a crash)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return lab.Down(lab.Config{Dir: o.dir, Out: s.out})
		},
	}
}

func newLabStatus(s *streams, o *labOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Report on the lab: namespaces, processes, datastore and agents",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := o.config(s)
			if err != nil {
				return err
			}
			if err := lab.Status(context.Background(), cfg); err != nil {
				return fail(s, "%v", err)
			}
			return nil
		},
	}
}

func newLabRun(s *streams, o *labOpts) *cobra.Command {
	var names []string
	for _, sc := range lab.Scenarios() {
		names = append(names, sc.Name)
	}
	return &cobra.Command{
		Use:   "run [SCENARIO[/STEP-PREFIX]...]",
		Short: "Run scenarios on the lab that is up (all of them without arguments)",
		Long: "run runs the named scenarios (" + strings.Join(names, ", ") + ") on the lab that `lab up` built,\n" +
			"each from the unprotected state; SCENARIO/PREFIX runs only the steps whose names start with PREFIX,\n" +
			"e.g. seed004/icmp. The exit status is 0 only if every expectation held.",
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, err := o.config(s)
			if err != nil {
				return err
			}
			l, err := lab.Open(cfg)
			if err != nil {
				return err
			}
			defer l.Close()
			ctx, stop := labContext()
			defer stop()
			sum, err := l.Run(ctx, args...)
			if err != nil {
				return err
			}
			if !sum.OK() {
				return &exitError{code: 1}
			}
			return nil
		},
	}
}

func newLabEnv(s *streams, o *labOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print export lines pointing palisade at the lab's datastore: eval \"$(palisade lab env)\"",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return lab.Env(lab.Config{Dir: o.dir}, s.out)
		},
	}
}

func newLabResponder(s *streams) *cobra.Command {
	var tcp, udp string
	c := &cobra.Command{
		Use:    "responder",
		Short:  "Answer TCP and UDP on the given ports (the lab starts one in every namespace)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tp, err := lab.ParsePorts(tcp)
			if err != nil {
				return err
			}
			up, err := lab.ParsePorts(udp)
			if err != nil {
				return err
			}
			ctx, stop := labContext()
			defer stop()
			return lab.Respond(ctx, tp, up)
		},
	}
	c.Flags().StringVar(&tcp, "tcp", "", "comma-separated TCP ports")
	c.Flags().StringVar(&udp, "udp", "", "comma-separated UDP ports")
	return c
}

func newLabExec(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "exec NAMESPACE/POD|NODE -- COMMAND [ARGS...]",
		Short: "Run a command inside a lab pod's or node's network namespace (as kubectl exec does in a pod)",
		Long: "exec runs COMMAND in the network namespace of a lab pod (NAMESPACE/POD), node or outside host\n" +
			"(NAME or node:NAME), with this terminal's input and output; the exit status is the command's. The\n" +
			"pods answer HTTP on the ports the seeds probe, so the seeds' curl and wget commands work as written:\n" +
			"  palisade lab exec staging/curl -- curl -s 198.18.0.90",
		Args: cobra.MinimumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			t, err := lab.LoadTopology()
			if err != nil {
				return err
			}
			code, err := lab.Exec(t, args[0], args[1:], s.in, s.out, s.err)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

func newLabAPIServer(s *streams, o *labOpts) *cobra.Command {
	var control string
	c := &cobra.Command{
		Use:    "apiserver",
		Short:  "Run the lab's kube-apiserver and its etcd (lab --kube starts it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ctx, stop := labContext()
			defer stop()
			return lab.KubeAPIServer(ctx, o.dir, control, s.err)
		},
	}
	c.Flags().StringVar(&control, "control-netns", "", "the namespace the server runs in, where the apiserver is proxied")
	return c
}

func newLabController(s *streams, o *labOpts) *cobra.Command {
	return &cobra.Command{
		Use:    "controller",
		Short:  "Run the lab's kubelet, CNI and kube-proxy stand-ins between runs (lab up starts it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := o.config(s)
			if err != nil {
				return err
			}
			cfg.Out = s.err
			ctx, stop := labContext()
			defer stop()
			return lab.Controller(ctx, cfg, s.err)
		},
	}
}

func newLabEnforcer(s *streams) *cobra.Command {
	var node, endpoints string
	c := &cobra.Command{
		Use:    "enforcer",
		Short:  "The lab's minimal stand-in for palisade agent (--enforcer standin)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ctx, stop := labContext()
			defer stop()
			return lab.StandIn(ctx, node, strings.Split(endpoints, ","), s.err)
		},
	}
	c.Flags().StringVar(&node, "node", "", "this node's name")
	c.Flags().StringVar(&endpoints, "etcd-endpoints", "", "the datastore")
	return c
}
