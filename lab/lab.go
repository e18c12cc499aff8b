package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/store"
)

// DefaultDir is the lab's state directory unless told otherwise.
const DefaultDir = "/run/palisade-lab"

// stateFile records what the lab made, written before it makes it;
// markerFile marks a directory as a lab's from its creation on.
const (
	stateFile  = "state.json"
	markerFile = ".palisade-lab"
)

// Addresses of the control plane inside the lab.
const (
	etcdPort          = 2379
	etcdPeerListen    = "http://127.0.0.1:12380" // not 2380: the lab answers 2380 itself
	serverHealth      = "127.0.0.1:9097"
	agentHealthPort   = 9091
	agentHealthListen = "127.0.0.1:9091"
	socketName        = "etcd.sock"
)

// Runner runs a palisade command in-process (cli.Run) and returns its exit
// status. The lab cannot import the cli package (which imports the lab),
// so the command that builds a Lab hands it in.
type Runner func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Config says where the lab keeps its state and how it runs palisade.
type Config struct {
	// Dir is the state directory: datastore, socket, logs, pid records.
	Dir string
	// Exe is the palisade binary the lab starts in the namespaces (server,
	// agents, responders); usually os.Executable().
	Exe string
	// Env is added to the environment of every process the lab starts.
	Env []string
	// Palisade runs palisade commands in-process (cli.Run).
	Palisade Runner
	// Out receives the tables and progress; nil discards them.
	Out io.Writer
	// Verbose prints every command's output and every flow's explanation.
	Verbose bool
	// Extra adds this many flows to every step that the seeds do not list
	// (the same ones every run); they have no expected verdict, but the
	// kernel and explain must agree on them.
	Extra int
	// Enforcer selects what programs the nodes: "agent" (palisade agent)
	// or "standin" (the lab's own minimal stand-in, `lab enforcer`).
	Enforcer string
	// Kube runs a real kube-apiserver beside the lab (kube.go): the
	// topology's Kubernetes objects live there, the server mirrors them,
	// and the seeds' kubectl commands run with a real kubectl.
	Kube bool
	// Empty leaves the topology's Namespaces, Pods and Services out of the
	// datastore (the nodes, hosts and pods' network namespaces are built
	// as usual): a seed's own commands then create them without "already
	// exists". The scenarios expect the full topology.
	Empty bool
}

// state is the content of state.json.
type state struct {
	Namespaces []string  `json:"namespaces"`
	Exe        string    `json:"exe"`
	Enforcer   string    `json:"enforcer"`
	Kube       bool      `json:"kube,omitempty"`
	Empty      bool      `json:"empty,omitempty"`
	Created    time.Time `json:"created"`
	UpSeconds  float64   `json:"upSeconds,omitempty"`
}

// Lab is a lab that is up (or being brought up).
type Lab struct {
	cfg  Config
	dir  string
	topo *Topology
	out  io.Writer

	mu   sync.Mutex
	nss  map[string]*ns
	st   store.Store
	kube kubernetes.Interface // with Config.Kube

	nodePorts map[string]map[string]int // node -> "30180/TCP" -> backends
	kubeProxy map[string]string         // node -> the NAT table applied
	srcPort   uint32
	icmpID    uint32
}

func (c Config) defaults() (Config, error) {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	d, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, err
	}
	c.Dir = d
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Enforcer == "" {
		c.Enforcer = "agent"
	}
	return c, nil
}

func newLab(cfg Config) (*Lab, error) {
	cfg, err := cfg.defaults()
	if err != nil {
		return nil, err
	}
	t, err := LoadTopology()
	if err != nil {
		return nil, err
	}
	return &Lab{cfg: cfg, dir: cfg.Dir, topo: t, out: cfg.Out, nss: map[string]*ns{},
		srcPort: 20000, icmpID: 1000}, nil
}

// Endpoint is the datastore URL the machine's own CLI uses.
func (l *Lab) Endpoint() string { return "unix://" + filepath.Join(l.dir, socketName) }

// Topology is the lab's cluster.
func (l *Lab) Topology() *Topology { return l.topo }

func (l *Lab) printf(format string, args ...any) { fmt.Fprintf(l.out, format, args...) }

func readState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

func writeState(dir string, s *state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// Open attaches to a lab that is up (for run, status and env).
func Open(cfg Config) (*Lab, error) {
	l, err := newLab(cfg)
	if err != nil {
		return nil, err
	}
	s, err := readState(l.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no lab is up in %s (run `palisade lab up`)", l.dir)
	}
	if err != nil {
		return nil, err
	}
	l.cfg.Enforcer, l.cfg.Kube, l.cfg.Empty = s.Enforcer, s.Kube, s.Empty
	for _, name := range l.topo.Namespaces() {
		n, err := netlab.OpenNamed(name)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("the lab in %s is broken (%v): run `palisade lab down` and `palisade lab up`", l.dir, err)
		}
		l.nss[name] = n
	}
	if err := l.openStore(); err != nil {
		l.Close()
		return nil, err
	}
	if l.cfg.Kube {
		if err := l.openKube(); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// Close releases the handles this process holds; the lab stays up.
func (l *Lab) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.nss {
		n.Close()
	}
	l.nss = map[string]*ns{}
	if l.st != nil {
		_ = l.st.Close()
		l.st = nil
	}
}

func (l *Lab) openStore() error {
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{l.Endpoint()}})
	if err != nil {
		return err
	}
	l.st = st
	return nil
}

// Down removes everything the lab in dir made: its processes (recorded, or
// found by the marker in their environment), its namespaces and its state
// directory. It works after a crash or a kill, and when nothing is up.
func Down(cfg Config) error {
	cfg, err := cfg.defaults()
	if err != nil {
		return err
	}
	dir := cfg.Dir
	names := map[string]bool{}
	s, serr := readState(dir)
	if serr == nil {
		for _, n := range s.Namespaces {
			names[n] = true
		}
	}
	// Without a state file the namespaces are found by their fixed names,
	// unless they belong to a lab that lives in another directory.
	other := otherLabDirs(dir)
	if t, err := LoadTopology(); err == nil && (serr == nil || len(other) == 0) {
		for _, n := range t.Namespaces() {
			names[n] = true
		}
	}
	if serr != nil && len(other) > 0 {
		fmt.Fprintf(cfg.Out, "lab down: no lab state in %s; the lab namespaces belong to the lab in %s (palisade lab down --dir %s)\n",
			dir, other[0], other[0])
	}
	recorded, _ := readProcs(dir)
	ended := stopProcs(append(recorded, markedProcs(dir)...), 5*time.Second)
	var errs []error
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	removed := 0
	for _, n := range sorted {
		if !netlab.Exists(n) {
			continue
		}
		if err := netlab.DeleteNamed(n); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if err := removeNames(sorted); err != nil {
		errs = append(errs, err)
	}
	if left := markedProcs(dir); len(left) > 0 {
		errs = append(errs, fmt.Errorf("lab: %d process(es) of the lab still run", len(left)))
	}
	files := "no state directory"
	if _, err := os.Stat(dir); err == nil {
		files = dir + " removed"
	}
	if err := removeStateDir(dir); err != nil {
		errs = append(errs, err)
	}
	fmt.Fprintf(cfg.Out, "lab down: %d process(es) ended, %d namespace(s) removed, %s\n", ended, removed, files)
	return errors.Join(errs...)
}

// removeStateDir deletes the state directory, refusing anything that does
// not look like one the lab made (a state file or pid file inside, or
// empty).
func removeStateDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ours := len(ents) == 0
	for _, e := range ents {
		if e.Name() == stateFile || e.Name() == procsFile || e.Name() == markerFile {
			ours = true
		}
	}
	if !ours || dir == "/" || strings.Count(dir, "/") < 2 && !strings.HasPrefix(dir, "/run/") {
		return fmt.Errorf("lab: %s does not look like a lab state directory; not removing it", dir)
	}
	return os.RemoveAll(dir)
}

// labNamespacesUp lists the lab's namespaces that exist now.
func labNamespacesUp(t *Topology) []string {
	var out []string
	for _, n := range t.Namespaces() {
		if netlab.Exists(n) {
			out = append(out, n)
		}
	}
	return out
}

// waitFor polls cond every 50ms until it returns nil or the timeout
// passes; it returns the last error.
func waitFor(ctx context.Context, timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}
