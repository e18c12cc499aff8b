package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/palisade-net/palisade/store"
)

// FlowResult is one probed flow of a step.
type FlowResult struct {
	Scenario, Step string
	From, To, Port string
	Want, Why      string
	Kernel         string // allow or deny, from real packets
	Detail         string // what the probes saw: open, timeout, "open 2/3", ...
	Explain        string // the verdict of `palisade explain` on the live datastore
	ExplainErr     string
	Nodes          []string // the nodes the flow crosses (for the rulesets)
	Extra          bool     // not one of the seed's flows (Config.Extra): no expected verdict
	explainText    string
}

// OK reports whether the kernel and explain both gave the expected verdict
// (for an extra flow, which has none: whether they agree).
func (r FlowResult) OK() bool {
	if r.Extra {
		return r.Agree() && r.Kernel != "error"
	}
	return r.Kernel == r.Want && r.Explain == r.Want
}

// Agree reports whether the kernel and explain gave the same verdict.
func (r FlowResult) Agree() bool { return r.Kernel == r.Explain }

func (r FlowResult) String() string {
	return fmt.Sprintf("%s -> %s %s", r.From, r.To, r.Port)
}

// Summary is the outcome of a run.
type Summary struct {
	Scenarios, Steps int
	Flows            []FlowResult
	// Problems are failures other than flows: a command whose exit status
	// or output was not the seed's, an agent that lost the datastore, a
	// node that did not program a state.
	Problems []string
	Took     time.Duration
}

// Failed lists the flows whose verdicts were not the expected ones.
func (s *Summary) Failed() []FlowResult {
	var out []FlowResult
	for _, f := range s.Flows {
		if !f.OK() {
			out = append(out, f)
		}
	}
	return out
}

// Disagreements lists the flows where the kernel and explain differ.
func (s *Summary) Disagreements() []FlowResult {
	var out []FlowResult
	for _, f := range s.Flows {
		if !f.Agree() {
			out = append(out, f)
		}
	}
	return out
}

// OK reports whether every expectation held.
func (s *Summary) OK() bool { return len(s.Failed()) == 0 && len(s.Problems) == 0 && len(s.Flows) > 0 }

// Run runs the named scenarios (all when none are named). A name is a
// scenario ("seed003") or a scenario and the start of step names
// ("seed004/icmp").
func (l *Lab) Run(ctx context.Context, names ...string) (*Summary, error) {
	start := time.Now()
	sum := &Summary{}
	sel, err := selectScenarios(names)
	if err != nil {
		return nil, err
	}
	unlock, err := l.lockRun()
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, s := range sel {
		if err := l.runScenario(ctx, s.sc, s.prefixes, sum); err != nil {
			return sum, err
		}
	}
	sum.Took = time.Since(start)
	l.printSummary(sum)
	return sum, nil
}

// runLockFile is the lock a run holds while it drives the lab (the
// controller stands aside meanwhile).
const runLockFile = "run.lock"

// runLockWait is how long a run waits for the lock.
const runLockWait = 10 * time.Second

// lockRun keeps two runs from driving one lab at once.
func (l *Lab) lockRun() (func(), error) {
	f, err := os.OpenFile(filepath.Join(l.dir, runLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	// The lab's controller holds the lock for a pass at a time: wait that
	// long, not for another run.
	deadline := time.Now().Add(runLockWait)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("another `palisade lab run` is using the lab in %s", l.dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The controller may have changed the NodePorts since this process
	// last did: program them afresh.
	l.mu.Lock()
	l.kubeProxy = nil
	l.mu.Unlock()
	return func() { f.Close() }, nil
}

type selected struct {
	sc       Scenario
	prefixes []string
}

func selectScenarios(names []string) ([]selected, error) {
	all := Scenarios()
	if len(names) == 0 {
		out := make([]selected, len(all))
		for i, s := range all {
			out[i] = selected{sc: s}
		}
		return out, nil
	}
	var out []selected
	for _, s := range all {
		var sel *selected
		for _, n := range names {
			scName, prefix, _ := strings.Cut(n, "/")
			if scName != s.Name {
				continue
			}
			if sel == nil {
				sel = &selected{sc: s}
			}
			if prefix != "" {
				sel.prefixes = append(sel.prefixes, prefix)
			} else {
				sel.prefixes = nil
				break
			}
		}
		if sel != nil {
			out = append(out, *sel)
		}
	}
	for _, n := range names {
		scName, _, _ := strings.Cut(n, "/")
		if !slices.ContainsFunc(all, func(s Scenario) bool { return s.Name == scName }) {
			return nil, fmt.Errorf("no scenario %q (have seed000 ... seed004)", n)
		}
	}
	return out, nil
}

func wanted(st step, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(st.name, p) })
}

func (l *Lab) runScenario(ctx context.Context, sc Scenario, prefixes []string, sum *Summary) error {
	start := time.Now()
	sum.Scenarios++
	l.printf("\n==== %s: %s\n", sc.Name, sc.Title)
	if err := l.unprotect(ctx); err != nil {
		return err
	}
	prev := []string{topology}
	for _, st := range sc.steps() {
		if !wanted(st, prefixes) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("lab: interrupted before %s / %s: %w", sc.Name, st.name, err)
		}
		sum.Steps++
		if err := l.runStep(ctx, sc, st, prev, sum); err != nil {
			return err
		}
		prev = st.files
	}
	l.printf("---- %s done in %.1fs\n", sc.Name, time.Since(start).Seconds())
	return nil
}

// unprotect resets the datastore to the unprotected lab, waits for the
// nodes to program it and forgets every connection: each scenario starts
// from the state `lab up` leaves.
func (l *Lab) unprotect(ctx context.Context) error {
	if err := l.reset(ctx); err != nil {
		return fmt.Errorf("lab: reset: %w", err)
	}
	if err := waitFor(ctx, 20*time.Second, l.noAutoHEPs(ctx)); err != nil {
		return fmt.Errorf("lab: the automatic host endpoints were not removed: %w", err)
	}
	if err := l.settle(ctx); err != nil {
		return err
	}
	for _, name := range l.topo.Namespaces() {
		if err := l.nss[name].FlushConntrack(); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) noAutoHEPs(ctx context.Context) func() error {
	return func() error {
		heps, _, err := l.st.List(ctx, store.Kind("HostEndpoint"), "")
		if err != nil {
			return err
		}
		if len(heps) > 0 {
			return fmt.Errorf("%d host endpoint(s) left", len(heps))
		}
		return nil
	}
}

func (l *Lab) runStep(ctx context.Context, sc Scenario, st step, prev []string, sum *Summary) error {
	l.printf("\n--- %s / %s\n", sc.Name, st.name)
	p := planStep(prev, st.files, fileKeys, l.baseKeys(), l.cfg.Kube)
	if p.reset {
		l.printf("(back to the unprotected lab, then the step's files)\n")
		if err := l.unprotect(ctx); err != nil {
			return err
		}
	}
	for _, f := range st.files {
		if !slices.Contains(prev, f) || p.reset {
			for _, n := range mappingNotes(f) {
				l.printf("# lab mapping: %s\n", n)
			}
		}
	}
	prevOut := ""
	for _, c := range p.cmds {
		out, err := l.runCmd(ctx, c, prevOut)
		if err != nil {
			sum.Problems = append(sum.Problems, fmt.Sprintf("%s / %s: $ %s: %v", sc.Name, st.name, c, err))
		}
		prevOut = out
	}
	if err := l.settleStep(ctx, sc, st, sum); err != nil {
		return err
	}
	if l.cfg.Extra > 0 {
		st.flows = append(st.flows, l.extraFlows(sc, st, l.cfg.Extra)...)
	}
	res := l.checkFlows(ctx, sc, st)
	sum.Flows = append(sum.Flows, res...)
	l.printTable(res)
	l.printFailures(ctx, res)
	return nil
}

// settleStep brings the lab's CNI and kube-proxy in line with the step's
// datastore and waits for the agents.
func (l *Lab) settleStep(ctx context.Context, sc Scenario, st step, sum *Summary) error {
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
	start := time.Now()
	late, err := l.converge(ctx, m)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if len(late) > 0 {
		msg := fmt.Sprintf("%s / %s: nodes %v did not program the datastore's state within %v", sc.Name, st.name, late, convergeTimeout)
		sum.Problems = append(sum.Problems, msg)
		l.printf("!! %s\n", msg)
	}
	notes, err := l.agentsReady(ctx, 10*time.Second)
	for _, n := range notes {
		l.printf("(%s)\n", n)
	}
	if err != nil {
		sum.Problems = append(sum.Problems, fmt.Sprintf("%s / %s: an agent is not ready: %v", sc.Name, st.name, err))
		l.printf("!! an agent is not ready: %v\n", err)
	} else if len(late) == 0 {
		who := "agents ready (connected to the datastore)"
		if l.cfg.Enforcer == "standin" {
			who = "stand-in enforcers"
		}
		l.printf("(%s; the %d nodes ran the datastore's ruleset after %dms)\n", who, len(l.topo.Nodes), took.Milliseconds())
	}
	return nil
}

// baseKeys are the keys of the unprotected lab's objects.
func (l *Lab) baseKeys() map[store.Key]bool {
	out := map[store.Key]bool{}
	for _, o := range l.baseline() {
		out[store.KeyOf(o)] = true
	}
	return out
}

// palisade runs a palisade command in-process against the lab's datastore.
func (l *Lab) palisade(stdin string, args ...string) (code int, stdout, stderr string) {
	args = slices.Clone(args)
	for i, a := range args {
		if rest, ok := strings.CutPrefix(a, "examples/"); ok {
			args[i] = filepath.Join(l.dir, "examples", rest)
		}
	}
	if len(args) > 0 && args[0] != "validate" {
		args = append(args, "--etcd-endpoints", l.Endpoint())
	}
	var out, errb bytes.Buffer
	code = l.cfg.Palisade(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// runCmd runs one command of a step, prints it with its output, and checks
// its exit status and output.
func (l *Lab) runCmd(ctx context.Context, c cmd, prev string) (string, error) {
	stdin := ""
	if c.stdin != nil {
		s, err := c.stdin(prev)
		if err != nil {
			return "", err
		}
		stdin = s
	}
	var code int
	var out, errOut string
	attempt := func() error {
		if c.tool != "" {
			code, out, errOut = l.kubectl(ctx, c)
		} else {
			code, out, errOut = l.palisade(stdin, c.args...)
		}
		if code != c.wantExit {
			return fmt.Errorf("exit status %d, want %d", code, c.wantExit)
		}
		if c.check != nil {
			return c.check(out + errOut)
		}
		return nil
	}
	err := attempt()
	if err != nil && c.retry {
		err = waitFor(ctx, 20*time.Second, attempt)
	}
	l.printf("$ %s\n", c)
	l.printIndented(strings.ReplaceAll(out+errOut, filepath.Join(l.dir, "examples")+"/", "examples/"))
	if err != nil {
		l.printf("!! unexpected: %v\n", err)
	}
	return out, err
}

func (l *Lab) printIndented(s string) {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return
	}
	for _, line := range strings.Split(s, "\n") {
		l.printf("  %s\n", line)
	}
}

// explain asks `palisade explain` for a flow's verdict on the live
// datastore.
func (l *Lab) explain(f flow) (verdict, errText string) {
	code, out, errOut := l.palisade("", "explain", "--from", f.from, "--to", f.to, "--port", f.port, "-o", "json")
	var res struct {
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Verdict == "" {
		return "error", fmt.Sprintf("exit %d: %s%s", code, out, errOut)
	}
	return res.Verdict, ""
}

func (l *Lab) explainText(f flow) string {
	_, out, errOut := l.palisade("", "explain", "--from", f.from, "--to", f.to, "--port", f.port)
	return out + errOut
}
