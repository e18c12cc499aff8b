package agent

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	"github.com/prometheus/client_golang/prometheus"
)

// Rule metrics granularity (Config.RuleMetrics).
const (
	RuleMetricsRules    = "rules"    // one series per rule (the default)
	RuleMetricsPolicies = "policies" // rules of a policy summed: no rule label
	RuleMetricsOff      = "off"
)

// ruleCollector exports the kernel's named counters at scrape time as
// palisade_rule_packets_total and palisade_rule_bytes_total. The kernel
// is read once per scrape; nothing is kept between scrapes, so series of
// rules that are gone disappear with them.
type ruleCollector struct {
	read    nft.CounterReader
	mode    string
	timeout time.Duration
	packets *prometheus.Desc
	bytes   *prometheus.Desc
	errors  prometheus.Counter
}

func newRuleCollector(read nft.CounterReader, mode string, timeout time.Duration) *ruleCollector {
	labels := []string{"kind", "tier", "policy", "rule", "action", "direction"}
	if mode == RuleMetricsPolicies {
		labels = []string{"kind", "tier", "policy", "action", "direction"}
	}
	return &ruleCollector{read: read, mode: mode, timeout: timeout,
		packets: prometheus.NewDesc("palisade_rule_packets_total",
			"Packets counted by the kernel for each policy rule, end of tier, profile rule, endpoint default and failsafe.", labels, nil),
		bytes: prometheus.NewDesc("palisade_rule_bytes_total",
			"Bytes counted by the kernel for each policy rule, end of tier, profile rule, endpoint default and failsafe.", labels, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "palisade_rule_counters_read_errors_total",
			Help: "Scrapes at which the kernel's counters could not be read."}),
	}
}

func (c *ruleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.bytes
	c.errors.Describe(ch)
}

func (c *ruleCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.errors.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	vals, err := c.read.Counters(ctx)
	if err != nil {
		c.errors.Inc()
		return
	}
	type sum struct{ packets, bytes uint64 }
	sums := map[[6]string]*sum{}
	var order [][6]string
	for _, v := range vals {
		k, ok := render.ParseCounterComment(v.Comment)
		if !ok {
			continue
		}
		rule := ""
		if k.Rule >= 0 {
			rule = strconv.Itoa(k.Rule)
		}
		lv := [6]string{k.Kind, k.Tier, k.Policy, rule, k.Action, k.Direction}
		if c.mode == RuleMetricsPolicies {
			lv[3] = ""
		}
		s := sums[lv]
		if s == nil {
			s = &sum{}
			sums[lv] = s
			order = append(order, lv)
		}
		s.packets += v.Packets
		s.bytes += v.Bytes
	}
	for _, lv := range order {
		labels := lv[:]
		if c.mode == RuleMetricsPolicies {
			labels = []string{lv[0], lv[1], lv[2], lv[4], lv[5]}
		}
		s := sums[lv]
		ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(s.packets), labels...)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(s.bytes), labels...)
	}
}

// validRuleMetrics checks Config.RuleMetrics.
func validRuleMetrics(m string) error {
	switch m {
	case RuleMetricsRules, RuleMetricsPolicies, RuleMetricsOff:
		return nil
	}
	return fmt.Errorf("%q is not %s, %s or %s", m, RuleMetricsRules, RuleMetricsPolicies, RuleMetricsOff)
}
