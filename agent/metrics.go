package agent

import (
	"github.com/palisade-net/palisade/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the agent's Prometheus collectors, named after Felix's where
// Felix has one.
type metrics struct {
	endpoints   prometheus.Gauge
	policies    prometheus.Gauge
	calcTime    prometheus.Histogram
	applyTime   prometheus.Histogram
	failures    prometheus.Counter
	applies     prometheus.Counter
	chains      prometheus.Gauge
	rules       prometheus.Gauge
	sets        prometheus.Gauge
	maps        prometheus.Gauge
	elements    prometheus.Gauge
	synced      prometheus.Gauge
	problems    prometheus.Gauge
	failClosed  *prometheus.GaugeVec
	drift       prometheus.Counter
	takeovers   prometheus.Counter
	resyncs     prometheus.Counter
	lastApplied prometheus.Gauge
	interfaces  *prometheus.GaugeVec
	resync      prometheus.Gauge
	selectors   prometheus.Gauge
	numHosts    prometheus.Gauge
	numWEPs     prometheus.Gauge
	numHEPs     prometheus.Gauge
}

// felix_resync_state values, as Felix reports them.
const (
	resyncWaitForReady = 1
	resyncInProgress   = 2
	resyncInSync       = 3
)

// latencyBuckets cover 100µs to about 13s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2, 18)

func newMetrics() *metrics {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets})
	}
	return &metrics{
		endpoints: gauge("felix_active_local_endpoints", "Workload and host endpoints on this node."),
		policies:  gauge("felix_active_local_policies", "Policies that apply to at least one endpoint on this node."),
		calcTime: hist("felix_calc_graph_update_time_seconds",
			"Time to compute the node's ruleset from the datastore state, per batch of changes."),
		applyTime: hist("felix_int_dataplane_apply_time_seconds",
			"Time of one nftables transaction (successful or not)."),
		failures: counter("felix_int_dataplane_failures", "Failed nftables transactions."),
		applies:  counter("palisade_nft_applies_total", "Successful nftables transactions."),
		chains:   gauge("palisade_nft_chains", "Chains in palisade's table as last applied."),
		rules:    gauge("palisade_nft_rules", "Rules in palisade's table as last applied."),
		sets:     gauge("palisade_nft_sets", "Sets in palisade's table as last applied."),
		maps:     gauge("palisade_nft_maps", "Verdict maps in palisade's table as last applied."),
		elements: gauge("palisade_nft_set_elements", "Set and map elements in palisade's table as last applied."),
		synced:   gauge("palisade_agent_datastore_synced", "1 once the datastore watch has delivered a full list."),
		problems: gauge("palisade_agent_model_problems", "Objects left out of the model because they could not be used."),
		failClosed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "palisade_agent_fail_closed",
			Help: "1 for each object this node fails closed on (a missing profile or tier, an unreadable stored value), by problem."},
			[]string{"problem"}),
		drift: counter("palisade_agent_drift_repairs_total",
			"Times palisade's table was found removed or changed outside the agent and restored."),
		takeovers: counter("palisade_agent_table_takeovers_total",
			"Starts that took over the table the previous run left (the kernel held the saved ruleset) instead of replacing it."),
		resyncs: counter("palisade_agent_resyncs_total", "Full lists received from the datastore (the first and every re-list)."),
		lastApplied: gauge("palisade_agent_last_apply_timestamp_seconds",
			"Unix time of the last successful nftables transaction."),
		interfaces: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "palisade_agent_workload_interfaces",
			Help: "Departures from the interface naming convention: workloads bound by route lookup (bound_by_route), " +
				"prefixed interfaces without a workload (unbound), workloads without an interface (missing)."},
			[]string{"state"}),
		resync: gauge("felix_resync_state",
			"The datastore sync: 1 waiting for the datastore, 2 a full list in progress, 3 in sync."),
		selectors: gauge("felix_active_local_selectors",
			"Selectors (address sets) the rules of this node's endpoints use."),
		numHosts: gauge("felix_cluster_num_hosts", "Nodes in the cluster (Calico and Kubernetes Nodes, by name)."),
		numWEPs:  gauge("felix_cluster_num_workload_endpoints", "Workload endpoints (and pods) in the cluster."),
		numHEPs:  gauge("felix_cluster_num_host_endpoints", "Stored host endpoints in the cluster."),
	}
}

func (m *metrics) register(r *prometheus.Registry) {
	m.resync.Set(resyncWaitForReady)
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.endpoints, m.policies, m.calcTime, m.applyTime, m.failures, m.applies, m.chains, m.rules, m.sets, m.maps,
		m.elements, m.synced, m.problems, m.failClosed, m.drift, m.takeovers, m.resyncs, m.lastApplied, m.interfaces,
		m.resync, m.selectors, m.numHosts, m.numWEPs, m.numHEPs)
}

// interfaceReport records the node's binding report.
func (m *metrics) interfaceReport(r api.InterfaceReport) {
	m.interfaces.WithLabelValues("bound_by_route").Set(float64(len(r.Bound)))
	m.interfaces.WithLabelValues("unbound").Set(float64(len(r.Unbound)))
	m.interfaces.WithLabelValues("missing").Set(float64(len(r.Missing)))
}

// applied records the ruleset now in the kernel.
func (m *metrics) applied(res Result) {
	st := res.Ruleset.Stats()
	m.chains.Set(float64(st.Chains))
	m.rules.Set(float64(st.Rules))
	m.sets.Set(float64(st.Sets))
	m.maps.Set(float64(st.Maps))
	m.elements.Set(float64(st.SetElements + st.MapElements))
	m.endpoints.Set(float64(res.Endpoints))
	m.policies.Set(float64(res.Policies))
	m.selectors.Set(float64(st.Sets))
}
