package render

import (
	"fmt"
	"slices"
	"strings"
)

// The symbolic walk: the rules of an endpoint chain's policy section and
// of every chain it reaches, run for one identity over all protocols and
// ports at once. A state is a region of packets that have taken the same
// way so far: the same mark bits, the same counters and logs met, the
// same deciding rule. Rules split states; jumps, gotos and returns move
// them as nft does; what leaves the section is an outcome.

// sectionInfo is what the static check found about a chain (and what it
// reaches): compilable or not, and the atoms and protocols its rules name.
type sectionInfo struct {
	ok     bool
	atoms  []int // remote address atoms (compiler.ids)
	local  []int // local address atoms (compiler.local)
	protos []int
	rules  int // the rules a packet may walk: the chain's and what it reaches
}

// outcome is how a region leaves the section: Accept, Drop, or Return
// with mark bits; path is the statements met on the way (counters, logs),
// as rules without matches or verdicts; by names the deciding rule.
type outcome struct {
	kind    VerdictKind
	mark    uint32
	path    []Rule
	by      string
	byChain string
}

// key identifies an outcome: its chain's name is a hash of it.
func (o *outcome) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%x|%s|%s|", o.kind, o.mark, o.by, o.byChain)
	for _, r := range o.path {
		b.WriteString(r.String())
		b.WriteByte(';')
	}
	return b.String()
}

type sstate struct {
	out outcome // kind unset until the state leaves
	reg region
}

func (s *sstate) with(r region) *sstate {
	n := *s
	n.reg = r
	return &n
}

// static checks a chain and what it reaches, once per chain and remote
// field.
func (c *compiler) static(name string, remote Field, depth int) sectionInfo {
	key := fmt.Sprintf("%s|%d", name, remote)
	if info, ok := c.info[key]; ok {
		return info
	}
	ch := c.chains[name]
	if ch == nil || ch.Base != nil || ch.Remote != 0 || depth > 16 {
		return sectionInfo{}
	}
	c.info[key] = sectionInfo{} // a loop is not compilable
	info := c.staticRules(ch.Rules, remote, depth)
	c.info[key] = info
	return info
}

func (c *compiler) staticRules(rules []Rule, remote Field, depth int) sectionInfo {
	info := sectionInfo{ok: true, rules: len(rules)}
	for i := range rules {
		r := &rules[i]
		if !c.staticRule(r, remote, &info) {
			return sectionInfo{}
		}
		switch r.Verdict.Kind {
		case VerdictJump, VerdictGoto:
			sub := c.static(r.Verdict.Chain, remote, depth+1)
			if !sub.ok {
				return sectionInfo{}
			}
			info.atoms = append(info.atoms, sub.atoms...)
			info.local = append(info.local, sub.local...)
			info.protos = append(info.protos, sub.protos...)
			info.rules += sub.rules
		case VerdictVmap:
			return sectionInfo{}
		}
	}
	slices.Sort(info.atoms)
	info.atoms = slices.Compact(info.atoms)
	slices.Sort(info.local)
	info.local = slices.Compact(info.local)
	slices.Sort(info.protos)
	info.protos = slices.Compact(info.protos)
	return info
}

// staticRule checks one rule's matches and statements.
func (c *compiler) staticRule(r *Rule, remote Field, info *sectionInfo) bool {
	for _, m := range r.Matches {
		if !c.staticMatch(r, m, remote, info) {
			return false
		}
	}
	for _, s := range r.Statements {
		switch x := s.(type) {
		case StmtMark:
			if (x.Clear|x.Set)&^MarkBits != 0 {
				return false
			}
		case StmtLog:
			if x.Limit != "" && r.Verdict.Kind != VerdictNone {
				return false
			}
		case StmtCounter:
		default:
			return false
		}
	}
	return true
}

func (c *compiler) staticMatch(r *Rule, m Match, remote Field, info *sectionInfo) bool {
	switch x := m.(type) {
	case MatchNfproto:
	case MatchL4Proto:
		for _, p := range x.Protos {
			info.protos = append(info.protos, int(p))
		}
	case MatchICMP:
		info.protos = append(info.protos, 1, 58)
	case MatchAddr:
		if x.Field == remote {
			info.atoms = append(info.atoms, c.addrAtom(c.ids, x))
		} else {
			info.local = append(info.local, c.addrAtom(c.local, x))
		}
	case MatchPort:
		return x.Field == FieldDport && onlyPortProtos(r)
	case MatchAddrProtoPort:
		// address . protocol . destination port: the remote end's named
		// port (egress) or the endpoint's own (ingress)
		if x.Field != FieldDaddr || (x.Negate && !onlyPortProtos(r)) {
			return false
		}
		s := c.sets[x.Set]
		if s == nil {
			return false
		}
		t := c.ids
		if remote != x.Field {
			t = c.local
		}
		for _, tu := range s.Tuples {
			if !slices.Contains(keyPortProtos, tu.Proto) {
				return false
			}
			info.protos = append(info.protos, int(tu.Proto))
			i := c.namedPortAtom(t, s, tu.Proto, tu.Port)
			if t == c.ids {
				info.atoms = append(info.atoms, i)
			} else {
				info.local = append(info.local, i)
			}
		}
	case MatchMark:
		return x.Mask&^MarkBits == 0
	default:
		return false
	}
	return true
}

// onlyPortProtos: the rule limits the protocol to ones with ports.
func onlyPortProtos(r *Rule) bool {
	for _, m := range r.Matches {
		if x, ok := m.(MatchL4Proto); ok && !x.Negate && len(x.Protos) > 0 {
			all := true
			for _, p := range x.Protos {
				all = all && slices.Contains(keyPortProtos, p)
			}
			if all {
				return true
			}
		}
	}
	return false
}

func (c *compiler) addrAtom(t *idTable, x MatchAddr) int {
	if len(x.Prefixes) == 0 { // a selector's set (a list's set holds Prefixes)
		return t.atomFor("set:"+x.Set, x.Set, func() []AddrRange {
			if s := c.sets[x.Set]; s != nil {
				return prefixRanges(s.Addrs.Prefixes())
			}
			return nil
		})
	}
	var names []string
	for _, p := range x.Prefixes {
		names = append(names, p.String())
	}
	name := strings.Join(names, ",")
	return t.atomFor("nets:"+name, name, func() []AddrRange { return prefixRanges(x.Prefixes) })
}

func (c *compiler) namedPortAtom(t *idTable, s *Set, proto uint8, port uint16) int {
	key := fmt.Sprintf("np:%s:%d:%d", s.Name, proto, port)
	return t.atomFor(key, fmt.Sprintf("%s %s/%d", s.Name, protoName(proto), port), func() []AddrRange {
		var out []AddrRange
		for _, t := range s.Tuples {
			if t.Proto == proto && t.Port == port {
				out = append(out, AddrRange{Lo: t.Addr, Hi: t.Addr})
			}
		}
		return out
	})
}

// walker runs one identity class through a section.
type walker struct {
	c       *compiler
	fam     Family
	remote  Field
	members map[int]bool // the remote identity's atoms
	local   map[int]bool // the local class's atoms
	keys    []int        // the region keys: protocols named, and protoOther
	outs    []*sstate
}

func (w *walker) all() region {
	r := region{}
	for _, k := range w.keys {
		r[k] = fullIvs
	}
	return r
}

// run walks states through rules[from:] of ch; what returns from the
// chain is returned.
func (w *walker) run(ch *Chain, from int, in []*sstate, depth int) []*sstate {
	cur := in
	var ret []*sstate
	for i := from; i < len(ch.Rules) && len(cur) > 0; i++ {
		r := &ch.Rules[i]
		var next, matched []*sstate
		for _, s := range cur {
			in, rest := s.reg.split(w.ruleRegion(r, s.out.mark))
			if !rest.empty() {
				next = append(next, s.with(rest))
			}
			if !in.empty() {
				matched = append(matched, w.apply(s.with(in), ch, r))
			}
		}
		switch r.Verdict.Kind {
		case VerdictNone:
			next = append(next, matched...)
		case VerdictAccept, VerdictDrop:
			for _, s := range matched {
				s.out.kind = r.Verdict.Kind
				if s.out.by == "" || r.Verdict.Kind == VerdictDrop {
					s.out.by, s.out.byChain = r.Comment, chainComment(ch)
				}
				w.outs = append(w.outs, s)
			}
		case VerdictReturn:
			ret = append(ret, matched...)
		case VerdictJump, VerdictGoto:
			if len(matched) > 0 {
				back := w.run(w.c.chains[r.Verdict.Chain], 0, matched, depth+1)
				if r.Verdict.Kind == VerdictJump {
					next = append(next, back...)
				} else {
					ret = append(ret, back...)
				}
			}
		}
		cur = merge(next)
	}
	return merge(append(ret, cur...))
}

func chainComment(ch *Chain) string {
	if ch.Remote != 0 {
		return "" // an endpoint's own rule: outcome chains are shared
	}
	return ch.Comment
}

// apply runs a matched rule's statements on a state.
func (w *walker) apply(s *sstate, ch *Chain, r *Rule) *sstate {
	var kept []Statement
	for _, st := range r.Statements {
		switch x := st.(type) {
		case StmtMark:
			s.out.mark = s.out.mark&^x.Clear | x.Set
			if x.Set&MarkAccept != 0 {
				s.out.by, s.out.byChain = r.Comment, chainComment(ch)
			}
		default:
			kept = append(kept, st)
		}
	}
	if len(kept) > 0 {
		s.out.path = append(slices.Clip(s.out.path), Rule{Statements: kept, Comment: r.Comment})
	}
	return s
}

// merge joins states that took the same way.
func merge(ss []*sstate) []*sstate {
	if len(ss) < 2 {
		return ss
	}
	byKey := map[string]*sstate{}
	var out []*sstate
	for _, s := range ss {
		k := s.out.key()
		if o, ok := byKey[k]; ok {
			o.reg.union(s.reg)
			continue
		}
		n := s.with(s.reg.clone())
		byKey[k] = n
		out = append(out, n)
	}
	return out
}

// ruleRegion is where a rule's matches hold, for a state with mark bits.
func (w *walker) ruleRegion(r *Rule, mark uint32) region {
	reg := w.all()
	for _, m := range r.Matches {
		reg = w.restrict(reg, m, mark)
		if reg.empty() {
			break
		}
	}
	return reg
}

func (w *walker) restrict(reg region, m Match, mark uint32) region {
	keepIf := func(ok bool) region {
		if ok {
			return reg
		}
		return region{}
	}
	switch x := m.(type) {
	case MatchNfproto:
		return keepIf(w.fam == x.Family)
	case MatchL4Proto:
		for k := range reg {
			in := k != protoOther && slices.Contains(x.Protos, uint8(k))
			if in == x.Negate {
				delete(reg, k)
			}
		}
		return reg
	case MatchAddr:
		if x.Field == w.remote {
			return keepIf(w.fam == x.Family && w.members[w.c.addrAtom(w.c.ids, x)] != x.Negate)
		}
		return keepIf(w.fam == x.Family && w.local[w.c.addrAtom(w.c.local, x)] != x.Negate)
	case MatchPort:
		ports := normIvs(x.Ranges)
		if x.Negate {
			ports = ports.not()
		}
		return restrictValues(reg, func(int) ivs { return ports })
	case MatchICMP:
		return restrictValues(reg, func(k int) ivs { return icmpValues(x, k) })
	case MatchAddrProtoPort:
		if w.fam != x.Family {
			return region{}
		}
		return restrictValues(reg, func(k int) ivs {
			if x.Negate {
				return w.namedPorts(x, k).not()
			}
			return w.namedPorts(x, k)
		})
	case MatchMark:
		return keepIf((mark&x.Mask == x.Value) != x.Negate)
	}
	return region{}
}

// restrictValues intersects each protocol's values with vals(protocol).
func restrictValues(reg region, vals func(int) ivs) region {
	out := region{}
	for k, v := range reg {
		if a := v.and(vals(k)); len(a) > 0 {
			out[k] = a
		}
	}
	return out
}

// icmpValues are the type<<8|code values an ICMP match takes for
// protocol k (none unless k is its protocol).
func icmpValues(x MatchICMP, k int) ivs {
	want := 1
	if x.Family == FamilyIPv6 {
		want = 58
	}
	if k != want {
		return nil
	}
	var types, exact []PortRange
	for _, t := range x.Types {
		lo := uint16(t) << 8
		types = append(types, PortRange{lo, lo | 0xff})
		if x.Code != nil {
			exact = append(exact, PortRange{lo | uint16(*x.Code), lo | uint16(*x.Code)})
		}
	}
	switch {
	case x.Code == nil && x.Negate:
		return normIvs(types).not()
	case x.Code == nil:
		return normIvs(types)
	case x.Negate:
		return normIvs(types).minus(normIvs(exact))
	}
	return normIvs(exact)
}

// namedPorts are the ports of protocol k whose named-port atom the
// identity has.
func (w *walker) namedPorts(x MatchAddrProtoPort, k int) ivs {
	s := w.c.sets[x.Set]
	if s == nil || k == protoOther {
		return nil
	}
	t, members := w.c.ids, w.members
	if x.Field != w.remote {
		t, members = w.c.local, w.local
	}
	var out []PortRange
	for _, tu := range s.Tuples {
		if int(tu.Proto) == k && members[w.c.namedPortAtom(t, s, tu.Proto, tu.Port)] {
			out = append(out, PortRange{tu.Port, tu.Port})
		}
	}
	return normIvs(out)
}
