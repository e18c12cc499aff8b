package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-net/palisade/cni"
	"github.com/palisade-net/palisade/cni/install"
)

func init() {
	register(newInstallCNICmd)
	register(newUninstallCNICmd)
}

type cniOpts struct {
	confDir, binDir, plugin, socket string
	timeout                         time.Duration
	watch                           bool
}

func newInstallCNICmd(s *streams) *cobra.Command {
	o := &cniOpts{}
	c := &cobra.Command{
		Use:   "install-cni",
		Short: "Chain palisade-cni after the node's CNI: copy the plugin and add it to the runtime's configuration",
		Long: "install-cni copies the palisade-cni binary into --bin-dir and appends palisade's entry to the container\n" +
			"runtime's CNI configuration: the lexically first .conf, .conflist or .json in --conf-dir (a single .conf\n" +
			"is wrapped into a .conflist), written atomically. Other configurations are never touched. With --watch it\n" +
			"keeps the entry there (re-inserting it when the primary CNI rewrites its file) until it is stopped.\n" +
			"The agent must serve the plugin (palisade agent --cni-socket); `palisade agent --cni-conf-dir` does all\n" +
			"of this itself.",
		Example: "  palisade install-cni --conf-dir /etc/cni/net.d --bin-dir /opt/cni/bin",
		Args:    cobra.NoArgs,
		RunE:    func(*cobra.Command, []string) error { return runInstallCNI(s, o) },
	}
	fl := c.Flags()
	fl.StringVar(&o.confDir, "conf-dir", "/etc/cni/net.d", "the CNI configuration directory (- leaves the configuration alone)")
	fl.StringVar(&o.binDir, "bin-dir", "/opt/cni/bin", "the CNI plugin directory (- leaves the binary alone)")
	fl.StringVar(&o.plugin, "plugin", "", "the palisade-cni binary to copy (default: palisade-cni beside this executable)")
	fl.StringVar(&o.socket, "socket", cni.DefaultSocket, "the agent's socket, written into the entry")
	fl.DurationVar(&o.timeout, "timeout", cni.DefaultTimeout, "how long ADD waits for the pod's policy (policySetupTimeoutSeconds)")
	fl.BoolVar(&o.watch, "watch", false, "keep the entry in place until stopped")
	return c
}

func runInstallCNI(s *streams, o *cniOpts) error {
	if o.binDir != "-" {
		src := o.plugin
		if src == "" {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			src = filepath.Join(filepath.Dir(exe), install.PluginType)
		}
		if err := install.CopyBinary(src, o.binDir); err != nil {
			return fmt.Errorf("install-cni: copying the plugin: %w", err)
		}
		fmt.Fprintf(s.out, "installed %s\n", filepath.Join(o.binDir, install.PluginType))
	}
	if o.confDir == "-" {
		return nil
	}
	e := install.Entry{Socket: o.socket, PolicySetupTimeoutSeconds: int(o.timeout / time.Second)}
	if !o.watch {
		path, wrote, err := install.Install(o.confDir, e)
		if err != nil {
			return fmt.Errorf("install-cni: %w", err)
		}
		if wrote {
			fmt.Fprintf(s.out, "palisade-cni added to %s\n", path)
		} else {
			fmt.Fprintf(s.out, "palisade-cni is already in %s\n", path)
		}
		return nil
	}
	ctx, stop := labContext()
	defer stop()
	install.Keep(ctx, o.confDir, e, 2*time.Second, func(path string, wrote bool, err error) {
		switch {
		case err != nil:
			fmt.Fprintf(s.err, "install-cni: %v\n", err)
		case wrote:
			fmt.Fprintf(s.out, "palisade-cni added to %s\n", path)
		}
	})
	return context.Cause(ctx)
}

func newUninstallCNICmd(s *streams) *cobra.Command {
	o := &cniOpts{}
	c := &cobra.Command{
		Use:   "uninstall-cni",
		Short: "Remove palisade-cni from the node's CNI configuration (and nothing else)",
		Long: "uninstall-cni removes palisade's entry from every configuration in --conf-dir that has it, before the\n" +
			"agent goes away: a chained plugin whose agent is gone would fail every new pod. With --bin-dir it also\n" +
			"removes the binary.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			changed, err := install.Uninstall(o.confDir)
			for _, p := range changed {
				fmt.Fprintf(s.out, "palisade-cni removed from %s\n", p)
			}
			if err != nil {
				return fmt.Errorf("uninstall-cni: %w", err)
			}
			if o.binDir != "" {
				if err := os.Remove(filepath.Join(o.binDir, install.PluginType)); err != nil && !os.IsNotExist(err) {
					return fmt.Errorf("uninstall-cni: %w", err)
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.confDir, "conf-dir", "/etc/cni/net.d", "the CNI configuration directory")
	c.Flags().StringVar(&o.binDir, "bin-dir", "", "also remove palisade-cni from this plugin directory")
	return c
}
