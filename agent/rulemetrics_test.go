package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	"github.com/prometheus/client_golang/prometheus"
)

func TestRuleMetrics(t *testing.T) {
	f := nft.NewFake()
	rs := &render.Ruleset{Table: render.TableName, Family: render.TableFamily, Counters: []*render.Counter{
		{Name: "cnt-a", Key: render.CounterKey{Kind: render.CountRule, Direction: "ingress", Tier: "default", Policy: "GlobalNetworkPolicy default.p", Rule: 0, Action: "Allow"}},
		{Name: "cnt-b", Key: render.CounterKey{Kind: render.CountRule, Direction: "ingress", Tier: "default", Policy: "GlobalNetworkPolicy default.p", Rule: 1, Action: "Allow"}},
		{Name: "cnt-c", Key: render.CounterKey{Kind: render.CountEndOfTier, Direction: "ingress", Tier: "default", Rule: -1, Action: "Deny"}},
	}}
	if err := f.Apply(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	f.SetCounter("cnt-a", 3, 300)
	f.SetCounter("cnt-b", 4, 400)
	f.SetCounter("cnt-c", 5, 500)
	for _, tc := range []struct {
		mode string
		want map[string]float64
	}{
		{RuleMetricsRules, map[string]float64{
			"rule/default/GlobalNetworkPolicy default.p/0/Allow/ingress": 3,
			"rule/default/GlobalNetworkPolicy default.p/1/Allow/ingress": 4,
			"end-of-tier/default///Deny/ingress":                         5,
		}},
		{RuleMetricsPolicies, map[string]float64{
			"rule/default/GlobalNetworkPolicy default.p/Allow/ingress": 7,
			"end-of-tier/default//Deny/ingress":                        5,
		}},
	} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(newRuleCollector(f, tc.mode, time.Second))
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != "palisade_rule_packets_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				var key string
				for i, l := range m.GetLabel() {
					if i > 0 {
						key += "/"
					}
					key += l.GetValue()
				}
				got[key] = m.GetCounter().GetValue()
			}
		}
		// Label pairs come sorted by name: action, direction, kind, policy, rule, tier.
		want := map[string]float64{}
		for k, v := range tc.want {
			want[reorder(k, tc.mode)] = v
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: packets series (-want +got):\n%s", tc.mode, d)
		}
	}
}

// reorder turns "kind/tier/policy/[rule/]action/direction" into the label
// order Gather returns (sorted by label name).
func reorder(k, mode string) string {
	p := strings.Split(k, "/")
	if mode == RuleMetricsPolicies {
		return p[3] + "/" + p[4] + "/" + p[0] + "/" + p[2] + "/" + p[1]
	}
	return p[4] + "/" + p[5] + "/" + p[0] + "/" + p[2] + "/" + p[3] + "/" + p[1]
}
