package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func init() { register(newInstallServiceCmd) }

// unitTemplates are the systemd units of the two daemons: Type=notify
// (READY=1 once ready, WATCHDOG=1 while alive), restarted on failure; the
// agent gets CAP_NET_ADMIN and nothing more.
var unitTemplates = map[string]string{
	"server": `[Unit]
Description=palisade server: the policy datastore (embedded etcd) and controllers
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=%s
Restart=always
RestartSec=2
WatchdogSec=30
TimeoutStopSec=20
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`,
	"agent": `[Unit]
Description=palisade agent: this host's network policy in nftables
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=%s
# Stopping leaves the last ruleset in force; the next start replaces it in one transaction.
Restart=always
RestartSec=1
WatchdogSec=60
TimeoutStopSec=20
# nftables and netlink need CAP_NET_ADMIN; nothing else.
AmbientCapabilities=CAP_NET_ADMIN
CapabilityBoundingSet=CAP_NET_ADMIN
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
`,
}

func newInstallServiceCmd(s *streams) *cobra.Command {
	var unitDir, exe string
	c := &cobra.Command{
		Use:   "install-service server|agent [-- FLAGS...]",
		Short: "Write the systemd unit that runs palisade server or palisade agent (Type=notify, watchdog)",
		Long: "install-service writes palisade-server.service or palisade-agent.service into --unit-dir, running this\n" +
			"executable with the flags after --. The daemons tell systemd when they are ready (READY=1) and, while\n" +
			"they are alive, feed its watchdog; the agent's unit grants CAP_NET_ADMIN only. Then run\n" +
			"`systemctl daemon-reload && systemctl enable --now palisade-<name>`.",
		Example: "  palisade install-service server -- --data-dir /var/lib/palisade --listen https://10.0.0.1:2379 ...\n" +
			"  palisade install-service agent -- --node node1 --etcd-endpoints https://10.0.0.1:2379",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmpl, ok := unitTemplates[args[0]]
			if !ok {
				return fmt.Errorf("install-service %q: want server or agent", args[0])
			}
			if exe == "" {
				p, err := os.Executable()
				if err != nil {
					return err
				}
				exe = p
			}
			line := append([]string{exe, args[0]}, args[1:]...)
			for i, a := range line {
				line[i] = systemdQuote(a)
			}
			path := filepath.Join(unitDir, "palisade-"+args[0]+".service")
			if err := os.WriteFile(path, []byte(fmt.Sprintf(tmpl, strings.Join(line, " "))), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "wrote %s\nrun: systemctl daemon-reload && systemctl enable --now palisade-%s\n", path, args[0])
			return nil
		},
	}
	c.Flags().StringVar(&unitDir, "unit-dir", "/etc/systemd/system", "where to write the unit")
	c.Flags().StringVar(&exe, "executable", "", "the palisade binary the unit runs (default: this one)")
	return c
}

// systemdQuote quotes an ExecStart word when it needs it.
func systemdQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;$%") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`, `$`, `$$`)
	return `"` + r.Replace(s) + `"`
}
