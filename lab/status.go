package lab

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/store"
)

// Env writes the export lines that point palisade (and calicoctl-style
// tools) at the lab's datastore: eval "$(palisade lab env)".
func Env(cfg Config, w io.Writer) error {
	cfg, err := cfg.defaults()
	if err != nil {
		return err
	}
	s, err := readState(cfg.Dir)
	if err != nil {
		return fmt.Errorf("no lab is up in %s (run `palisade lab up`)", cfg.Dir)
	}
	fmt.Fprintf(w, "export DATASTORE_TYPE=etcdv3\nexport ETCD_ENDPOINTS=unix://%s\n", filepath.Join(cfg.Dir, socketName))
	if s.Kube {
		fmt.Fprintf(w, "export KUBECONFIG=%s\n", filepath.Join(cfg.Dir, kubeSubdir, "kubeconfig"))
	}
	return nil
}

// Status reports on the lab in cfg.Dir: its namespaces, its processes,
// the datastore and the agents. It returns an error when the lab is not
// up or not healthy.
func Status(ctx context.Context, cfg Config) error {
	cfg, err := cfg.defaults()
	if err != nil {
		return err
	}
	w := cfg.Out
	s, err := readState(cfg.Dir)
	if err != nil {
		t, terr := LoadTopology()
		if terr == nil && len(labNamespacesUp(t)) > 0 {
			return fmt.Errorf("no lab state in %s, but lab namespaces exist (a lab in another directory, or left behind): run `palisade lab down`", cfg.Dir)
		}
		return fmt.Errorf("no lab is up in %s", cfg.Dir)
	}
	upTook := "not finished: still coming up, or interrupted"
	if s.UpSeconds > 0 {
		upTook = fmt.Sprintf("came up in %.1fs", s.UpSeconds)
	}
	fmt.Fprintf(w, "lab in %s, made %s (%s), nodes programmed by %s\n",
		cfg.Dir, s.Created.Format(time.RFC3339), upTook, s.Enforcer)
	var problems []string
	missing := 0
	for _, n := range s.Namespaces {
		if !netlab.Exists(n) {
			missing++
			problems = append(problems, "namespace "+n+" is missing")
		}
	}
	fmt.Fprintf(w, "namespaces: %d of %d present\n", len(s.Namespaces)-missing, len(s.Namespaces))
	procs, _ := readProcs(cfg.Dir)
	roles := map[string][2]int{}
	for _, p := range procs {
		c := roles[p.Role]
		c[1]++
		if p.alive() {
			c[0]++
		} else {
			problems = append(problems, fmt.Sprintf("%s in %s (pid %d) is not running; its log: %s", p.Role, p.NS, p.PID, p.Log))
		}
		roles[p.Role] = c
	}
	for _, r := range []string{"server", "agent", "standin", "responder"} {
		if c, ok := roles[r]; ok {
			fmt.Fprintf(w, "%s: %d of %d running\n", r, c[0], c[1])
		}
	}
	problems = append(problems, statusLive(ctx, cfg, s, w)...)
	for _, p := range problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the lab is not healthy (%d problem(s))", len(problems))
	}
	fmt.Fprintln(w, "healthy")
	return nil
}

// statusLive asks the datastore and the agents.
func statusLive(ctx context.Context, cfg Config, s *state, w io.Writer) []string {
	l, err := Open(cfg)
	if err != nil {
		return []string{err.Error()}
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var problems []string
	heps, rev, err := l.st.List(ctx, store.Kind(api.KindHostEndpoint), "")
	if err != nil {
		return append(problems, "datastore: "+err.Error())
	}
	fmt.Fprintf(w, "datastore %s: revision %d, %d host endpoint(s)\n", l.Endpoint(), rev, len(heps))
	for _, n := range l.topo.Nodes {
		if s.Enforcer != "agent" {
			break
		}
		switch note, err := l.agentReachable(ctx, n.Name, 0); {
		case err != nil:
			problems = append(problems, err.Error())
		case note != "":
			fmt.Fprintf(w, "agent on %s: %s\n", n.Name, note)
		default:
			fmt.Fprintf(w, "agent on %s: ready\n", n.Name)
		}
	}
	return problems
}
