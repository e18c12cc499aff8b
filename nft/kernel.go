package nft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/palisade-net/palisade/render"
	"github.com/vishvananda/netns"
)

// Config configures a Kernel applier.
type Config struct {
	// NetNS is the network namespace to program: a path such as
	// /var/run/netns/NAME or /proc/PID/ns/net, or a bare name that `ip netns`
	// knows. Empty means the caller's own namespace.
	NetNS string
	// Binary is the nft executable; default "nft" from PATH. The Kernel
	// writes and reads its table over netlink and needs nft only to list
	// the table as text (Show), to check a ruleset (Check), for ApplyText,
	// and with NoNetlink.
	Binary string
	// Timeout bounds each nft invocation; default 30s.
	Timeout time.Duration
	// NoNetlink writes every change as an nft script run by the nft
	// binary, as palisade did before it wrote over netlink.
	NoNetlink bool
}

// Defaults fills unset fields.
func (c Config) Defaults() Config {
	if c.Binary == "" {
		c.Binary = "nft"
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.NetNS != "" && !strings.Contains(c.NetNS, "/") {
		c.NetNS = "/var/run/netns/" + c.NetNS
	}
	return c
}

// Kernel applies rulesets with the nft binary. Its methods are safe for
// concurrent use; invocations are serialised.
type Kernel struct {
	cfg Config
	mu  sync.Mutex
	// applyMu serialises Apply's read of the counters and its write.
	applyMu sync.Mutex
	// last is the ruleset last applied (nil: unknown, replace next time).
	last        *render.Ruleset
	stats       struct{ incremental, unchanged, fallbacks, inPlace, inPlaceRefused, netlink, staged int }
	lastDiffErr error
	// own holds the process ids of the last nft runs, so the change
	// monitor can tell this applier's transactions from anyone else's.
	ownMu sync.Mutex
	own   []int
	// nl is the netfilter socket (nlbatch.go), nil until first used.
	nlMu sync.Mutex
	nl   *nlSock
	// pending is the last change's cleanup while it waits for its grace
	// period (grace.go), nil when there is none.
	pendMu  sync.Mutex
	pending *pendingCleanup
}

// ownRuns is how many recent nft process ids a Kernel remembers.
const ownRuns = 64

func (k *Kernel) noteOwn(pid int) {
	k.ownMu.Lock()
	defer k.ownMu.Unlock()
	k.own = append(k.own, pid)
	if len(k.own) > ownRuns {
		k.own = k.own[len(k.own)-ownRuns:]
	}
}

// isOwn reports whether a recent nft run of this applier had process id pid.
func (k *Kernel) isOwn(pid int) bool {
	k.ownMu.Lock()
	defer k.ownMu.Unlock()
	return slices.Contains(k.own, pid)
}

var _ Applier = (*Kernel)(nil)

// NewKernel checks that the namespace exists, and the nft binary when
// NoNetlink needs it (without NoNetlink a missing nft only disables
// Show, Check and ApplyText).
func NewKernel(cfg Config) (*Kernel, error) {
	cfg = cfg.Defaults()
	path, err := exec.LookPath(cfg.Binary)
	switch {
	case err != nil && cfg.NoNetlink:
		return nil, fmt.Errorf("nft: %w (install the nftables package)", err)
	case err != nil:
		path = ""
	}
	cfg.Binary = path
	if cfg.NetNS != "" {
		h, err := netns.GetFromPath(cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("nft: network namespace %s: %w", cfg.NetNS, err)
		}
		h.Close()
	}
	return &Kernel{cfg: cfg}, nil
}

// Apply replaces palisade's table with rs in one transaction.
func (k *Kernel) Apply(ctx context.Context, rs *render.Ruleset) error {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.settle()
	if err := checkTable(rs); err != nil {
		return err
	}
	if !k.cfg.NoNetlink {
		return k.applyNetlink(ctx, rs)
	}
	if done, err := k.applyDiff(ctx, rs); done {
		return err
	}
	if rs != nil && len(rs.Counters) > 0 {
		// Carry the counts of counters that stay over the replacement.
		if now, err := k.Counters(ctx); err == nil {
			rs = withCounts(rs, now)
		}
	}
	text, err := rulesetText(rs)
	if err != nil {
		return err
	}
	if k.replaceInPlace(ctx, rs, text) {
		k.last = rs
		return nil
	}
	if err := k.transact(ctx, "apply", text, false); err != nil {
		return err
	}
	k.last = rs
	return nil
}

// applyDiff applies the difference from the ruleset last applied, when
// there is one and the change can be made in place (diff.go): done is
// false when the whole table must be replaced (no earlier ruleset, a change
// Diff does not handle, or the incremental transaction failed, which
// leaves the kernel as it was).
func (k *Kernel) applyDiff(ctx context.Context, rs *render.Ruleset) (done bool, err error) {
	if k.last == nil || rs == nil {
		return false, nil
	}
	d, full := diffOf(k.last, rs)
	if full {
		return false, nil
	}
	pre, script, post := d.prepareScript(), d.script(), d.cleanupScript()
	if pre == "" && script == "" && post == "" {
		k.last = rs
		k.stats.unchanged++
		return true, nil
	}
	// What the change adds first, then the rest, then, a grace period
	// later, the deletions (differ.prepare and differ.commit say why).
	for i, part := range []string{pre, script, post} {
		if part == "" {
			continue
		}
		if i == 2 {
			gracePeriod()
		}
		if _, stderr, err := k.run(ctx, part, "-f", "-"); err != nil {
			if i > 0 && pre+script != "" {
				k.last = nil // the table holds part of the change: the replace reads it
			}
			k.stats.fallbacks++
			k.lastDiffErr = fmt.Errorf("incremental update failed, replacing the table: %v: %s", err, strings.TrimSpace(stderr))
			return false, nil
		}
	}
	k.last = rs
	k.stats.incremental++
	return true, nil
}

// Forget makes the next Apply replace the whole table: the kernel may not
// hold what was applied last (another process changed it).
func (k *Kernel) Forget() {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.settle()
	k.last = nil
}

// ApplyStats counts how Apply wrote: whole-table replacements are the
// rest of the successful applies.
type ApplyStats struct {
	Incremental int // differences applied in place
	Unchanged   int // nothing differed: nothing written
	Fallbacks   int // incremental transactions that failed (then replaced)
	// Whole replaces that kept the table and its base chains, and those
	// the kernel refused (the table was then deleted and re-created).
	Replaced, ReplaceRefused int
	// Netlink: transactions written over netlink (all of them unless
	// Config.NoNetlink), incremental and whole.
	Netlink int
	// Staged: tables created where there was none, in parts with the
	// hooks last (nlapply.go); counted in Netlink too.
	Staged int
}

// Stats returns the apply counts and the last incremental failure.
func (k *Kernel) Stats() (ApplyStats, error) {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.settle()
	return ApplyStats{Incremental: k.stats.incremental, Unchanged: k.stats.unchanged, Fallbacks: k.stats.fallbacks,
		Replaced: k.stats.inPlace, ReplaceRefused: k.stats.inPlaceRefused, Netlink: k.stats.netlink, Staged: k.stats.staged}, k.lastDiffErr
}

// ApplyText is Apply for a ruleset already printed: the table block or
// only its body.
func (k *Kernel) ApplyText(ctx context.Context, text string) error {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.settle()
	k.last = nil
	return k.transact(ctx, "apply", text, false)
}

// NetNS is the path of the network namespace the applier programs ("" for
// the caller's own).
func (k *Kernel) NetNS() string { return k.cfg.NetNS }

// Check asks nft whether rs would apply (`nft -c`), without changing the
// kernel.
func (k *Kernel) Check(ctx context.Context, rs *render.Ruleset) error {
	text, err := rulesetText(rs)
	if err != nil {
		return err
	}
	return k.transact(ctx, "check", text, true)
}

func (k *Kernel) transact(ctx context.Context, op, text string, check bool) error {
	script, bodyLine := Script(text)
	args := []string{"-f", "-"}
	if check {
		args = []string{"-c", "-f", "-"}
	}
	_, stderr, err := k.run(ctx, script, args...)
	if err != nil {
		return &ApplyError{Op: op, Lines: parseErrors(stderr, text, bodyLine), Stderr: stderr, Err: err}
	}
	return nil
}

// Delete removes palisade's table (and nothing else) in one transaction;
// no table is not an error.
func (k *Kernel) Delete(ctx context.Context) error {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.settle()
	k.last = nil
	if !k.cfg.NoNetlink {
		b := &nlBatch{}
		b.addTable()
		b.delTable()
		if err := k.commit(b); err != nil {
			return &ApplyError{Op: "delete", Err: err}
		}
		return nil
	}
	script := fmt.Sprintf("add table %s %s\ndelete table %s %s\n",
		render.TableFamily, render.TableName, render.TableFamily, render.TableName)
	if _, stderr, err := k.run(ctx, script, "-f", "-"); err != nil {
		return &ApplyError{Op: "delete", Stderr: stderr, Err: err}
	}
	return nil
}

// Show lists palisade's table as the kernel holds it (nft's own formatting,
// which normalises the applied text), or ErrNoTable.
func (k *Kernel) Show(ctx context.Context) (string, error) {
	k.waitCleanup()
	out, stderr, err := k.run(ctx, "", "list", "table", render.TableFamily, render.TableName)
	if err != nil {
		if strings.Contains(stderr, "No such file or directory") {
			return "", ErrNoTable
		}
		return "", &ApplyError{Op: "show", Stderr: stderr, Err: err}
	}
	return out, nil
}

// ErrNoNft: the operation needs the nft binary, which is not installed.
var ErrNoNft = errors.New("nft: the nft binary is not installed (install the nftables package to list or check the table as text; the agent writes over netlink without it)")

// run runs nft with stdin inside the configured namespace.
func (k *Kernel) run(ctx context.Context, stdin string, args ...string) (string, string, error) {
	if k.cfg.Binary == "" {
		return "", ErrNoNft.Error(), ErrNoNft
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.cfg.Binary, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := startIn(k.cfg.NetNS, cmd); err != nil {
		return "", "", err
	}
	k.noteOwn(cmd.Process.Pid)
	err := cmd.Wait()
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return out.String(), errb.String(), err
}

// startIn starts cmd inside the namespace at path ("" = here): the child
// is forked from a locked OS thread that entered the namespace, and so is
// born in it.
func startIn(path string, cmd *exec.Cmd) error { return inNamespace(path, cmd.Start) }

// inNamespace runs f on a locked OS thread that entered the network
// namespace at path ("" = f runs here), then returns the thread to its
// own namespace. What f creates (a child process, a socket) keeps the
// namespace it was created in.
func inNamespace(path string, f func() error) error {
	if path == "" {
		return f()
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("nft: network namespace %s: %w", path, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("nft: enter %s: %w", path, err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked; the runtime discards it.
		return errors.Join(ferr, fmt.Errorf("nft: leave %s: %w", path, err))
	}
	runtime.UnlockOSThread()
	return ferr
}
