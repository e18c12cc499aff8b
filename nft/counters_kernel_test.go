package nft

import (
	"context"
	"net"
	"testing"

	"github.com/palisade-net/palisade/render"
)

// countersRuleset counts UDP to port 9 on loopback into cnt-a and, when
// withB, TCP into cnt-b.
func countersRuleset(withB bool) *render.Ruleset {
	out := &render.Chain{Name: "filter-output", Base: &render.BaseChain{Type: "filter", Hook: render.HookOutput, Policy: "accept"},
		Rules: []render.Rule{{
			Matches:    []render.Match{render.MatchL4Proto{Protos: []uint8{17}}, render.MatchPort{Field: render.FieldDport, Ranges: []render.PortRange{{Lo: 9, Hi: 9}}}},
			Statements: []render.Statement{render.StmtCounter{Name: "cnt-a"}},
		}}}
	rs := &render.Ruleset{Table: render.TableName, Family: render.TableFamily, Chains: []*render.Chain{out},
		Counters: []*render.Counter{{Name: "cnt-a", Key: render.CounterKey{Kind: render.CountRule, Direction: "egress", Tier: "default", Policy: "GlobalNetworkPolicy a", Rule: 0, Action: "Allow"}}}}
	if withB {
		out.Rules = append(out.Rules, render.Rule{Matches: []render.Match{render.MatchL4Proto{Protos: []uint8{6}}},
			Statements: []render.Statement{render.StmtCounter{Name: "cnt-b"}}})
		rs.Counters = append(rs.Counters, &render.Counter{Name: "cnt-b", Key: render.CounterKey{Kind: render.CountNoPolicy, Direction: "egress", Rule: -1, Action: "Deny"}})
	}
	return rs
}

// TestKernelCountersSurviveReplacement sends real packets, then replaces
// the table with one that adds a counter: the old counter keeps its count,
// the new one starts at zero, and each comment reads back into its key.
func TestKernelCountersSurviveReplacement(t *testing.T) {
	k, ns := scratch(t)
	ctx := context.Background()
	if err := ns.Up("lo"); err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(ctx, countersRuleset(false)); err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		t.Helper()
		err := ns.Do(func() error {
			c, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer c.Close()
			to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
			for i := 0; i < n; i++ {
				if _, err := c.WriteTo([]byte("x"), to); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	send(3)
	if err := k.Apply(ctx, countersRuleset(true)); err != nil {
		t.Fatal(err)
	}
	send(2)
	cs, err := k.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "cnt-a" || cs[1].Name != "cnt-b" {
		t.Fatalf("counters = %+v, want cnt-a and cnt-b", cs)
	}
	if cs[0].Packets != 5 || cs[0].Bytes != 5*29 {
		t.Errorf("cnt-a = %d packets %d bytes, want 5 packets carried over the replacement (%d bytes)", cs[0].Packets, cs[0].Bytes, 5*29)
	}
	if cs[1].Packets != 0 {
		t.Errorf("cnt-b = %d packets, want 0", cs[1].Packets)
	}
	for i, c := range cs {
		key, ok := render.ParseCounterComment(c.Comment)
		if want := countersRuleset(true).Counters[i].Key; !ok || key != want {
			t.Errorf("%s: comment %q reads back as %+v (ok %v), want %+v", c.Name, c.Comment, key, ok, want)
		}
	}
	// Dropping the rule drops its counter.
	if err := k.Apply(ctx, countersRuleset(false)); err != nil {
		t.Fatal(err)
	}
	if cs, err = k.Counters(ctx); err != nil || len(cs) != 1 || cs[0].Packets != 5 {
		t.Fatalf("after removing cnt-b: %+v, %v", cs, err)
	}
}
