package controller

import "github.com/prometheus/client_golang/prometheus"

// metrics are the controller's Prometheus collectors.
type metrics struct {
	syncs   *prometheus.CounterVec // scope: full, node
	created prometheus.Counter
	updated prometheus.Counter
	deleted prometheus.Counter
	errors  prometheus.Counter
	managed prometheus.Gauge
	synced  prometheus.Gauge
}

func newMetrics() *metrics {
	const ns, sub = "palisade", "autohep"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	return &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "syncs_total",
			Help: "Syncs of automatic host endpoints, by scope (full: every node; node: the dirty nodes).",
		}, []string{"scope"}),
		created: counter("hostendpoints_created_total", "Automatic host endpoints created."),
		updated: counter("hostendpoints_updated_total", "Automatic host endpoints updated (including reverted edits)."),
		deleted: counter("hostendpoints_deleted_total", "Managed host endpoints deleted."),
		errors:  counter("errors_total", "Failed store calls and unusable configurations."),
		managed: gauge("managed_hostendpoints", "Managed host endpoints the controller knows of."),
		synced:  gauge("synced", "1 once the datastore watch is synced and the first full sync succeeded."),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.syncs, m.created, m.updated, m.deleted, m.errors, m.managed, m.synced}
}

// register adds the collectors to r; a collector already registered is
// an error (two controllers on one registry).
func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range m.collectors() {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
