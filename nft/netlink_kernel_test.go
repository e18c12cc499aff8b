package nft

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/render"
)

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// shapesRuleset holds every match, statement and verdict shape the
// rendered text can take, including the ones the random models of
// kerneltest do not produce (inline port lists and ranges, ICMP codes,
// negated ct states, flow log limits, masks, open intervals).
func shapesRuleset() *render.Ruleset {
	code := uint8(3)
	m := func(ms ...render.Match) []render.Match { return ms }
	rules := []render.Rule{
		{Matches: m(render.MatchIfname{Field: render.FieldIifname, Name: "cali*"}, render.MatchNfproto{Family: render.FamilyIPv4},
			render.MatchL4Proto{Protos: []uint8{6, 17}}, render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Set: "s4"},
			render.MatchPort{Field: render.FieldDport, Ranges: []render.PortRange{{Lo: 80, Hi: 80}, {Lo: 81, Hi: 81}, {Lo: 1000, Hi: 2000}}}),
			Statements: []render.Statement{render.StmtCounter{}}, Verdict: render.Accept, Comment: "first \"rule\""},
		{Matches: m(render.MatchIfname{Field: render.FieldOifname, Name: "eth0", Negate: true}, render.MatchL4Proto{Protos: []uint8{6}, Negate: true},
			render.MatchAddr{Field: render.FieldDaddr, Family: render.FamilyIPv6, Prefixes: pfx("fd00::/64", "fd00:1::1/128", "ffff::/16"), Negate: true},
			render.MatchPort{Field: render.FieldSport, Ranges: []render.PortRange{{Lo: 53, Hi: 53}}, Negate: true}), Verdict: render.Drop},
		{Matches: m(render.MatchAddrProtoPort{Field: render.FieldDaddr, Family: render.FamilyIPv4, Set: "s4pp"},
			render.MatchProtoPort{Field: render.FieldDport, Set: "spp", Negate: true}), Verdict: render.Return},
		{Matches: m(render.MatchAddrProtoPort{Field: render.FieldSaddr, Family: render.FamilyIPv6, Set: "s6pp", Negate: true}), Verdict: render.Accept},
		{Matches: m(render.MatchICMP{Family: render.FamilyIPv4, Types: []uint8{0, 8}, Code: &code, Negate: true}), Verdict: render.Accept},
		{Matches: m(render.MatchICMP{Family: render.FamilyIPv6, Types: []uint8{128}, Negate: true}), Verdict: render.Drop},
		{Matches: m(render.MatchL4Proto{Protos: []uint8{1}}, render.MatchICMP{Family: render.FamilyIPv4, Types: []uint8{8}, Code: &code}), Verdict: render.Accept},
		{Matches: m(render.MatchICMP{Family: render.FamilyIPv6, Types: []uint8{1, 2}}), Verdict: render.Accept},
		{Matches: m(render.MatchCtState{States: []string{render.CtEstablished, render.CtRelated}}), Verdict: render.Accept},
		{Matches: m(render.MatchCtState{States: []string{render.CtInvalid}, Negate: true}, render.MatchCtDNAT{}, render.MatchCtDNAT{Negate: true}), Verdict: render.Accept},
		{Matches: m(render.MatchCtState{States: []string{render.CtNew, render.CtUntracked}, Negate: true}), Verdict: render.Accept},
		{Matches: m(render.MatchMark{Mask: render.MarkMask, Value: render.MarkAccept}),
			Statements: []render.Statement{render.StmtMark{Clear: render.MarkBits, Set: render.MarkPass}}, Verdict: render.Jump("c2")},
		{Matches: m(render.MatchMark{Mask: 0xffffffff, Value: 1, Negate: true}),
			Statements: []render.Statement{render.StmtMark{Set: render.MarkAccept}, render.StmtMark{Clear: render.MarkAccept}, render.StmtNotrack{}}},
		{Statements: []render.Statement{render.StmtLog{Prefix: "flow x", Group: 5, Limit: render.FlowLogLimitName},
			render.StmtCounter{Name: "cnt-a"}}, Verdict: render.Goto("c2")},
		{Statements: []render.Statement{render.StmtLog{Prefix: strings.Repeat("long ", 40)}}},
		{Matches: m(render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Prefixes: pfx("198.18.0.1/32")},
			render.MatchPort{Field: render.FieldDport, Ranges: []render.PortRange{{Lo: 1000, Hi: 2000}}}), Verdict: render.Accept},
		{Matches: m(render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Prefixes: pfx("198.18.0.0/16"), Negate: true},
			render.MatchPort{Field: render.FieldDport, Ranges: []render.PortRange{{Lo: 1000, Hi: 2000}}, Negate: true}), Verdict: render.Accept},
		{Matches: m(render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Prefixes: pfx("198.18.0.0/20")},
			render.MatchPort{Field: render.FieldDport, Ranges: []render.PortRange{{Lo: 80, Hi: 80}, {Lo: 443, Hi: 443}}, Negate: true}), Verdict: render.Accept},
		{Matches: m(render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Prefixes: pfx("0.0.0.0/0")}), Verdict: render.Accept},
		{Matches: m(render.MatchAddr{Field: render.FieldDaddr, Family: render.FamilyIPv6, Prefixes: pfx("::/0")}), Verdict: render.Accept},
		{Matches: m(render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Prefixes: pfx("0.0.0.0/1", "255.255.255.255/32")}), Verdict: render.Accept},
		{Matches: m(render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Prefixes: pfx("198.18.0.1/32", "198.18.0.2/32")},
			render.MatchAddr{Field: render.FieldDaddr, Family: render.FamilyIPv4, Prefixes: pfx("198.18.0.0/24", "198.18.1.0/24")}), Verdict: render.Accept},
		{Matches: m(render.MatchL4Proto{Protos: []uint8{6, 17, 132}, Negate: true}, render.MatchIfname{Field: render.FieldIifname, Name: "veth*", Negate: true}), Verdict: render.Drop},
		// Port lists in named sets (render's list sets), with ranges to
		// the last port, and of single ports.
		{Matches: m(render.MatchL4Proto{Protos: []uint8{6}}, render.MatchPort{Field: render.FieldDport, Set: "ports-r",
			Ranges: []render.PortRange{{Lo: 80, Hi: 80}, {Lo: 8000, Hi: 8100}, {Lo: 60000, Hi: 65535}}}), Verdict: render.Accept},
		{Matches: m(render.MatchL4Proto{Protos: []uint8{17}}, render.MatchPort{Field: render.FieldSport, Set: "ports-s", Negate: true,
			Ranges: []render.PortRange{{Lo: 53, Hi: 53}, {Lo: 67, Hi: 67}}}), Verdict: render.Drop},
		{Matches: m(render.MatchL4Proto{Protos: []uint8{6, 17, 132, 136}, Set: "protos-p"}), Verdict: render.Accept},
		{Matches: m(render.MatchL4Proto{Protos: []uint8{1, 58}, Set: "protos-i", Negate: true}), Verdict: render.Drop},
		{Verdict: render.Verdict{Kind: render.VerdictVmap, Key: render.FieldIifname, Map: "wep"}},
		{Verdict: render.Verdict{Kind: render.VerdictVmap, Key: render.FieldOifname, Map: "wep"}},
	}
	c1 := &render.Chain{Name: "c1", Comment: "chain one", Rules: rules}
	c2 := &render.Chain{Name: "c2", Rules: []render.Rule{{Verdict: render.Return}}}
	c3 := &render.Chain{Name: "c3", Rules: []render.Rule{{Matches: m(render.MatchL4Proto{Protos: []uint8{17}}), Verdict: render.Accept}}}
	base := &render.Chain{Name: "filter-input", Comment: "base", Base: &render.BaseChain{Type: "filter", Hook: render.HookInput, Priority: -150, Policy: "drop"},
		Rules: []render.Rule{{Verdict: render.Jump("c1")}}}
	out := &render.Chain{Name: "filter-output", Base: &render.BaseChain{Type: "filter", Hook: render.HookOutput, Policy: "accept"}}
	return &render.Ruleset{Table: render.TableName, Family: render.TableFamily,
		Chains: []*render.Chain{base, out, c1, c2, c3},
		Sets: []*render.Set{
			{Name: "s4", Type: render.SetIPv4, Interval: true, Comment: "sel x", Addrs: iplist.Of(pfx("0.0.0.0/8", "198.18.0.0/24", "198.18.1.1/32", "255.255.255.0/24"))},
			{Name: "s6", Type: render.SetIPv6, Interval: true, Addrs: iplist.Of(pfx("::/0"))},
			{Name: "s4pp", Type: render.SetIPv4ProtoPort, Tuples: []render.Tuple{{Addr: netip.MustParseAddr("198.18.0.1"), Proto: 6, Port: 80}}},
			{Name: "s6pp", Type: render.SetIPv6ProtoPort, Tuples: []render.Tuple{{Addr: netip.MustParseAddr("fd00::1"), Proto: 17, Port: 53}}},
			{Name: "spp", Type: render.SetProtoPort, Comment: "failsafes", Tuples: []render.Tuple{{Proto: 6, Port: 22}, {Proto: 17, Port: 68}}},
			{Name: "ports-r", Type: render.SetService, Interval: true, Comment: "ports 80,8000-8100,60000-65535",
				Ports: []render.PortRange{{Lo: 80, Hi: 80}, {Lo: 8000, Hi: 8100}, {Lo: 60000, Hi: 65535}}},
			{Name: "ports-s", Type: render.SetService, Ports: []render.PortRange{{Lo: 53, Hi: 53}, {Lo: 67, Hi: 67}}},
			{Name: "protos-p", Type: render.SetProto, Comment: "protocols tcp,udp,sctp,136", Protos: []uint8{6, 17, 132, 136}},
			{Name: "protos-i", Type: render.SetProto, Protos: []uint8{1, 58}},
		},
		Maps: []*render.Map{{Name: "wep", Comment: "m", Elements: []render.MapElement{
			{Key: "cali1", Verdict: render.Goto("c3")}, {Key: "eth1", Verdict: render.Jump("c3")}}}},
		Counters: []*render.Counter{{Name: "cnt-a", Key: render.CounterKey{Kind: "rule", Direction: "ingress", Policy: "p q", Rule: 2, Action: "Allow"}, Packets: 5, Bytes: 700}},
		FlowLog:  &render.FlowLogLimit{Name: render.FlowLogLimitName, Group: 5, Rate: 100, Burst: 20},
	}
}

// TestNetlinkShapes: every rule shape written over netlink lists exactly
// as nft loading the same text (counter values included).
func TestNetlinkShapes(t *testing.T) {
	k, _ := scratch(t)
	whole, _ := scratch(t)
	rs := shapesRuleset()
	if err := k.WriteNetlink(rs); err != nil {
		t.Fatal(err)
	}
	if err := whole.ApplyText(context.Background(), rs.Text()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(show(t, whole), show(t, k)); d != "" {
		t.Fatalf("(-nft +netlink):\n%s", d)
	}
}

// TestFingerprint: the fingerprint read over netlink ignores counter
// values (anonymous and named) and changes with any element, rule or
// object; a missing table is ErrNoTable.
func TestFingerprint(t *testing.T) {
	k, ns := scratch(t)
	ctx := context.Background()
	if _, err := k.Fingerprint(ctx); !errors.Is(err, ErrNoTable) {
		t.Fatalf("no table: %v, want ErrNoTable", err)
	}
	rs := shapesRuleset()
	counted := render.Rule{Statements: []render.Statement{render.StmtCounter{}, render.StmtCounter{Name: "cnt-a"}}}
	rs.Chains[0].Rules = []render.Rule{counted, {Verdict: render.Accept}}
	rs.Chains[0].Base.Policy = "accept"
	if err := k.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	first, err := k.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := k.Counters(ctx)
	if _, err := ns.Run(ctx, nil, "ping", "-c", "3", "-i", "0.05", "-W", "1", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	after, _ := k.Counters(ctx)
	if cmp.Equal(before, after) {
		t.Fatalf("the named counter did not count (%v)", after)
	}
	if again, _ := k.Fingerprint(ctx); again != first {
		t.Fatal("the fingerprint changed with the counts")
	}
	seen := map[string]string{"first": first}
	for name, change := range map[string]func(*render.Ruleset){
		"element": func(rs *render.Ruleset) { rs.Sets[0].Addrs = iplist.Of(pfx("198.18.7.0/24")) },
		"rule":    func(rs *render.Ruleset) { rs.Chains[3].Rules[0].Verdict = render.Accept },
		"map":     func(rs *render.Ruleset) { rs.Maps[0].Elements = rs.Maps[0].Elements[:1] },
		"counter": func(rs *render.Ruleset) {
			rs.Counters = append(rs.Counters, &render.Counter{Name: "cnt-b", Key: render.CounterKey{Kind: "rule", Rule: -1}})
		},
	} {
		next := shapesRuleset()
		next.Chains[0].Rules = []render.Rule{counted, {Verdict: render.Accept}}
		next.Chains[0].Base.Policy = "accept"
		change(next)
		if err := k.Apply(ctx, next); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fp, err := k.Fingerprint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for other, ofp := range seen {
			if fp == ofp {
				t.Errorf("a %s change left the fingerprint of %s", name, other)
			}
		}
		seen[name] = fp
		if err := k.Apply(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if back, _ := k.Fingerprint(ctx); back != first {
			t.Errorf("after undoing the %s change the fingerprint differs", name)
		}
	}
}

// TestNetlinkRefusalKeepsPrevious: a ruleset the kernel refuses (a jump
// to a chain that does not exist, a rule naming a missing set) fails
// whole, as an incremental change and as a whole write alike: the error
// names the refused rule and the table stays exactly as it was.
func TestNetlinkRefusalKeepsPrevious(t *testing.T) {
	k, _ := scratch(t)
	ctx := context.Background()
	good := shapesRuleset()
	if err := k.Apply(ctx, good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*render.Ruleset)
		want   string
	}{
		{"missing chain", func(rs *render.Ruleset) {
			rs.Chains[3].Rules = append(rs.Chains[3].Rules, render.Rule{Verdict: render.Jump("nowhere")})
		},
			"rule 2 of chain c2 (jump nowhere)"},
		{"missing set", func(rs *render.Ruleset) {
			rs.Chains[4].Rules[0].Matches = append(rs.Chains[4].Rules[0].Matches,
				render.MatchAddr{Field: render.FieldSaddr, Family: render.FamilyIPv4, Set: "gone"})
		}, "rule 1 of chain c3"},
	} {
		for _, forget := range []bool{false, true} {
			bad := shapesRuleset()
			tc.break_(bad)
			if forget {
				k.Forget()
			}
			before := show(t, k)
			err := k.Apply(ctx, bad)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s (whole %v): %v, want an error naming %q", tc.name, forget, err, tc.want)
			}
			if after := show(t, k); after != before {
				t.Fatalf("%s (whole %v): a refused apply changed the table:\n%s", tc.name, forget, cmp.Diff(before, after))
			}
			if err := k.Apply(ctx, good); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCreateStaged: a table written where there was none goes in parts
// with the hooks last; the result equals the text loaded by nft; a part
// the kernel refuses leaves no table behind.
func TestCreateStaged(t *testing.T) {
	defer func(n int) { stageMessages = n }(stageMessages)
	stageMessages = 5 // several parts even for this small ruleset
	ctx := context.Background()
	k, _ := scratch(t)
	whole, _ := scratch(t)
	rs := shapesRuleset()
	if err := k.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if st, _ := k.Stats(); st.Staged != 1 {
		t.Fatalf("stats %+v: want one staged creation", st)
	}
	if err := whole.ApplyText(ctx, rs.Text()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(canonicalOf(t, whole), canonicalOf(t, k)); d != "" {
		t.Fatalf("(-nft +staged):\n%s", d)
	}

	for _, bad := range []func(*render.Ruleset){
		func(rs *render.Ruleset) { rs.Chains[3].Rules[0].Verdict = render.Jump("nowhere") }, // an early part
		func(rs *render.Ruleset) { rs.Chains[0].Rules[0].Verdict = render.Jump("nowhere") }, // the hooks' part
	} {
		k, _ := scratch(t)
		rs := shapesRuleset()
		bad(rs)
		if err := k.Apply(ctx, rs); err == nil {
			t.Fatal("a refused part was not reported")
		}
		if _, err := k.Fingerprint(ctx); !errors.Is(err, ErrNoTable) {
			t.Fatalf("after a refused part: %v, want no table", err)
		}
	}
}
