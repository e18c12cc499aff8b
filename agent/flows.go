package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/palisade-net/palisade/flowlog"
	"github.com/palisade-net/palisade/render"
	"github.com/prometheus/client_golang/prometheus"
)

// netnsApplier is an applier that programs a network namespace it can
// name (nft.Kernel): flow logs are read from the same namespace.
type netnsApplier interface{ NetNS() string }

// flows is the agent's flow log: the collector of the NFLOG group, started
// the first time a ruleset with flow log rules is applied, and the hub
// `palisade flows` reads through /flows.
type flows struct {
	hub       *flowlog.Hub
	col       *flowlog.Collector
	mu        sync.Mutex
	running   bool
	file      *os.File
	startErrs prometheus.Counter
}

// newFlows prepares the flow log of an agent whose applier programs a
// namespace it can name; nil otherwise (the fake applier of unit tests).
func (a *Agent) newFlows() (*flows, error) {
	na, ok := a.nft.(netnsApplier)
	if !ok {
		return nil, nil
	}
	f := &flows{hub: flowlog.NewHub(a.cfg.FlowLogBuffer),
		startErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "palisade_flow_log_start_errors_total",
			Help: "Failures to bind the flow log NFLOG group."})}
	f.col = &flowlog.Collector{Node: a.cfg.Node, NetNS: na.NetNS(), Hub: f.hub, Logger: a.log}
	if a.cfg.FlowLogFile != "" {
		file, err := os.OpenFile(a.cfg.FlowLogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
		if err != nil {
			return nil, &ConfigError{Field: "flow-log-file", Err: err}
		}
		f.file, f.col.File = file, file
	}
	stat := func(name, help string, i int) prometheus.CounterFunc {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			r, u, m := f.col.Stats()
			return float64([]uint64{r, u, m}[i])
		})
	}
	a.reg.MustRegister(f.startErrs,
		stat("palisade_flow_log_records_total", "Flow log records made from logged packets.", 0),
		stat("palisade_flow_log_unknown_total", "Logged packets whose decision is not in the ruleset in force.", 1),
		stat("palisade_flow_log_malformed_total", "Logged packets whose headers could not be read.", 2),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "palisade_flow_log_follower_drops_total",
			Help: "Records a slow `palisade flows --follow` missed."}, func() float64 { return float64(f.hub.Dropped()) }))
	return f, nil
}

// applied tells the flow log the ruleset now in force, and starts the
// collector when the ruleset logs flows and it is not running.
func (f *flows) applied(a *Agent, ctx context.Context, rs *render.Ruleset) {
	if f == nil {
		return
	}
	f.col.Update(rs)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running || rs.FlowLog == nil {
		return
	}
	// Bound here, before the apply counts as done (and the agent as
	// ready): a packet logged once the agent says it is ready is seen.
	stop, err := f.col.Start(ctx)
	if err != nil {
		f.startErrs.Inc()
		a.log.Error("flow logs: cannot read the kernel's flow log; retried at the next change", "error", err)
		return
	}
	f.running = true
	a.goRun(func() {
		<-ctx.Done()
		stop()
		f.mu.Lock()
		f.running = false
		f.mu.Unlock()
	})
}

func (f *flows) close() {
	if f != nil && f.file != nil {
		_ = f.file.Close()
	}
}

// handleFlows serves /flows: the kept records as JSON lines, filtered by
// the query (verdict, from, to, policy, last), then with follow=1 each new
// record as it comes until the client goes away.
func (a *Agent) handleFlows(w http.ResponseWriter, r *http.Request) {
	if a.flows == nil {
		http.Error(w, "flow logs are not available with this agent's dataplane", http.StatusNotImplemented)
		return
	}
	q := r.URL.Query()
	flt, err := flowlog.ParseFilter(q.Get("verdict"), q.Get("from"), q.Get("to"), q.Get("policy"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	last, _ := strconv.Atoi(q.Get("last"))
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	var (
		ch   <-chan flowlog.Record
		stop func()
	)
	if follow {
		ch, stop = a.flows.hub.Follow()
		defer stop()
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, rec := range a.flows.hub.Recent(flt, last) {
		if enc.Encode(rec) != nil {
			return
		}
	}
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	if !follow {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case rec := <-ch:
			if !flt.Match(rec) {
				continue
			}
			if enc.Encode(rec) != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}
