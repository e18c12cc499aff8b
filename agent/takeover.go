package agent

import (
	"context"
	"errors"
	"time"

	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

// A restarted agent takes over the table its previous run left instead of
// reloading it: the run saves the ruleset it applied with the digest of
// the table as the kernel listed it (Config.StateFile), and the next run
// adopts that ruleset when the kernel still lists the same table, so its
// first transaction writes only what changed meanwhile, usually nothing.
// Without a saved state, or when the table differs (another run, a reboot,
// someone else's change), the first transaction replaces the table whole,
// in one atomic step as always.

// adopter is an applier that can take over a table (nft.Kernel).
type adopter interface {
	Adopt(*render.Ruleset)
}

// takeOver adopts the saved ruleset when the kernel holds it.
func (l *loop) takeOver(ctx context.Context) {
	ad, ok := l.a.nft.(adopter)
	if !ok || l.a.cfg.StateFile == "-" {
		return
	}
	s, err := nft.LoadState(l.a.cfg.StateFile)
	if err != nil {
		if !errors.Is(err, nft.ErrNoState) {
			l.a.log.Warn("cannot read the saved ruleset; the table will be replaced", "error", err)
		}
		return
	}
	listing := l.readBack(ctx)
	if listing == "" || nft.Digest(listing) != s.Digest {
		l.a.log.Info("the kernel's table is not the one this node's agent saved; it will be replaced whole",
			"stateFile", l.a.cfg.StateFile)
		return
	}
	ad.Adopt(s.Ruleset)
	if c, ok := l.eng.(interface{ compileAtOnce() }); ok {
		c.compileAtOnce()
	}
	l.a.m.takeovers.Inc()
	l.a.log.Info("took over the table the previous run left; only differences will be written",
		"stateFile", l.a.cfg.StateFile)
}

// saveState records the ruleset the kernel holds (l.appliedRS) with the
// digest of the table as last read (l.kernelText).
func (l *loop) saveState() {
	if l.a.cfg.StateFile == "-" || l.appliedRS == nil || l.kernelText == "" {
		return
	}
	if _, ok := l.a.nft.(adopter); !ok {
		return
	}
	start := time.Now()
	err := nft.SaveState(l.a.cfg.StateFile, nft.State{Ruleset: l.appliedRS, Digest: nft.Digest(l.kernelText)})
	if err != nil {
		l.a.log.Warn("cannot save the applied ruleset; a restart will replace the table", "error", err)
		return
	}
	l.a.log.Debug("saved the applied ruleset", "stateFile", l.a.cfg.StateFile, "took", time.Since(start).Round(time.Microsecond))
}

// saveOnExit reads the table back and saves the state when the agent
// stops with its ruleset in force.
func (l *loop) saveOnExit(ctx context.Context) {
	if !l.hasApplied || l.retryC != nil || l.appliedRS == nil {
		return
	}
	if l.kernelText == "" {
		l.kernelText = l.readBack(ctx)
	}
	l.saveState()
}
