package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

func TestCounterRows(t *testing.T) {
	key := func(k render.CounterKey) string { return k.Comment() }
	vals := []nft.CounterValue{
		{Name: "cnt-1", Comment: key(render.CounterKey{Kind: render.CountEndOfTier, Direction: "ingress", Tier: "default", Rule: -1, Action: "Deny"}), Packets: 3, Bytes: 180},
		{Name: "cnt-2", Comment: key(render.CounterKey{Kind: render.CountRule, Direction: "ingress", Tier: "default", Policy: "GlobalNetworkPolicy default.allow-ssh", Rule: 0, Action: "Allow"}), Packets: 12, Bytes: 720},
		{Name: "cnt-3", Comment: key(render.CounterKey{Kind: render.CountRule, Direction: "egress", Tier: "default", Policy: "NetworkPolicy prod/default.db", Rule: 1, Action: "Deny"})},
		{Name: "cnt-4", Comment: key(render.CounterKey{Kind: render.CountFailsafe, Direction: "ingress", Policy: "inbound failsafe", Rule: -1, Action: "Allow"}), Packets: 1, Bytes: 60},
		{Name: "cnt-5", Comment: "not ours"},
	}
	rows := CounterRows(vals)
	var names []string
	for _, r := range rows {
		names = append(names, r.Counter)
	}
	if d := cmp.Diff([]string{"cnt-4", "cnt-5", "cnt-2", "cnt-3", "cnt-1"}, names); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		policy string
		unused bool
		want   []string
	}{
		{"", false, []string{"cnt-4", "cnt-5", "cnt-2", "cnt-3", "cnt-1"}},
		{"default.allow-ssh", false, []string{"cnt-2"}},
		{"GlobalNetworkPolicy default.allow-ssh", false, []string{"cnt-2"}},
		{"prod/default.db", false, []string{"cnt-3"}},
		{"default.db", false, []string{"cnt-3"}},
		{"", true, []string{"cnt-5", "cnt-3"}},
		{"nope", false, nil},
	} {
		var got []string
		for _, r := range filterRows(rows, tc.policy, tc.unused) {
			got = append(got, r.Counter)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("policy %q unused %v (-want +got):\n%s", tc.policy, tc.unused, d)
		}
	}
	var out bytes.Buffer
	if err := writeCounterRows(&streams{out: &out}, filterRows(rows, "default.allow-ssh", false), false); err != nil {
		t.Fatal(err)
	}
	want := "TIER     POLICY                                 RULE  ACTION  DIRECTION  PACKETS  BYTES\n" +
		"default  GlobalNetworkPolicy default.allow-ssh  0     Allow   ingress    12       720\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
	if !strings.Contains(rows[len(rows)-1].String(), "end of tier default: Deny") {
		t.Errorf("end of tier row describes itself as %q", rows[len(rows)-1].String())
	}
}
