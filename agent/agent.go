package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisade-net/palisade/cni/install"
	"github.com/palisade-net/palisade/internal/sdnotify"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

// Agent is a running palisade agent: it keeps the node's ruleset in the
// kernel in step with the datastore. See the package documentation for the
// contracts.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	st    store.Store
	nft   nft.Applier
	ifs   InterfaceSource
	reg   *prometheus.Registry
	m     *metrics
	state *status

	http *http.Server
	addr net.Addr

	flows      *flows // the flow log (nil without a namespace-aware applier)
	httpCancel context.CancelFunc

	cni     *cniBackend  // with Config.CNISocket
	cniHTTP *http.Server // serving cni

	// relist asks the watch to start again from a new full list (the
	// engine's staged view needs every object, see stagedCache).
	relist chan struct{}

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New checks the configuration and returns an agent that is not running
// yet. The agent uses st but does not close it; it programs the kernel
// only through ap, and learns the host's interfaces from ifs.
func New(cfg Config, st store.Store, ap nft.Applier, ifs InterfaceSource) (*Agent, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil || ap == nil || ifs == nil {
		return nil, errors.New("agent: a store, an applier and an interface source are required")
	}
	a := &Agent{cfg: cfg, log: cfg.Logger.With("node", cfg.Node), st: st, nft: ap, ifs: ifs,
		reg: prometheus.NewRegistry(), m: newMetrics(), state: newStatus(), relist: make(chan struct{}, 1)}
	a.m.register(a.reg)
	if cr, ok := ap.(nft.CounterReader); ok && cfg.RuleMetrics != RuleMetricsOff {
		a.reg.MustRegister(newRuleCollector(cr, cfg.RuleMetrics, cfg.ApplyTimeout))
	}
	if ks, ok := ap.(interface {
		Stats() (nft.ApplyStats, error)
	}); ok {
		stat := func(name, help string, f func(nft.ApplyStats) int) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
				st, _ := ks.Stats()
				return float64(f(st))
			})
		}
		a.reg.MustRegister(
			stat("palisade_nft_incremental_applies_total", "Changes applied in place (only what differs from the last ruleset).",
				func(s nft.ApplyStats) int { return s.Incremental }),
			stat("palisade_nft_unchanged_applies_total", "Applies that found nothing different and wrote nothing.",
				func(s nft.ApplyStats) int { return s.Unchanged }),
			stat("palisade_nft_incremental_fallbacks_total", "Incremental transactions the kernel refused (the table was then replaced whole).",
				func(s nft.ApplyStats) int { return s.Fallbacks }),
			stat("palisade_nft_netlink_applies_total", "Transactions written over netlink (all of them unless the agent runs nft scripts).",
				func(s nft.ApplyStats) int { return s.Netlink }),
			stat("palisade_nft_whole_replaces_total", "Whole-table replaces that kept the table and its base chains registered.",
				func(s nft.ApplyStats) int { return s.Replaced }),
			stat("palisade_nft_whole_replace_recreates_total",
				"Whole-table replaces the kernel refused in place (the table was then deleted and re-created in one transaction).",
				func(s nft.ApplyStats) int { return s.ReplaceRefused }))
	}
	fl, err := a.newFlows()
	if err != nil {
		return nil, err
	}
	a.flows = fl
	return a, nil
}

// Start starts the health endpoints and, in the background, the watch,
// the interface monitor, the node registration and the main loop. ctx
// bounds the start only; stop the agent with Close.
func (a *Agent) Start(ctx context.Context) error {
	if a.cfg.HealthListen != "-" {
		if err := a.serveHealth(); err != nil {
			return err
		}
	}
	if a.cfg.CNISocket != "" {
		b, err := newCNIBackend(a.cfg.CNIStateDir, a.Ready)
		if err != nil {
			return err
		}
		a.cni = b
		if err := a.serveCNI(b); err != nil {
			return err
		}
		if a.cfg.CNIConfDir != "" {
			a.state.lock(func(s *status) { s.cniConfErr = errors.New("not written yet") })
		}
	}
	a.inherited(ctx)
	bg, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	updates := make(chan update, 256)
	ifaces := make(chan []HostInterface, 1)
	reg := newRegistrar(a.st, a.cfg, a.state.setRegisterErr)
	if a.cfg.NoRegister {
		reg = nil
	}
	l := newLoop(a, newEngine(a.cfg.Engine, a.cfg.Rules, a.cfg.Node), reg)
	a.goRun(func() { a.watch(bg, updates) })
	a.goRun(func() {
		if err := a.ifs.Run(bg, ifaces); err != nil {
			a.log.Error("interface monitor stopped", "error", err)
		}
	})
	if reg != nil {
		a.goRun(func() { reg.run(bg) })
	}
	a.goRun(func() { a.probe(bg) })
	if a.cni != nil && a.cfg.CNIConfDir != "" {
		a.goRun(func() { a.keepCNIConf(bg) })
	}
	changes := a.watchKernel(bg)
	a.goRun(func() { l.run(bg, updates, ifaces, changes) })
	a.log.Info("agent started", "health", a.HealthAddr())
	return nil
}

func (a *Agent) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// inherited logs whether palisade's table is already in the kernel (a
// restart): it stays in force, untouched, until the first full sync
// replaces it in one transaction.
func (a *Agent) inherited(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ApplyTimeout)
	defer cancel()
	_, err := a.tableState(ctx)
	switch {
	case err == nil:
		a.log.Info("palisade's table is in the kernel from an earlier run; it stays in force until the first full sync replaces it")
	case errors.Is(err, nft.ErrNoTable):
		a.log.Info("no palisade table in the kernel yet; nothing is written before the first full sync")
	default:
		a.log.Warn("reading palisade's table", "error", err)
	}
}

// Close stops the agent. It never touches the kernel: the last ruleset
// stays in force while the agent is down. It is safe to call more than
// once.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		if a.cancel != nil {
			a.cancel()
		}
		done := make(chan struct{})
		go func() { a.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(a.cfg.ShutdownTimeout):
			errs = append(errs, errors.New("agent: background work did not stop in time"))
		}
		if a.cniHTTP != nil {
			// The entry goes first: a chained plugin whose agent is gone
			// would fail every new pod.
			if a.cfg.CNIConfDir != "" {
				if _, err := install.Uninstall(a.cfg.CNIConfDir); err != nil {
					errs = append(errs, fmt.Errorf("removing palisade-cni from the CNI configuration: %w", err))
				}
			}
			_ = a.cniHTTP.Close() // ADDs waiting get an error: the kubelet retries
		}
		if a.http != nil {
			a.httpCancel() // ends /flows streams
			ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
			if err := a.http.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping the health endpoints: %w", err))
			}
			cancel()
		}
		a.flows.close()
		a.closeErr = errors.Join(errs...)
		a.log.Info("agent stopped; the last ruleset stays in force")
	})
	return a.closeErr
}

// Run starts an agent, runs it until ctx is done and stops it (leaving the
// ruleset in the kernel). It returns nil after a clean stop.
func Run(ctx context.Context, cfg Config, st store.Store, ap nft.Applier, ifs InterfaceSource) error {
	a, err := New(cfg, st, ap, ifs)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	go sdnotify.Run(ctx, a.Ready, a.Live) // under systemd (Type=notify): READY=1, WATCHDOG=1
	<-ctx.Done()
	a.log.Info("stopping", "reason", context.Cause(ctx))
	return a.Close()
}

// Cleanup removes palisade's table, and nothing else, through ap.
func Cleanup(ctx context.Context, ap nft.Applier) error {
	if err := ap.Delete(ctx); err != nil {
		return fmt.Errorf("removing palisade's table: %w", err)
	}
	return nil
}

// Registry returns the agent's Prometheus registry.
func (a *Agent) Registry() *prometheus.Registry { return a.reg }

// HealthAddr returns the address of the health endpoints ("" when off).
func (a *Agent) HealthAddr() string {
	if a.addr == nil {
		return ""
	}
	return a.addr.String()
}

// watch runs the datastore watch of every kind, from a full list, and
// forwards its events. A watch that cannot start is retried with backoff;
// one that ends (the store's own watch re-lists by itself, so only a
// closed store ends it) is started again from a new list, announced by a
// relist update so that the loop can drop what the new list lacks.
func (a *Agent) watch(ctx context.Context, out chan<- update) {
	delay := a.cfg.RetryDelay
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		ch, err := a.st.Watch(wctx, 0)
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return
			}
			a.state.setSyncErr(err)
			a.log.Warn("cannot watch the datastore; retrying (the kernel keeps what it has)", "error", err, "in", delay)
			sleepCtx(ctx, delay)
			delay = min(2*delay, a.cfg.MaxRetryDelay)
			continue
		}
		delay = a.cfg.RetryDelay
		if !send(ctx, out, update{relist: true}) {
			cancel()
			return
		}
		asked, ok := a.forward(ctx, ch, out)
		cancel()
		switch {
		case !ok:
			return
		case asked:
			a.log.Info("watching again from a new list, for the staged policies' view")
		case ctx.Err() == nil:
			a.log.Warn("the datastore watch ended; watching again from a new list")
			sleepCtx(ctx, a.cfg.RetryDelay)
		}
	}
}

// forward sends the watch's events until it ends or a new list is asked
// for (asked); ok is false when ctx ended.
func (a *Agent) forward(ctx context.Context, ch <-chan store.Event, out chan<- update) (asked, ok bool) {
	for {
		select {
		case ev, open := <-ch:
			if !open {
				return false, ctx.Err() == nil
			}
			if !send(ctx, out, update{ev: ev}) {
				return false, false
			}
		case <-a.relist:
			return true, true
		case <-ctx.Done():
			return false, false
		}
	}
}

func send(ctx context.Context, out chan<- update, u update) bool {
	select {
	case out <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// probe reads the agent's Node every ProbeInterval and records whether the
// datastore answered (for /readiness).
func (a *Agent) probe(ctx context.Context) {
	for {
		pctx, cancel := context.WithTimeout(ctx, a.cfg.ProbeTimeout)
		_, err := a.st.Get(pctx, nodeKey(a.cfg.Node))
		cancel()
		if ctx.Err() != nil {
			return
		}
		if store.IsNotFound(err) {
			err = nil
		}
		a.state.setStoreErr(err)
		if !sleepCtx(ctx, a.cfg.ProbeInterval) {
			return
		}
	}
}

// watchKernel starts the applier's change monitor, when it has one: a
// signal means another process changed palisade's table (the loop
// re-applies) or may have (set elements; the loop compares first). nil
// when there is no monitor; the loop then compares every DriftInterval.
func (a *Agent) watchKernel(ctx context.Context) <-chan nft.Change {
	w, ok := a.nft.(nft.Watcher)
	if !ok {
		return nil
	}
	ch, err := w.Changes(ctx)
	if err != nil {
		a.log.Warn("cannot monitor the kernel's nftables changes; polling for drift instead", "error", err,
			"every", a.cfg.DriftInterval)
		return nil
	}
	return ch
}
