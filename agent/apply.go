package agent

import (
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/palisade-net/palisade/nft"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/palisade-net/palisade/policy"
)

// flush computes the ruleset when anything changed and applies it when it
// differs from what this agent last applied (always, the first time: the
// table left by an earlier run is replaced in one transaction). A failed
// transaction leaves the previous ruleset in force and is retried with
// backoff; a new state is tried at the next batch anyway.
func (l *loop) flush(ctx context.Context) {
	if !l.synced {
		return
	}
	if !l.haveRes || (l.dirty && l.eng.Changed()) {
		if !l.compute() {
			return
		}
	}
	l.dirty = false
	if l.hasApplied && l.digest == l.applied {
		l.stopRetry()
		l.a.state.setApplied()
		l.reportProgrammed()
		return
	}
	l.apply(ctx)
}

// reportProgrammed tells the CNI backend which workload each interface the
// kernel now dispatches to a workload's policy belongs to (ADDs waiting for
// their pod return).
func (l *loop) reportProgrammed() {
	if l.a.cni == nil || !l.haveRes {
		return
	}
	owner := map[string]string{}
	for _, w := range l.workloads {
		ifc := w.iface
		if b, ok := l.report.Bound[w.key]; ok {
			ifc = b
		}
		owner[ifc] = w.key
	}
	p := map[string]string{}
	for _, ifc := range l.res.Ruleset.WorkloadInterfaces() {
		if k, ok := owner[ifc]; ok {
			p[ifc] = k
		}
	}
	l.a.cni.setProgrammed(p)
}

// compute runs the engine; false when it failed (the failure is logged and
// reported, and the previous ruleset stays).
func (l *loop) compute() bool {
	start := time.Now()
	res, err := l.eng.Render()
	l.a.m.calcTime.Observe(time.Since(start).Seconds())
	l.dirty = false
	if err != nil {
		l.a.state.setRender(err, len(res.Problems))
		l.a.log.Error("computing the ruleset failed; the previous ruleset stays in force", "error", err)
		return false
	}
	if len(res.Problems) != l.problems {
		for _, p := range res.Problems {
			l.a.log.Warn("model problem (the object is left out, or failed closed)", "problem", p)
		}
		l.problems = len(res.Problems)
	}
	l.a.m.problems.Set(float64(len(res.Problems)))
	l.a.state.setRender(nil, len(res.Problems))
	l.reportFailClosed(res.Problems)
	l.res, l.digest, l.haveRes = res, sha256.Sum256([]byte(res.Ruleset.Text())), true
	return true
}

// apply runs one transaction. It is not cut short by ctx (a stop waits for
// it), only by ApplyTimeout.
func (l *loop) apply(ctx context.Context) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.a.cfg.ApplyTimeout)
	start := time.Now()
	err := l.a.nft.Apply(actx, l.res.Ruleset)
	cancel()
	took := time.Since(start)
	l.a.m.applyTime.Observe(took.Seconds())
	if err != nil {
		l.failures++
		l.a.m.failures.Inc()
		delay := l.retryDelay
		l.retryDelay = min(2*l.retryDelay, l.a.cfg.MaxRetryDelay)
		l.a.state.setApplyFailed(err, l.failures, delay)
		l.a.log.Error("applying the ruleset failed; the previous ruleset stays in force",
			"error", err, "failures", l.failures, "retryIn", delay)
		l.armRetry(delay)
		return
	}
	first := !l.hasApplied
	l.applied, l.hasApplied, l.appliedRS = l.digest, true, l.res.Ruleset
	l.kernelText = ""
	if !l.monitored {
		l.kernelText = l.readBack(ctx) // polling: the baseline must predate any other change
		l.saveState()
	}
	l.failures, l.retryDelay = 0, l.a.cfg.RetryDelay
	l.stopRetry()
	l.a.flows.applied(l.a, ctx, l.res.Ruleset) // before the agent says it is ready
	l.a.state.setApplied()
	l.a.m.applied(l.res)
	l.a.m.applies.Inc()
	l.a.m.lastApplied.SetToCurrentTime()
	l.reportProgrammed()
	l.logApply(first, took)
	if p, ok := l.eng.(interface{ Pending() bool }); ok && p.Pending() {
		l.a.log.Info("the linear form is in force; compiling the rules (--rules compiled) comes next")
		l.markDirty()
	}
}

// logApply logs one transaction: its size, what changed since the last,
// why (the kinds of the changes in the batch) and how long it took. At
// most one line a second is at Info (the rest at Debug, counted in the
// next Info line), so a burst of changes does not flood the log.
func (l *loop) logApply(first bool, took time.Duration) {
	st := l.res.Ruleset.Stats()
	prev := l.lastStats
	l.lastStats = st
	reasons := make([]string, 0, len(l.why))
	for _, k := range slices.Sorted(maps.Keys(l.why)) {
		reasons = append(reasons, fmt.Sprintf("%s:%d", k, l.why[k]))
	}
	clear(l.why)
	attrs := []any{"chains", st.Chains, "rules", st.Rules, "sets", st.Sets, "elements", st.SetElements + st.MapElements,
		"endpoints", l.res.Endpoints, "policies", l.res.Policies, "took", took.Round(time.Microsecond)}
	if !first {
		attrs = append(attrs, "changed", fmt.Sprintf("chains %+d, rules %+d, sets %+d, elements %+d", st.Chains-prev.Chains,
			st.Rules-prev.Rules, st.Sets-prev.Sets, st.SetElements+st.MapElements-prev.SetElements-prev.MapElements))
	}
	if len(reasons) > 0 {
		attrs = append(attrs, "why", strings.Join(reasons, ","))
	}
	if !first && time.Since(l.lastInfoLog) < time.Second {
		l.quietApplies++
		l.a.log.Debug("applied the ruleset", attrs...)
		return
	}
	if l.quietApplies > 0 {
		attrs = append(attrs, "alsoAppliedSinceLastLine", l.quietApplies)
	}
	l.quietApplies, l.lastInfoLog = 0, time.Now()
	l.a.log.Info("applied the ruleset", attrs...)
}

func (l *loop) armRetry(d time.Duration) {
	if l.retry == nil {
		l.retry = time.NewTimer(d)
	} else {
		l.retry.Reset(d)
	}
	l.retryC = l.retry.C
}

func (l *loop) stopRetry() {
	if l.retry != nil {
		l.retry.Stop()
	}
	l.retryC = nil
}

// reportFailClosed publishes the problems the node fails closed on: in
// readiness (not ready while any exists) and as palisade_agent_fail_closed.
func (l *loop) reportFailClosed(problems []error) {
	var fc []string
	for _, p := range problems {
		if policy.IsFailClosed(p) {
			fc = append(fc, p.Error())
		}
	}
	l.a.m.failClosed.Reset()
	for _, p := range fc {
		l.a.m.failClosed.WithLabelValues(p).Set(1)
	}
	l.a.state.setFailClosed(fc)
}

// fingerprinter reads a digest of the kernel's table over netlink
// (nft.Kernel), counter values left out.
type fingerprinter interface {
	Fingerprint(ctx context.Context) (string, error)
}

// tableState reads palisade's table as the kernel holds it, normalised
// for comparison: its fingerprint (nft.Kernel), or its listing without
// counts (other appliers); nft.ErrNoTable when there is none.
func (a *Agent) tableState(ctx context.Context) (string, error) {
	if fp, ok := a.nft.(fingerprinter); ok {
		return fp.Fingerprint(ctx)
	}
	text, err := a.nft.Show(ctx)
	if err != nil {
		return "", err
	}
	return nft.WithoutCounts(text), nil
}

// readBack is tableState with the apply timeout; "" when the table
// cannot be read.
func (l *loop) readBack(ctx context.Context) string {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.a.cfg.ApplyTimeout)
	defer cancel()
	s, err := l.a.tableState(rctx)
	if err != nil {
		return ""
	}
	return s
}

// checkDrift reads the table back and, when something outside the agent
// removed or changed it, applies the ruleset again at once (counted in
// palisade_agent_drift_repairs_total and logged). foreign says another
// process changed set elements (the monitor's indefinite signal).
//
// With the monitor, the agent does not read its table back after each
// write: the first check after a write takes the table as the baseline,
// unless another process changed elements since (foreign), when the table
// is restored whole, as the baseline cannot tell whose change it was.
func (l *loop) checkDrift(ctx context.Context, foreign bool) {
	if !l.hasApplied || !l.haveRes || l.retryC != nil {
		return
	}
	if l.kernelText == "" && l.monitored {
		if foreign {
			l.repairDrift(ctx, "changed")
			return
		}
		if l.kernelText = l.readBack(ctx); l.kernelText != "" {
			l.saveState()
			return
		}
	}
	now := l.readBack(ctx)
	if now == l.kernelText && now != "" {
		return
	}
	what := "changed"
	if now == "" {
		what = "removed"
	}
	l.repairDrift(ctx, what)
}

// repairDrift applies the ruleset again after someone else changed or
// removed palisade's table, counting and logging it.
func (l *loop) repairDrift(ctx context.Context, what string) {
	if !l.hasApplied || !l.haveRes {
		return
	}
	l.a.m.drift.Inc()
	l.why["drift"]++
	l.a.log.Warn("palisade's table was "+what+" outside the agent; restoring it", "table", "inet palisade")
	if f, ok := l.a.nft.(interface{ Forget() }); ok {
		f.Forget() // the kernel no longer holds what was applied: replace it whole
	}
	l.apply(ctx)
}
