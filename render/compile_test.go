package render

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/policy"
)

var compileModels = flag.Int("compile-models", 300, "models in TestCompileEquivalent")

// TestCompileEquivalent: for seeded random models (a few policies, and
// up to 500 per endpoint), random packets traced through the rendered
// ruleset and through its compiled form meet the same fate in every
// hook, leave the same marks (the identity bits aside) and conntrack
// state, log as often, and count into the same counters.
func TestCompileEquivalent(t *testing.T) {
	models := *compileModels
	if testing.Short() {
		models = 60
	}
	compiled, chains, failures := 0, 0, 0
	for seed := 0; seed < models && failures < 3; seed++ {
		policies := 0
		switch seed % 10 {
		case 7:
			policies = 60
		case 9:
			policies = 40 + seed%461 // up to 500
		}
		m, err := policy.NewModel(genModelN(uint64(seed), policies))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		lin, err := Node(m, genNode)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		comp := Compile(lin)
		for _, ch := range lin.Chains {
			if ch.Remote != 0 {
				chains++
				if c := comp.Chain(ch.Name); c != nil && !slices.EqualFunc(c.Rules, ch.Rules, rulesSame) {
					compiled++
				}
			}
		}
		r := rand.New(rand.NewPCG(uint64(seed), 0xc0de))
		pk := newPacketGen(r, lin)
		for i := 0; i < 400 && failures < 3; i++ {
			p := pk.packet()
			a, b := traceSummary(lin.Trace(p)), traceSummary(comp.Trace(p))
			if d := cmp.Diff(a, b); d != "" {
				failures++
				t.Errorf("seed %d: packet %+v: linear and compiled differ (-linear +compiled):\n%s\nlinear:\n%s\ncompiled:\n%s",
					seed, p, d, lin.Trace(p), comp.Trace(p))
			}
		}
	}
	if compiled < chains/3 {
		t.Errorf("only %d of %d endpoint chains compiled", compiled, chains)
	}
	t.Logf("%d models, %d of %d endpoint chains compiled", models, compiled, chains)
}

func rulesSame(a, b Rule) bool { return a.String() == b.String() }

type traceSum struct {
	Verdict  string
	Hooks    []HookResult
	Logged   int
	Mark     uint32
	CtState  string
	Counters []string
	Err      string
}

var counterRE = regexp.MustCompile(`counter name "([^"]+)"`)

func traceSummary(t TraceResult) traceSum {
	s := traceSum{Verdict: t.Verdict, Hooks: t.Hooks, Logged: t.Logged, CtState: t.Packet.CtState}
	if t.Verdict == "accept" { // a dropped packet's marks do not matter
		s.Mark = t.Packet.Mark &^ MarkIDMask
	}
	for _, h := range t.Hits {
		for _, m := range counterRE.FindAllStringSubmatch(h.Rule, -1) {
			s.Counters = append(s.Counters, m[1])
		}
	}
	slices.Sort(s.Counters)
	if t.Err != nil {
		s.Err = t.Err.Error()
	}
	return s
}

// packetGen makes packets near the ruleset's edges: addresses at the ends
// of its sets' and rules' prefixes, ports at the ends of its ranges.
type packetGen struct {
	r      *rand.Rand
	ifaces []string
	v4, v6 []netip.Addr
	ports  []uint16
}

func newPacketGen(r *rand.Rand, rs *Ruleset) *packetGen {
	g := &packetGen{r: r, ifaces: slices.Clone(genIfaces), ports: slices.Clone(genPorts)}
	g.ifaces = append(g.ifaces, "cali-nobody", "")
	addPrefix := func(p netip.Prefix) {
		p = p.Masked()
		for _, a := range []netip.Addr{p.Addr(), LastAddr(p), p.Addr().Prev(), LastAddr(p).Next()} {
			switch {
			case !a.IsValid():
			case a.Is4():
				g.v4 = append(g.v4, a)
			default:
				g.v6 = append(g.v6, a)
			}
		}
	}
	for _, s := range rs.Sets {
		for p := range s.Addrs.All() {
			addPrefix(p)
		}
		for _, t := range s.Tuples {
			if t.Addr.IsValid() {
				addPrefix(netip.PrefixFrom(t.Addr, t.Addr.BitLen()))
			}
			g.ports = append(g.ports, t.Port)
		}
	}
	for _, m := range rs.Maps {
		for _, e := range m.Elements {
			if e.Key != "" {
				g.ifaces = append(g.ifaces, e.Key)
			}
		}
	}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			for _, m := range r.Matches {
				switch x := m.(type) {
				case MatchAddr:
					for _, p := range x.Prefixes {
						addPrefix(p)
					}
				case MatchPort:
					for _, pr := range x.Ranges {
						g.ports = append(g.ports, pr.Lo, pr.Hi, pr.Lo-1, pr.Hi+1)
					}
				}
			}
		}
	}
	for _, a := range append(genExtV4, genNodeV4, genEth1V4) {
		g.v4 = append(g.v4, netip.MustParseAddr(a))
	}
	for _, a := range append(genExtV6, genNodeV6) {
		g.v6 = append(g.v6, netip.MustParseAddr(a))
	}
	return g
}

func (g *packetGen) addr(v4 bool) netip.Addr {
	if g.r.IntN(10) == 0 {
		var b [16]byte
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		if v4 {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16(b)
	}
	if v4 {
		return pick(g.r, g.v4)
	}
	return pick(g.r, g.v6)
}

func (g *packetGen) packet() Packet {
	v4 := g.r.IntN(3) != 0
	p := Packet{Iif: pick(g.r, g.ifaces), Oif: pick(g.r, g.ifaces), Src: g.addr(v4), Dst: g.addr(v4)}
	if p.Iif == "" && p.Oif == "" {
		p.Oif = "eth0"
	}
	p.Proto = pick(g.r, []uint8{6, 6, 17, 17, 132, 136, 1, 58, 47, 4, uint8(g.r.IntN(256))})
	p.Sport, p.Dport = pick(g.r, g.ports), pick(g.r, g.ports)
	if g.r.IntN(5) == 0 {
		p.Dport = uint16(g.r.IntN(65536))
	}
	p.ICMPType = pick(g.r, []uint8{0, 3, 8, 128, 135, uint8(g.r.IntN(256))})
	p.ICMPCode = pick(g.r, []uint8{0, 0, 1, uint8(g.r.IntN(256))})
	p.CtState = pick(g.r, []string{"", "", "", "", CtEstablished, CtInvalid, CtUntracked})
	if g.r.IntN(8) == 0 {
		p.Mark = uint32(g.r.IntN(4)) << 16
	}
	return p
}

func (s traceSum) String() string { return fmt.Sprintf("%+v", struct{ traceSum }{s}) }

// TestCompilerStableIdentities: when an address joins a selector's set,
// a Compiler that compiled the ruleset before keeps every identity that
// still exists at its number (its id-N chain), so the change leaves the
// elements of other identities alone.
// TestStableIdentities: when an address leaves one selector set and a new
// one joins it, every identity that exists before and after keeps its
// number unless another took its preferred number (a collision), and a
// second compile of the same ruleset numbers them the same.
func TestStableIdentities(t *testing.T) {
	checked := 0
	for seed := 0; seed < 40; seed++ {
		m, err := policy.NewModel(genModel(uint64(seed)))
		if err != nil {
			t.Fatal(err)
		}
		before, err := Node(m, genNode)
		if err != nil {
			t.Fatal(err)
		}
		after := *before
		after.Sets = slices.Clone(before.Sets)
		grown := ""
		for i, s := range after.Sets {
			if s.Type == SetIPv4 && strings.HasPrefix(s.Name, "sel-") && s.Addrs.Len() > 0 {
				cp := *s
				cp.Addrs = iplist.Of(append(s.Addrs.Prefixes()[1:], netip.MustParsePrefix("198.18.77.7/32"))) // one address leaves, one comes
				after.Sets[i], grown = &cp, s.Name
				break
			}
		}
		if grown == "" {
			continue
		}
		a, idsA := compile(before)
		b, idsB := compile(&after)
		if d := cmp.Diff(b.Text(), Compile(&after).Text()); d != "" {
			t.Fatalf("seed %d: two compiles of one ruleset differ (-first +second):\n%s", seed, d)
		}
		if a == before || b == &after {
			continue
		}
		ia, ib := identityNumbers(idsA), identityNumbers(idsB)
		fams := map[string]Family{}
		for _, id := range append(slices.Clone(idsA), idsB...) {
			fams[id.key] = id.family
		}
		for what, na := range ia {
			nb, ok := ib[what]
			if !ok {
				continue
			}
			checked++
			if na != nb && na == preferredID(fams[what], what) && nb == preferredID(fams[what], what) {
				t.Errorf("seed %d: %s changed; identity %q was %d, is %d", seed, grown, what, na, nb)
			}
			if na != nb && nb != preferredID(fams[what], what) && !slices.Contains(slices.Collect(maps.Values(ib)), preferredID(fams[what], what)) {
				t.Errorf("seed %d: identity %q is %d, its preferred number %d is free", seed, what, nb, preferredID(fams[what], what))
			}
		}
	}
	if checked == 0 {
		t.Fatal("no identity to compare")
	}
}

// identityNumbers maps each identity's key to its number.
func identityNumbers(ids []*identity) map[string]uint32 {
	out := map[string]uint32{}
	for _, id := range ids {
		out[id.key] = id.id
	}
	return out
}

// TestCompileBudget: a chain whose compiled form would take more elements
// than its budget keeps its rules, beside chains that compile, and the
// ruleset still decides every packet as the linear one does.
func TestCompileBudget(t *testing.T) {
	tiny := func(int) int { return 16 }
	kept, compiled := 0, 0
	for seed := 0; seed < 40; seed++ {
		m, err := policy.NewModel(genModel(uint64(seed)))
		if err != nil {
			t.Fatal(err)
		}
		lin, err := Node(m, genNode)
		if err != nil {
			t.Fatal(err)
		}
		comp, _ := compileWith(lin, tiny)
		full := Compile(lin)
		for _, ch := range lin.Chains {
			if ch.Remote == 0 || !hasJump(ch.Rules[ch.Section:]) {
				continue
			}
			c, f := comp.Chain(ch.Name), full.Chain(ch.Name)
			same := func(x *Chain) bool { return x != nil && slices.EqualFunc(x.Rules, ch.Rules, rulesSame) }
			switch {
			case same(c) && !same(f):
				kept++ // over the tiny budget only
			case !same(c):
				compiled++
			}
		}
		r := rand.New(rand.NewPCG(uint64(seed), 0xb0d6e7))
		pk := newPacketGen(r, lin)
		for i := 0; i < 200; i++ {
			p := pk.packet()
			if d := cmp.Diff(traceSummary(lin.Trace(p)), traceSummary(comp.Trace(p))); d != "" {
				t.Fatalf("seed %d: packet %+v: linear and budget-compiled differ (-linear +compiled):\n%s", seed, p, d)
			}
		}
	}
	if kept == 0 || compiled == 0 {
		t.Fatalf("%d chains kept their rules for the budget, %d compiled: want both", kept, compiled)
	}
	t.Logf("%d chains over the budget kept their rules, %d compiled", kept, compiled)
}

// TestCompilerReuses: a Compiler fed a sequence of rulesets (an address
// joining a selector set, a policy rule changed, the first again, each
// change one that changes the compiled form) gives exactly what Compile
// gives each, and reuses what did not change.
func TestCompilerReuses(t *testing.T) {
	reused, sequences := 0, 0
	for seed := 0; seed < 30; seed++ {
		m, err := policy.NewModel(genModel(uint64(seed)))
		if err != nil {
			t.Fatal(err)
		}
		first, err := Node(m, genNode)
		if err != nil {
			t.Fatal(err)
		}
		grown := firstChange(first, func(rs *Ruleset, i int) bool {
			s := rs.Sets[i]
			if s.Type != SetIPv4 || !strings.HasPrefix(s.Name, "sel-") {
				return false
			}
			cp := *s
			cp.Addrs = iplist.Of(append(s.Addrs.Prefixes(), netip.MustParsePrefix("198.18.77.7/32")))
			rs.Sets[i] = &cp
			return true
		}, len(first.Sets))
		if grown == nil {
			continue
		}
		edited := firstChange(grown, func(rs *Ruleset, i int) bool {
			ch := rs.Chains[i]
			if !strings.HasPrefix(ch.Name, "pol-") || len(ch.Rules) == 0 {
				return false
			}
			cp := *ch
			cp.Rules = slices.Clone(ch.Rules)
			cp.Rules[0].Verdict = Drop
			if ch.Rules[0].Verdict == Drop {
				cp.Rules[0].Verdict = Return
			}
			rs.Chains[i] = &cp
			return true
		}, len(grown.Chains))
		if edited == nil {
			continue
		}
		sequences++
		cc := NewCompiler()
		for step, rs := range []*Ruleset{first, grown, edited, first} {
			if d := cmp.Diff(Compile(rs).Text(), cc.Compile(rs).Text()); d != "" {
				t.Fatalf("seed %d step %d: the Compiler differs from Compile (-Compile +Compiler):\n%s", seed, step, d)
			}
			if step > 0 {
				reused += cc.Reused
			}
		}
	}
	if sequences < 10 || reused == 0 {
		t.Fatalf("%d sequences, %d sections reused", sequences, reused)
	}
}

// firstChange returns a copy of rs with the first change (of n
// candidates; change says whether i is one) that changes its compiled
// form, or nil.
func firstChange(rs *Ruleset, change func(*Ruleset, int) bool, n int) *Ruleset {
	want := Compile(rs).Text()
	for i := 0; i < n; i++ {
		cp := *rs
		cp.Sets, cp.Chains = slices.Clone(rs.Sets), slices.Clone(rs.Chains)
		if change(&cp, i) && Compile(&cp).Text() != want {
			return &cp
		}
	}
	return nil
}
