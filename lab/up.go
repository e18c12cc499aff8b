package lab

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/store"
)

// basePorts are the ports the issue names; the scenarios add the others
// they probe (responderPorts).
var basePorts = []uint16{21, 22, 53, 80, 2379, 2380, 5432, 6379, 6443, 9100, 10250}

// Up builds the lab: namespaces, the switch, pods, the server on control,
// the topology in the datastore with the pods' WorkloadEndpoints, NodePorts,
// responders and an agent on every node. On failure everything made so far
// is removed. The lab is unprotected afterwards: no host endpoints, no
// policies, automatic host endpoints disabled.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	start := time.Now()
	l, err := newLab(cfg)
	if err != nil {
		return nil, err
	}
	if up := labNamespacesUp(l.topo); len(up) > 0 {
		return nil, fmt.Errorf("a lab is already up or was left behind (namespace %s exists): run `palisade lab down` first", up[0])
	}
	if _, err := os.Stat(filepath.Join(l.dir, stateFile)); err == nil {
		return nil, fmt.Errorf("%s holds a lab's state: run `palisade lab down` first", l.dir)
	}
	if err := l.up(ctx); err != nil {
		l.Close()
		if derr := Down(Config{Dir: l.dir}); derr != nil {
			err = fmt.Errorf("%w (and cleaning up: %v)", err, derr)
		}
		return nil, err
	}
	s, err := readState(l.dir)
	if err == nil {
		s.UpSeconds = time.Since(start).Seconds()
		err = writeState(l.dir, s)
	}
	l.printf("lab up in %.1fs: %d nodes, %d outside hosts, %d pods; datastore %s\n",
		time.Since(start).Seconds(), len(l.topo.Nodes), len(l.topo.Hosts), len(l.topo.Pods), l.Endpoint())
	l.PrintTopology()
	return l, err
}

func (l *Lab) up(ctx context.Context) error {
	for _, d := range []string{l.dir, filepath.Join(l.dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(l.dir, markerFile), nil, 0o644); err != nil {
		return err
	}
	err := writeState(l.dir, &state{Namespaces: l.topo.Namespaces(), Exe: l.cfg.Exe,
		Enforcer: l.cfg.Enforcer, Kube: l.cfg.Kube, Empty: l.cfg.Empty, Created: time.Now()})
	if err != nil {
		return err
	}
	if err := l.createNamespaces(); err != nil {
		return err
	}
	if err := l.topo.wire(l.nss); err != nil {
		return err
	}
	if err := l.topo.writeNames(); err != nil {
		return err
	}
	if err := writeExamples(filepath.Join(l.dir, "examples")); err != nil {
		return err
	}
	if l.cfg.Kube {
		if err := l.startKube(ctx); err != nil {
			return err
		}
	}
	if err := l.startServer(); err != nil {
		return err
	}
	if err := l.startResponders(); err != nil {
		return err
	}
	if err := l.openStore(); err != nil {
		return err
	}
	if err := l.waitServer(ctx); err != nil {
		return err
	}
	if err := l.reset(ctx); err != nil {
		return fmt.Errorf("lab: loading the topology: %w", err)
	}
	if err := l.startAgents(); err != nil {
		return err
	}
	if err := l.settle(ctx); err != nil {
		return err
	}
	_, err = l.startProc(nil, "controller", "lab", "controller", "--dir", l.dir)
	return err
}

// createNamespaces creates every namespace of the lab, IPv6 off (the seeds
// are IPv4; no router solicitations or DAD in the captures).
func (l *Lab) createNamespaces() error {
	for _, name := range l.topo.Namespaces() {
		n, err := netlab.CreateNamed(name)
		if err != nil {
			return err
		}
		l.nss[name] = n
		for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
			if err := n.Sysctl(k, "1"); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeExamples copies the embedded examples into the lab's directory, so
// that the commands the lab prints can be run by hand.
func writeExamples(dst string) error {
	return fs.WalkDir(examples.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, p), 0o755)
		}
		data, err := fs.ReadFile(examples.FS, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, p), data, 0o644)
	})
}

func (l *Lab) controlNode() Node {
	for _, n := range l.topo.Nodes {
		if n.Name == "control" {
			return n
		}
	}
	return l.topo.Nodes[0]
}

// etcdURL is how agents reach the datastore: over the lab network.
func (l *Lab) etcdURL() string {
	return fmt.Sprintf("http://%s", net.JoinHostPort(l.controlNode().IP.String(), fmt.Sprint(etcdPort)))
}

func (l *Lab) startServer() error {
	c := l.controlNode()
	args := []string{"server", "--data-dir", filepath.Join(l.dir, "etcd"),
		// The lab network lives in namespaces on this machine, so its
		// plaintext listener on 198.19.0.1 is allowed explicitly.
		"--listen", l.etcdURL() + "," + l.Endpoint(), "--insecure-listen",
		"--peer-listen", etcdPeerListen,
		"--health-listen", serverHealth,
		"--resync-period", "10s"}
	if l.cfg.Kube {
		// A reset deletes every policy the steps made at once: more than
		// the mirror's delete guard lets through without the override.
		args = append(args, "--kubeconfig", filepath.Join(l.kubeDir(), "kubeconfig-control"), "--kube-force-delete")
	}
	_, err := l.startProc(l.nss[NodeNS(c.Name)], "server", args...)
	return err
}

// waitServer waits until the datastore answers and holds the defaults.
func (l *Lab) waitServer(ctx context.Context) error {
	err := waitFor(ctx, 30*time.Second, func() error {
		_, err := l.st.Get(ctx, store.Key{Kind: store.Kind(api.KindTier), Name: api.DefaultTierName})
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: the server did not come up (see %s): %w", filepath.Join(l.dir, "logs"), err)
	}
	return nil
}

// responderPorts are the TCP and UDP ports a namespace answers on: every
// port the scenarios probe (extra flows included), except what the control
// plane listens on itself. Nodes listen on the NodePorts too: while a
// Service has the port, kube-proxy's DNAT takes its connections first;
// without one, the node answers as any port does.
func (l *Lab) responderPorts(nsName string) (tcp, udp []uint16) {
	add := func(list []uint16, p uint16) []uint16 {
		if p == 0 || slices.Contains(list, p) {
			return list
		}
		return append(list, p)
	}
	ports := slices.Clone(extraPorts)
	for _, sc := range Scenarios() {
		for _, st := range sc.steps() {
			for _, f := range st.flows {
				ports = append(ports, f.port)
			}
		}
	}
	for _, p := range basePorts {
		tcp, udp = add(tcp, p), add(udp, p)
	}
	for _, s := range ports {
		switch proto, port, err := parsePort(s); {
		case err != nil, proto == "icmp":
		case proto == "tcp":
			tcp = add(tcp, port)
		case proto == "udp":
			udp = add(udp, port)
		}
	}
	if nsName == NodeNS(l.controlNode().Name) {
		tcp = slices.DeleteFunc(tcp, func(p uint16) bool { return p == etcdPort })
	}
	slices.Sort(tcp)
	slices.Sort(udp)
	return tcp, udp
}

func (l *Lab) startResponders() error {
	for _, name := range l.topo.Namespaces() {
		if name == SwitchNS || name == ScratchNS {
			continue
		}
		tcp, udp := l.responderPorts(name)
		if _, err := l.startProc(l.nss[name], "responder", "lab", "responder",
			"--tcp", joinPorts(tcp), "--udp", joinPorts(udp)); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) startAgents() error {
	for _, n := range l.topo.Nodes {
		args := []string{"agent", "--node", n.Name, "--etcd-endpoints", l.etcdURL(), "--health-listen", agentHealthListen,
			"--state-file", filepath.Join(l.dir, "state", "ruleset-"+n.Name+".state")}
		if l.cfg.Enforcer == "standin" {
			args = []string{"lab", "enforcer", "--node", n.Name, "--etcd-endpoints", l.etcdURL()}
		}
		if _, err := l.startProc(l.nss[NodeNS(n.Name)], l.cfg.Enforcer, args...); err != nil {
			return err
		}
	}
	return nil
}

// settle syncs the pods' endpoints and NodePorts with the datastore and
// waits for the agents to be ready and to program the current state.
func (l *Lab) settle(ctx context.Context) error {
	if err := l.syncEndpoints(ctx); err != nil {
		return err
	}
	m, err := l.liveModel(ctx)
	if err != nil {
		return err
	}
	if err := l.syncKubeProxy(ctx, m); err != nil {
		return err
	}
	late, err := l.converge(ctx, m)
	if err != nil {
		return err
	}
	if len(late) > 0 {
		return fmt.Errorf("lab: the nodes %v did not program the datastore's state within %v (see %s)",
			late, convergeTimeout, filepath.Join(l.dir, "logs"))
	}
	_, err = l.agentsReady(ctx, 30*time.Second)
	return err
}
