package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/store"
)

// AutoHEP is the automatic host endpoint controller. Create it with
// NewAutoHEP and start it with Run; Status and Ready may be called from
// any goroutine.
type AutoHEP struct {
	st      store.Store
	opts    Options
	log     *slog.Logger
	metrics *metrics

	mu     sync.Mutex
	status Status

	// hook, when set (tests), is called by Run's goroutine after every
	// round of work.
	hook func(round)
}

// Status is a snapshot of the controller's state.
type Status struct {
	// Synced is true once the datastore watch is synced and the first full
	// sync has succeeded; false again while the watch is re-established.
	Synced bool
	// Enabled says whether autoCreate is Enabled in the configuration.
	Enabled bool
	// Nodes and ManagedHostEndpoints count what the controller knows of.
	Nodes, ManagedHostEndpoints int
	LastFullSync                time.Time
	// WatchError is why the watch is down, if it is.
	WatchError string
	// LastError is the most recent failure of any kind, and when it was.
	LastError     string
	LastErrorTime time.Time
}

// round describes one round of work, for tests.
type round struct {
	full   bool
	nodes  []string
	failed bool
}

// NewAutoHEP returns a controller over st. Nothing happens until Run.
func NewAutoHEP(st store.Store, opts Options) *AutoHEP {
	opts = opts.withDefaults()
	a := &AutoHEP{st: st, opts: opts, log: opts.Logger.With("controller", "autohep"), metrics: newMetrics()}
	if opts.Registerer != nil {
		if err := a.metrics.register(opts.Registerer); err != nil {
			a.log.Warn("metrics not registered", "error", err)
		}
	}
	a.status.WatchError = "not started"
	return a
}

// Status returns a snapshot of the controller's state.
func (a *AutoHEP) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// Ready returns nil when the controller is synced with the datastore, and a
// *NotReadyError saying why not otherwise.
func (a *AutoHEP) Ready() error {
	s := a.Status()
	switch {
	case s.Synced:
		return nil
	case s.WatchError != "":
		return &NotReadyError{Reason: "datastore watch: " + s.WatchError}
	case s.LastError != "":
		return &NotReadyError{Reason: "first full sync not done: " + s.LastError}
	}
	return &NotReadyError{Reason: "waiting for the datastore watch to sync"}
}

// errWatchClosed: the store closed the watch channel while ctx was live.
var errWatchClosed = errors.New("watch channel closed")

// Run runs the controller until ctx is done, then returns nil. A failed or
// closed watch is re-established with backoff (the caches are rebuilt from
// a fresh list, and nothing is written until it is synced).
func (a *AutoHEP) Run(ctx context.Context) error {
	delay := a.opts.RetryDelay
	for {
		start := a.opts.Clock.Now()
		err := a.runWatch(ctx)
		if ctx.Err() != nil {
			a.setNotSynced("stopped")
			return nil
		}
		a.setNotSynced(err.Error())
		a.metrics.errors.Inc()
		if a.opts.Clock.Now().Sub(start) > a.opts.MaxRetryDelay {
			delay = a.opts.RetryDelay // it ran well for a while: start over
		}
		a.log.Warn("datastore watch failed; restarting", "error", err, "in", delay)
		t := a.opts.Clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			a.setNotSynced("stopped")
			return nil
		case <-t.C():
		}
		delay = min(2*delay, a.opts.MaxRetryDelay)
	}
}

func (a *AutoHEP) setNotSynced(reason string) {
	a.mu.Lock()
	a.status.Synced = false
	a.status.WatchError = reason
	a.mu.Unlock()
	a.metrics.synced.Set(0)
}

// loop is the state of one watch: the cache and what is pending.
type loop struct {
	a        *AutoHEP
	c        *cache
	synced   bool // the watch has reported Synced at least once
	ready    bool // a full sync has succeeded since
	full     bool // a full sync is pending
	dirty    map[string]bool
	failed   map[string]bool
	failFull bool
	batch    *time.Timer
	resync   Timer
	retry    Timer
	backoff  time.Duration
}

// runWatch watches the datastore and reconciles until the watch fails or
// ctx is done.
func (a *AutoHEP) runWatch(ctx context.Context) error {
	ch, err := a.st.Watch(ctx, 0, watchedKinds...)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	a.mu.Lock()
	a.status.WatchError = ""
	a.mu.Unlock()
	l := &loop{a: a, c: newCache(), dirty: map[string]bool{}, failed: map[string]bool{}, backoff: a.opts.RetryDelay}
	defer l.stopTimers()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-ch:
			if !ok {
				return errWatchClosed
			}
			l.event(ev)
		case <-timerC(l.batch):
			l.batch = nil
			l.work(ctx)
		case <-clockC(l.resync):
			l.resync = nil
			l.full = true
			l.work(ctx)
		case <-clockC(l.retry):
			l.retry = nil
			l.full = l.full || l.failFull
			maps.Copy(l.dirty, l.failed)
			l.failed, l.failFull = map[string]bool{}, false
			l.work(ctx)
		}
	}
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func clockC(t Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C()
}

func (l *loop) stopTimers() {
	if l.batch != nil {
		l.batch.Stop()
	}
	for _, t := range []Timer{l.resync, l.retry} {
		if t != nil {
			t.Stop()
		}
	}
}

// event records a watch event and schedules the work it calls for.
func (l *loop) event(ev store.Event) {
	if ev.Type == store.Synced {
		// The first Synced, or a re-list after a broken watch: either way
		// the cache may hide changes, so sync everything.
		l.synced = true
		l.full = true
		l.schedule()
		return
	}
	ch := l.c.apply(ev)
	l.full = l.full || ch.full
	for _, n := range ch.nodes {
		l.dirty[n] = true
	}
	if ch.full || len(ch.nodes) > 0 {
		l.schedule()
	}
}

// schedule starts the batch timer unless it runs or the watch is not
// synced yet.
func (l *loop) schedule() {
	if l.synced && l.batch == nil {
		l.batch = time.NewTimer(l.a.opts.BatchDelay)
	}
}

// work does what is pending: a full sync, or a sync of the dirty nodes.
func (l *loop) work(ctx context.Context) {
	a := l.a
	r := round{full: l.full}
	if l.full {
		l.full = false
		l.dirty = map[string]bool{}
		err := a.syncAll(ctx, l.c)
		l.failFull = err != nil
		r.failed = err != nil
		l.afterFullSync(err)
	} else if len(l.dirty) > 0 {
		r.nodes = slices.Sorted(maps.Keys(l.dirty))
		l.dirty = map[string]bool{}
		for _, n := range a.syncNodes(ctx, l.c, r.nodes) {
			l.failed[n] = true
			r.failed = true
		}
	}
	l.scheduleRetry()
	l.publish()
	if a.hook != nil {
		a.hook(r)
	}
}

// afterFullSync restarts the periodic timer and marks the controller ready
// after its first successful full sync.
func (l *loop) afterFullSync(err error) {
	if l.resync != nil {
		l.resync.Stop()
	}
	l.resync = l.a.opts.Clock.NewTimer(l.a.opts.ResyncPeriod)
	if err == nil && !l.ready {
		l.ready = true
		l.a.log.Info("automatic host endpoints synced", "nodes", len(l.c.nodeNames()), "managed", len(l.c.heps))
	}
	if err == nil {
		l.a.mu.Lock()
		l.a.status.LastFullSync = l.a.opts.Clock.Now()
		l.a.mu.Unlock()
	}
}

// scheduleRetry arms the retry timer when something failed, with a delay
// that doubles while failures go on.
func (l *loop) scheduleRetry() {
	if !l.failFull && len(l.failed) == 0 {
		l.backoff = l.a.opts.RetryDelay
		return
	}
	if l.retry != nil {
		return
	}
	l.retry = l.a.opts.Clock.NewTimer(l.backoff)
	l.backoff = min(2*l.backoff, l.a.opts.MaxRetryDelay)
}

// publish copies the loop's state into the status snapshot and metrics.
func (l *loop) publish() {
	a := l.a
	cfg := l.c.hepConfig()
	a.mu.Lock()
	a.status.Synced = l.ready
	a.status.Enabled = cfg != nil && cfg.AutoCreate == autohep.Enabled
	a.status.Nodes = len(l.c.nodeNames())
	a.status.ManagedHostEndpoints = len(l.c.heps)
	a.mu.Unlock()
	if l.ready {
		a.metrics.synced.Set(1)
	}
	a.metrics.managed.Set(float64(len(l.c.heps)))
}
