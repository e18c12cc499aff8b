package render

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// Compile returns the ruleset with each endpoint chain's policy section
// (its tiers, policies and profiles: Chain.Section on) replaced by
// lookups whose cost does not grow with the number of policies or rules:
//
//	ip saddr vmap @ids-v4                  the remote address's identity
//	                                       (jump id-N: put N in the mark)
//	meta l4proto { tcp, udp, sctp, udplite } meta mark & 0xfffc0000 . meta l4proto . th dport vmap @cv-<chain>-p
//	meta l4proto { icmp, ipv6-icmp } meta mark & 0xfffc0000 . meta l4proto . th sport vmap @cv-<chain>-i
//	meta mark & 0xfffc0000 . meta l4proto vmap @cv-<chain>-o
//	goto out-<hash>                        the most common drop outcome
//	                                       (or out-no-element)
//
// The verdict maps' elements are the disjoint boxes (identities, protocols,
// ports or ICMP type and code) of the first-match result, each going to an
// outcome chain out-<hash> that counts into the deciding rule's counter,
// logs what the walk logged, and ends as the section did (drop, or return
// with the accept mark or without), with the deciding rule's comment.
// Boxes every identity shares take the whole identity range. What no
// element covers goes to the chain's last rule: the most common outcome
// that drops, or out-no-element (drop); never an accept or a return, so
// a packet that meets a change mid-commit is judged by the old elements
// or dropped.
//
// A section compiles when every rule it reaches is of a shape the
// symbolic walk (compile_eval.go) knows; others keep their chains. Compile
// is pure and leaves its argument unchanged; a ruleset without endpoint
// chains, or with more identities than the mark holds (MaxIdentities), is
// returned as it is.
func Compile(r *Ruleset) *Ruleset {
	out, _ := compile(r)
	return out
}

// compile is Compile, also returning the identities (none when it
// returns r).
func compile(r *Ruleset) (*Ruleset, []*identity) { return compileWith(r, elementBudget) }

// compileWith is compile with a chain's element budget as budget says.
func compileWith(r *Ruleset, budget func(rules int) int) (*Ruleset, []*identity) {
	m := &memo{}
	m.begin()
	return compileMemo(r, budget, m)
}

// compileMemo is compileWith, deciding sections through m. It compiles
// r with base names and names what it returns by content (version.go).
func compileMemo(r *Ruleset, budget func(rules int) int, m *memo) (*Ruleset, []*identity) {
	in := withoutVersions(r)
	out, ids := compileBase(in, budget, m)
	if out == in {
		return r, ids
	}
	return Versioned(out), ids
}

// compileBase is compileMemo on a ruleset with base names.
func compileBase(r *Ruleset, budget func(rules int) int, m *memo) (*Ruleset, []*identity) {
	c := &compiler{budget: budget, memo: m, texts: map[*Rule]string{}, sigs: map[int]string{}, r: r, chains: map[string]*Chain{}, sets: map[string]*Set{}, info: map[string]sectionInfo{},
		ids: newIDTable(), local: newIDTable(), outs: map[string]*Chain{}, extra: map[string]*Chain{},
		idAt: map[string]int{}}
	c.ids.hashed, c.ids.hosts = true, true
	for _, ch := range r.Chains {
		c.chains[ch.Name] = ch
	}
	for _, s := range r.Sets {
		c.sets[s.Name] = s
	}
	var todo []*Chain
	infos := map[string]sectionInfo{}
	for _, ch := range r.Chains {
		if ch.Remote == 0 || !hasJump(ch.Rules[ch.Section:]) {
			continue
		}
		info := c.staticRules(ch.Rules[ch.Section:], ch.Remote, 0)
		if info.ok {
			todo = append(todo, ch)
			infos[ch.Name] = info
		}
	}
	if len(todo) == 0 || !c.ids.build() {
		return r, nil
	}
	replaced := map[string]*Chain{}
	usesIDs := false
	for _, ch := range todo {
		nc, maps, ids := c.compileChain(ch, infos[ch.Name])
		if nc == nil {
			delete(c.idAt, ch.Name)
			continue
		}
		replaced[ch.Name] = nc
		c.maps = append(c.maps, maps...)
		usesIDs = usesIDs || ids
	}
	c.placeIDs(replaced)
	return c.assemble(replaced, usesIDs), c.ids.list
}

type compiler struct {
	r      *Ruleset
	chains map[string]*Chain
	sets   map[string]*Set
	info   map[string]sectionInfo
	ids    *idTable
	local  *idTable          // local address atoms (no identities of its own)
	outs   map[string]*Chain // outcome chains by name
	extra  map[string]*Chain // a section's variants per local class
	maps   []*Map
	budget func(rules int) int // elementBudget, but for tests
	memo   *memo               // decisions by section key (compileClass)
	texts  map[*Rule]string    // ruleText
	sigs   map[int]string      // atomSig
	// idAt is, for each compiled chain whose maps need the identity, where
	// in it the identity lookup goes unless its callers do it (placeIDs).
	idAt map[string]int
}

func hasJump(rules []Rule) bool {
	for _, r := range rules {
		if r.Verdict.Kind == VerdictJump || r.Verdict.Kind == VerdictGoto {
			return true
		}
	}
	return false
}

// classResult is one identity class's outcomes, each with its region:
// the identities holding atoms of the chain's (ids), or a family's
// identities holding none, as ranges of numbers (spans).
type classResult struct {
	family Family
	atoms  []int // the chain's atoms its identities hold
	ids    []*identity
	spans  [][2]uint32
	outs   []*sstate
}

// size is how many elements the class takes per box of an outcome it
// does not share with every class.
func (cr *classResult) size() int { return len(cr.ids) + len(cr.spans) }

// compileChain replaces a chain's section; ids reports whether its maps
// need the identity lookup; nil when it would take more elements than
// the budget (elementBudget) or more identity classes than maxClasses:
// the chain then keeps its rules. A section whose rules also match the local
// address is compiled once per class of local addresses, and the chain
// dispatches on the local address (maps lids-<chain>-v4/-v6) to them.
func (c *compiler) compileChain(ch *Chain, info sectionInfo) (*Chain, []*Map, bool) {
	keys := append(slices.Clone(info.protos), protoOther)
	for _, p := range append(slices.Clone(keyPortProtos), icmpProtos...) {
		keys = append(keys, int(p))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	nc := &Chain{Name: ch.Name, Comment: ch.Comment, Remote: ch.Remote, Section: ch.Section,
		Rules: slices.Clone(ch.Rules[:ch.Section])}
	if len(info.local) == 0 {
		rules, maps, perID := c.compileClass(ch, info, keys, nil, ch.Name)
		if rules == nil {
			return nil, nil, false
		}
		if perID {
			c.idAt[ch.Name] = len(nc.Rules)
		}
		nc.Rules = append(nc.Rules, rules...)
		return nc, maps, perID
	}
	lt := newIDTable()
	for _, i := range info.local {
		lt.atoms = append(lt.atoms, c.local.atoms[i])
	}
	lt.target = func(id *identity) Verdict { return Goto(fmt.Sprintf("%s-l%d", ch.Name, id.id)) }
	lt.build()
	var maps []*Map
	perID := false
	for _, l := range lt.list {
		local := map[int]bool{}
		for _, m := range l.members {
			local[info.local[m]] = true
		}
		name := lt.target(l).Chain
		rules, ms, pid := c.compileClass(ch, info, keys, local, name)
		if rules == nil {
			return nil, nil, false
		}
		c.extra[name] = &Chain{Name: name, Comment: fmt.Sprintf("%s, local address class %d", ch.Comment, l.id), Rules: rules}
		maps = append(maps, ms...)
		perID = perID || pid
	}
	if perID {
		c.idAt[ch.Name] = len(nc.Rules)
	}
	for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
		kind, suffix := MapIPv4, "-v4"
		if fam == FamilyIPv6 {
			kind, suffix = MapIPv6, "-v6"
		}
		m := &Map{Name: "lids-" + ch.Name + suffix, Kind: kind, Comment: ch.Name + ": local address -> its class",
			Elements: lt.elems[fam]}
		maps = append(maps, m)
		nc.Rules = append(nc.Rules, Rule{Verdict: Verdict{Kind: VerdictVmap, Map: m.Name, Key: localField(ch.Remote), Family: fam}})
	}
	return nc, maps, perID
}

func localField(remote Field) Field {
	if remote == FieldSaddr {
		return FieldDaddr
	}
	return FieldSaddr
}

// compileClass walks the section for every identity class (with the
// local class local) and returns the lookups that replace it.
func (c *compiler) compileClass(ch *Chain, info sectionInfo, keys []int, local map[int]bool, name string) ([]Rule, []*Map, bool) {
	// A section is decided once per key (sectionKey), in this compile
	// or, through a Compiler, an earlier one.
	text := c.sectionText(ch, local)
	key := c.sectionKey(text, info.atoms)
	d, ok := c.memo.get(key)
	if !ok {
		if order, ok := c.classes(info.atoms); ok {
			d = c.decide(ch, info, keys, local, order, text)
		}
		c.memo.put(key, d)
	}
	return c.decided(name, d)
}

// decision is a compiled section before its maps are named: the
// elements, the default (a drop outcome, or none), whether any element is
// per identity, and false when over the budget.
type decision struct {
	elems []MapElement
	def   *outcome // the chain's last rule's outcome (a drop), or nil
	perID bool
	ok    bool
	outs  []*Chain // the outcome chains the elements go to, and out-no-element
}

// decided names a decision's maps after the chain name.
func (c *compiler) decided(name string, d decision) ([]Rule, []*Map, bool) {
	if !d.ok {
		return nil, nil, false
	}
	for _, oc := range d.outs {
		c.outs[oc.Name] = oc
	}
	rules, maps := c.lookups(name, d.elems, d.def)
	return rules, maps, d.perID
}

// decide walks the section for every class of identities and decides
// the elements.
func (c *compiler) decide(ch *Chain, info sectionInfo, keys []int, local map[int]bool, order []*classResult, text string) decision {
	for _, cr := range order {
		// A class's walk depends on the section and the atoms it holds,
		// not on which identities it has: a pod that joins a class that
		// exists walks nothing again.
		ck := c.classKey(text, cr)
		if outs, ok := c.memo.walks(ck); ok {
			cr.outs = outs
			continue
		}
		w := &walker{c: c, fam: cr.family, remote: ch.Remote, members: map[int]bool{}, local: local, keys: keys}
		for _, m := range cr.atoms {
			w.members[m] = true
		}
		start := &sstate{reg: w.all()}
		for _, s := range w.run(ch, ch.Section, []*sstate{start}, 0) {
			s.out.kind = VerdictReturn
			if s.out.by == "" {
				s.out.by = "no verdict"
			}
			w.outs = append(w.outs, s)
		}
		cr.outs = merge(w.outs)
		c.memo.putWalk(ck, cr.outs)
	}
	d := c.lookupsFromClasses(order, keys, c.budget(info.rules))
	if d.ok {
		names := map[string]bool{c.lastChain(d.def): true}
		for _, e := range d.elems {
			names[e.Verdict.Chain] = true
		}
		for _, n := range slices.Sorted(maps.Keys(names)) {
			d.outs = append(d.outs, c.outs[n])
		}
	}
	return d
}

// classes groups the identities by the atoms of atoms they hold: one
// class per combination that some identity has, found through the
// identities of each atom, and per family one class of the identities
// that hold none of them, as the ranges of numbers between the others
// (so what it covers does not depend on the identities it holds). false
// when there are more than maxClasses.
func (c *compiler) classes(atoms []int) ([]*classResult, bool) {
	touched := map[*identity][]int{}
	for _, a := range atoms {
		for _, id := range c.ids.withAtom(a) {
			touched[id] = append(touched[id], a)
		}
	}
	ids := slices.SortedFunc(maps.Keys(touched), func(a, b *identity) int { return int(a.id) - int(b.id) })
	byKey := map[string]*classResult{}
	var order []*classResult
	var buf []byte
	for _, id := range ids {
		buf = append(buf[:0], byte(id.family))
		for _, a := range touched[id] {
			buf = binary.AppendUvarint(buf, uint64(a))
		}
		cr, ok := byKey[string(buf)]
		if !ok {
			if len(order) == maxClasses {
				return nil, false
			}
			cr = &classResult{family: id.family, atoms: touched[id]}
			byKey[string(buf)] = cr
			order = append(order, cr)
		}
		cr.ids = append(cr.ids, id)
	}
	for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
		lo, hi := familyIDs(fam)
		cr := &classResult{family: fam}
		next := lo
		for _, id := range ids {
			if id.family == fam {
				if id.id > next {
					cr.spans = append(cr.spans, [2]uint32{next, id.id - 1})
				}
				next = id.id + 1
			}
		}
		if next <= hi {
			cr.spans = append(cr.spans, [2]uint32{next, hi})
		}
		if len(cr.spans) > 0 {
			order = append(order, cr)
		}
	}
	return order, true
}

// The budget of a compiled chain. Elements are per identity where a class
// of identities has an outcome the others lack, so a chain whose rules
// tell many identities apart (many selectors over many label sets) can
// take far more elements than the linear form has rules and set members
// (the kernel's memory, and the time to write them); such a chain keeps
// its rules.
const maxClasses = 1024

// elementBudget is the most elements a chain whose section walks rules
// rules may compile to.
func elementBudget(rules int) int { return 1024 + 16*rules }

// lookupsFromClasses builds the verdict maps and the rules that use them.
// It decides nothing (ok false) when the elements would be more than
// budget.
func (c *compiler) lookupsFromClasses(order []*classResult, keys []int, budget int) decision {
	common := commonRegions(order)
	weight := map[string]int{}
	outOf := map[string]*outcome{}
	for k, reg := range common {
		weight[k] += len(boxes(reg, keys))
	}
	for _, cr := range order {
		for _, s := range cr.outs {
			k := s.out.key()
			outOf[k] = &s.out
			weight[k] += cr.size() * len(boxes(residue(s.reg, common[k]), keys))
		}
	}
	// The default (the chain's last rule, what no element covers) is the
	// most common outcome that drops, never one that accepts or returns:
	// a packet that meets a change being committed (the kernel makes the
	// new rules live a moment before it publishes the maps' new
	// elements) is judged by the old elements or dropped. Without a drop
	// outcome every outcome is elements, and the last rule drops.
	def, total := "", 0
	for k, n := range weight {
		total += n
		if outOf[k].kind != VerdictDrop {
			continue
		}
		if def == "" || n > weight[def] || (n == weight[def] && k < def) {
			def = k
		}
	}
	if total-weight[def] > budget {
		return decision{}
	}
	var elems []MapElement
	for k, reg := range common {
		if k != def {
			elems = append(elems, c.elements(reg, keys, 0, MarkIDMask, outOf[k])...)
		}
	}
	perID := false
	for _, cr := range order {
		for _, s := range cr.outs {
			k := s.out.key()
			rest := residue(s.reg, common[k])
			if k == def || rest.empty() {
				continue
			}
			perID = true
			for _, id := range cr.ids {
				elems = append(elems, c.elements(rest, keys, id.mark(), id.mark(), &s.out)...)
			}
			for _, sp := range cr.spans {
				elems = append(elems, c.elements(rest, keys, sp[0]<<MarkIDShift, sp[1]<<MarkIDShift, &s.out)...)
			}
		}
	}
	return decision{elems: elems, def: outOf[def], perID: perID, ok: true}
}

// commonRegions is, per outcome, the region where every class has it.
func commonRegions(order []*classResult) map[string]region {
	var common map[string]region
	for _, cr := range order {
		mine := map[string]region{}
		for _, s := range cr.outs {
			mine[s.out.key()] = s.reg
		}
		if common == nil {
			common = mine
			continue
		}
		next := map[string]region{}
		for k, reg := range common {
			if o, ok := mine[k]; ok {
				if in, _ := reg.split(o); !in.empty() {
					next[k] = in
				}
			}
		}
		common = next
	}
	return common
}

// residue is reg without the common part.
func residue(reg, common region) region {
	if common == nil {
		return reg
	}
	_, out := reg.split(common)
	return out
}

// box is one element's protocol and value ranges.
type box struct {
	protoLo, protoHi uint8
	lo, hi           uint16
	kind             MapKind
	icmp             bool
}

// boxes lists a region's elements: port and ICMP protocols with their
// values, other protocols as protocol ranges (protoOther spread over the
// protocols no key names).
func boxes(reg region, keys []int) []box {
	var out []box
	for _, k := range keys {
		v, ok := reg[k]
		if !ok {
			continue
		}
		switch {
		case k == protoOther:
			for _, pr := range otherProtos(keys) {
				out = append(out, box{protoLo: pr.lo, protoHi: pr.hi, kind: MapIDProto})
			}
		case slices.Contains(keyPortProtos, uint8(k)) || slices.Contains(icmpProtos, uint8(k)):
			for _, iv := range v {
				out = append(out, box{protoLo: uint8(k), protoHi: uint8(k), lo: iv.Lo, hi: iv.Hi, kind: MapIDProtoPort,
					icmp: slices.Contains(icmpProtos, uint8(k))})
			}
		default:
			out = append(out, box{protoLo: uint8(k), protoHi: uint8(k), kind: MapIDProto})
		}
	}
	return out
}

type protoRange struct{ lo, hi uint8 }

// otherProtos are the protocol ranges no key names.
func otherProtos(keys []int) []protoRange {
	var out []protoRange
	start := 0
	for p := 0; p <= 256; p++ {
		named := p < 256 && slices.Contains(keys, p)
		if p == 256 || named {
			if start < p {
				out = append(out, protoRange{uint8(start), uint8(p - 1)})
			}
			start = p + 1
		}
	}
	return out
}

// elements are a region's map elements for identities idLo-idHi.
func (c *compiler) elements(reg region, keys []int, idLo, idHi uint32, o *outcome) []MapElement {
	var out []MapElement
	target := c.outcomeChain(o)
	for _, b := range boxes(reg, keys) {
		e := MapElement{Box: Box{IDLo: idLo, IDHi: idHi, ProtoLo: b.protoLo, ProtoHi: b.protoHi}, Verdict: Goto(target),
			Comment: o.by}
		if b.kind == MapIDProtoPort {
			e.Box.Lo, e.Box.Hi = b.lo, b.hi
		}
		// which map: the element's kind and whether it is ICMP
		e.Key = mapSuffix(b)
		out = append(out, e)
	}
	return out
}

func mapSuffix(b box) string {
	switch {
	case b.kind == MapIDProto:
		return "o"
	case b.icmp:
		return "i"
	}
	return "p"
}

// outcomeChain returns the name of the chain that ends an outcome.
func (c *compiler) outcomeChain(o *outcome) string {
	rules := slices.Clone(o.path)
	last := Rule{Comment: o.by}
	switch o.kind {
	case VerdictAccept, VerdictDrop:
		last.Verdict = Verdict{Kind: o.kind}
	default:
		if o.mark != 0 {
			last.Statements = []Statement{StmtMark{Clear: MarkBits, Set: o.mark}}
		} else {
			last.Verdict = Return
		}
	}
	rules = append(rules, last)
	name := "out-" + shortHash(o.key())
	if _, ok := c.outs[name]; !ok {
		c.outs[name] = &Chain{Name: name, Comment: o.byChain, Rules: rules}
	}
	return name
}

// lookups are the verdict map lookups of a compiled section (all three
// maps, empty or not) and the goto of what no element covers: its drop
// default, or out-no-element.
func (c *compiler) lookups(name string, elems []MapElement, def *outcome) ([]Rule, []*Map) {
	var rules []Rule
	var maps []*Map
	specs := []struct {
		suffix string
		kind   MapKind
		key    Field
		guard  []uint8
		what   string
	}{
		{"p", MapIDProtoPort, FieldIDPort, keyPortProtos, "identity . protocol . port"},
		{"i", MapIDProtoPort, FieldIDICMP, icmpProtos, "identity . protocol . ICMP type and code"},
		{"o", MapIDProto, FieldIDProto, nil, "identity . protocol"},
	}
	for _, sp := range specs {
		m := &Map{Name: "cv-" + name + "-" + sp.suffix, Kind: sp.kind, Comment: fmt.Sprintf("%s: %s -> outcome", name, sp.what)}
		for _, e := range elems {
			if e.Key == sp.suffix {
				e.Key = ""
				m.Elements = append(m.Elements, e)
			}
		}
		sortBoxes(m.Elements)
		maps = append(maps, m)
		r := Rule{Verdict: Verdict{Kind: VerdictVmap, Map: m.Name, Key: sp.key}}
		if sp.guard != nil {
			r.Matches = []Match{c.protoMatch(sp.guard)}
		}
		rules = append(rules, r)
	}
	comment := "no element: only while a change is committed"
	if def != nil {
		comment = def.by
	}
	rules = append(rules, Rule{Verdict: Goto(c.lastChain(def)), Comment: comment})
	return rules, maps
}

// protoMatch is meta l4proto in protos (more than one) through their
// list set, as render's rules name it (lists.go); assemble declares the
// list sets the compiled rules name (protoLists).
func (c *compiler) protoMatch(protos []uint8) MatchL4Proto {
	return MatchL4Proto{Protos: protos, Set: protoListSet(protos).Name}
}

// protoLists are the protocol list sets the chains' rules name and have
// lacks: the compiled form's own guards' (a section's rules may come from
// the memo, so the sets are found in the rules, not recorded as made).
func protoLists(chains []*Chain, have map[string]*Set) []*Set {
	var out []*Set
	seen := map[string]bool{}
	for _, ch := range chains {
		for _, r := range ch.Rules {
			for _, m := range r.Matches {
				if x, ok := m.(MatchL4Proto); ok && x.Set != "" && have[x.Set] == nil && !seen[x.Set] {
					seen[x.Set] = true
					out = append(out, protoListSet(x.Protos))
				}
			}
		}
	}
	return out
}

// lastChain is the chain a compiled section's last rule goes to: its
// default outcome's, or out-no-element.
func (c *compiler) lastChain(def *outcome) string {
	if def != nil {
		return c.outcomeChain(def)
	}
	return c.noElement()
}

// noElement is the chain a compiled section goes to when no element of
// its maps covers the packet, which happens only while a change is being
// committed (a map new in it is empty to packets for that instant): it
// drops (fail closed).
func (c *compiler) noElement() string {
	const name = "out-no-element"
	if _, ok := c.outs[name]; !ok {
		c.outs[name] = &Chain{Name: name, Comment: "no map element covers the packet (a change is being committed)",
			Rules: []Rule{{Verdict: Drop, Comment: "fail closed"}}}
	}
	return name
}

func sortBoxes(es []MapElement) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i].Box, es[j].Box
		if a.IDLo != b.IDLo {
			return a.IDLo < b.IDLo
		}
		if a.ProtoLo != b.ProtoLo {
			return a.ProtoLo < b.ProtoLo
		}
		return a.Lo < b.Lo
	})
}

// assemble is the new ruleset: compiled chains in place, identity and
// outcome chains, the maps, and no chain or set nothing reaches.
func (c *compiler) assemble(replaced map[string]*Chain, usesIDs bool) *Ruleset {
	out := *c.r
	out.Chains = nil
	all := map[string]*Chain{}
	for _, ch := range c.r.Chains {
		if nc, ok := replaced[ch.Name]; ok {
			ch = nc
		}
		all[ch.Name] = ch
	}
	for name, ch := range c.outs {
		all[name] = ch
	}
	for name, ch := range c.extra {
		all[name] = ch
	}
	maps := slices.Clone(c.r.Maps)
	maps = append(maps, c.maps...)
	if usesIDs {
		for _, id := range c.ids.list {
			ch := c.ids.chain(id)
			all[ch.Name] = ch
		}
		maps = append(maps, c.ids.maps()...)
	}
	mapsByName := map[string]*Map{}
	for _, m := range maps {
		mapsByName[m.Name] = m
	}
	reach := reachable(all, mapsByName)
	for name, ch := range all {
		if reach.chains[name] {
			out.Chains = append(out.Chains, ch)
		}
	}
	sort.Slice(out.Chains, func(i, j int) bool { return chainLess(out.Chains[i], out.Chains[j]) })
	out.Maps = nil
	for _, m := range maps {
		if reach.maps[m.Name] {
			out.Maps = append(out.Maps, m)
		}
	}
	sort.Slice(out.Maps, func(i, j int) bool { return out.Maps[i].Name < out.Maps[j].Name })
	out.Sets = nil
	for _, s := range c.r.Sets {
		if reach.sets[s.Name] {
			out.Sets = append(out.Sets, s)
		}
	}
	out.Sets = append(out.Sets, protoLists(out.Chains, c.sets)...)
	sort.Slice(out.Sets, func(i, j int) bool { return out.Sets[i].Name < out.Sets[j].Name })
	return &out
}

type reachSet struct{ chains, maps, sets map[string]bool }

// reachable walks from the base chains through jumps, gotos and maps.
func reachable(chains map[string]*Chain, maps map[string]*Map) reachSet {
	rs := reachSet{chains: map[string]bool{}, maps: map[string]bool{}, sets: map[string]bool{}}
	var todo []string
	visit := func(name string) {
		if !rs.chains[name] {
			rs.chains[name] = true
			todo = append(todo, name)
		}
	}
	for name, ch := range chains {
		if ch.Base != nil {
			visit(name)
		}
	}
	for len(todo) > 0 {
		ch := chains[todo[len(todo)-1]]
		todo = todo[:len(todo)-1]
		if ch == nil {
			continue
		}
		for _, r := range ch.Rules {
			for _, s := range ruleSets(r) {
				rs.sets[s] = true
			}
			switch v := r.Verdict; v.Kind {
			case VerdictJump, VerdictGoto:
				visit(v.Chain)
			case VerdictVmap:
				if m := maps[v.Map]; m != nil && !rs.maps[v.Map] {
					rs.maps[v.Map] = true
					for _, e := range m.Elements {
						if e.Verdict.Chain != "" {
							visit(e.Verdict.Chain)
						}
					}
				}
			}
		}
	}
	return rs
}

// ruleSets are the named sets a rule's matches look up.
func ruleSets(r Rule) []string {
	var out []string
	for _, m := range r.Matches {
		switch x := m.(type) {
		case MatchAddr:
			out = append(out, x.Set)
		case MatchL4Proto:
			out = append(out, x.Set)
		case MatchPort:
			out = append(out, x.Set)
		case MatchAddrProtoPort:
			out = append(out, x.Set)
		case MatchProtoPort:
			out = append(out, x.Set)
		}
	}
	return out
}
