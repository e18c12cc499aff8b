package render

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// The tracer walks a synthetic packet through the typed ruleset, in the
// spirit of kube-proxy's nftables test tracer: the base chains of each hook
// in priority order, jumps, gotos and returns, verdict maps, set lookups and
// mark statements, recording every rule that matched.

// Packet is a synthetic packet and the conntrack facts the rules can see.
type Packet struct {
	Iif, Oif     string // "" where the hook has none (output: no iif; input: no oif)
	Src, Dst     netip.Addr
	Proto        uint8
	Sport, Dport uint16
	ICMPType     uint8
	ICMPCode     uint8
	CtState      string // CtNew ("" means new), CtEstablished, CtRelated, CtInvalid, CtUntracked
	CtDNAT       bool   // the connection was DNAT'd (ct status dnat)
	Mark         uint32
	// DNAT, when valid, is applied at PriorityDNAT in the prerouting or
	// output hook (kube-proxy's place): the destination and its port are
	// rewritten and CtDNAT is set.
	DNAT netip.AddrPort
	// Hooks are the hooks the packet meets, in order. Nil means: in by Iif
	// and out by Oif: prerouting, forward, postrouting; in by Iif only:
	// prerouting, input; sent by a local process: output, postrouting.
	Hooks []Hook
}

// Hit is one rule that matched.
type Hit struct {
	Hook  Hook
	Chain string
	Index int // position in the chain
	Rule  string
}

// HookResult is the outcome of one hook.
type HookResult struct {
	Hook    Hook
	Verdict string // "accept" or "drop"
	Chain   string // the base chain that dropped, when dropped
}

// TraceResult is the packet's fate.
type TraceResult struct {
	Verdict string // "accept" or "drop"
	Hooks   []HookResult
	Hits    []Hit
	Logged  int    // log statements executed
	Packet  Packet // the packet at the end (mark, conntrack state, DNAT applied)
	Err     error  // a malformed ruleset: unknown chain, set or map, or a loop
}

// Allowed reports whether the packet got through every hook.
func (t TraceResult) Allowed() bool { return t.Verdict == "accept" && t.Err == nil }

// String lists the hits and the verdicts.
func (t TraceResult) String() string {
	var b strings.Builder
	for _, h := range t.Hits {
		fmt.Fprintf(&b, "%-12s %s[%d]: %s\n", h.Hook, h.Chain, h.Index, h.Rule)
	}
	for _, h := range t.Hooks {
		fmt.Fprintf(&b, "hook %s: %s", h.Hook, h.Verdict)
		if h.Chain != "" {
			fmt.Fprintf(&b, " (in %s)", h.Chain)
		}
		b.WriteByte('\n')
	}
	if t.Err != nil {
		fmt.Fprintf(&b, "error: %v\n", t.Err)
	}
	fmt.Fprintf(&b, "verdict: %s\n", t.Verdict)
	return b.String()
}

func (p *Packet) hooks() []Hook {
	switch {
	case p.Hooks != nil:
		return p.Hooks
	case p.Iif != "" && p.Oif != "":
		return []Hook{HookPrerouting, HookForward, HookPostrouting}
	case p.Iif != "":
		return []Hook{HookPrerouting, HookInput}
	}
	return []Hook{HookOutput, HookPostrouting}
}

type tracer struct {
	r      *Ruleset
	chains map[string]*Chain
	sets   map[string]*Set
	maps   map[string]*Map
	p      Packet
	res    TraceResult
	hook   Hook
}

// maxSteps bounds a trace (a ruleset with a jump loop).
const maxSteps = 100000

// Trace walks p through the ruleset.
func (r *Ruleset) Trace(p Packet) TraceResult {
	t := &tracer{r: r, chains: map[string]*Chain{}, sets: map[string]*Set{}, maps: map[string]*Map{}, p: p}
	for _, c := range r.Chains {
		t.chains[c.Name] = c
	}
	for _, s := range r.Sets {
		t.sets[s.Name] = s
	}
	for _, m := range r.Maps {
		t.maps[m.Name] = m
	}
	t.res.Verdict = "accept"
	for _, h := range p.hooks() {
		t.hook = h
		v, chain := t.runHook(h)
		t.res.Hooks = append(t.res.Hooks, HookResult{Hook: h, Verdict: v, Chain: chain})
		if v != "accept" || t.res.Err != nil {
			t.res.Verdict = "drop"
			break
		}
	}
	t.res.Packet = t.p
	return t.res
}

// runHook runs the base chains of a hook in priority order; DNAT happens
// at PriorityDNAT in prerouting and output.
func (t *tracer) runHook(h Hook) (string, string) {
	var bases []*Chain
	for _, c := range t.r.Chains {
		if c.Base != nil && c.Base.Hook == h {
			bases = append(bases, c)
		}
	}
	sort.SliceStable(bases, func(i, j int) bool { return bases[i].Base.Priority < bases[j].Base.Priority })
	dnatHook := h == HookPrerouting || h == HookOutput
	for _, c := range bases {
		if dnatHook && c.Base.Priority >= PriorityDNAT {
			t.applyDNAT()
		}
		if t.runBase(c) == VerdictDrop {
			return "drop", c.Name
		}
	}
	if dnatHook {
		t.applyDNAT()
	}
	return "accept", ""
}

func (t *tracer) applyDNAT() {
	if !t.p.DNAT.IsValid() {
		return
	}
	t.p.Dst, t.p.Dport = t.p.DNAT.Addr(), t.p.DNAT.Port()
	t.p.CtDNAT = true
	t.p.DNAT = netip.AddrPort{}
}

type frame struct {
	c *Chain
	i int
}

// runBase runs one base chain to its verdict: accept, drop, or the
// chain's policy when it ends.
func (t *tracer) runBase(base *Chain) VerdictKind {
	stack := []frame{{c: base}}
	for steps := 0; len(stack) > 0; steps++ {
		if steps > maxSteps {
			t.res.Err = fmt.Errorf("trace: more than %d steps in %s", maxSteps, base.Name)
			return VerdictDrop
		}
		f := &stack[len(stack)-1]
		if f.i >= len(f.c.Rules) {
			stack = stack[:len(stack)-1]
			continue
		}
		idx := f.i
		r := &f.c.Rules[idx]
		f.i++
		if !t.matchAll(r.Matches) {
			continue
		}
		t.res.Hits = append(t.res.Hits, Hit{Hook: t.hook, Chain: f.c.Name, Index: idx, Rule: r.String()})
		t.apply(r.Statements)
		v := r.Verdict
		if v.Kind == VerdictVmap {
			var ok bool
			if v, ok = t.lookupMap(v); !ok {
				continue
			}
		}
		var stop bool
		if stack, stop = t.follow(stack, v); stop {
			return v.Kind
		}
	}
	if base.Base != nil && base.Base.Policy == "drop" {
		return VerdictDrop
	}
	return VerdictAccept
}

// follow applies a non-map verdict to the call stack; stop reports a
// terminal accept or drop.
func (t *tracer) follow(stack []frame, v Verdict) ([]frame, bool) {
	switch v.Kind {
	case VerdictAccept, VerdictDrop:
		return stack, true
	case VerdictReturn:
		return stack[:len(stack)-1], false
	case VerdictJump, VerdictGoto:
		c, ok := t.chains[v.Chain]
		if !ok {
			t.res.Err = fmt.Errorf("trace: no chain %q", v.Chain)
			return nil, false
		}
		if v.Kind == VerdictGoto {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 64 {
			t.res.Err = fmt.Errorf("trace: jumps nested deeper than 64 at %s", v.Chain)
			return nil, false
		}
		return append(stack, frame{c: c}), false
	}
	return stack, false
}

func (t *tracer) lookupMap(v Verdict) (Verdict, bool) {
	m, ok := t.maps[v.Map]
	if !ok {
		t.res.Err = fmt.Errorf("trace: no map %q", v.Map)
		return Verdict{}, false
	}
	if m.Kind != MapIfname {
		return t.lookupInterval(m, v)
	}
	key := t.p.Iif
	if v.Key == FieldOifname {
		key = t.p.Oif
	}
	for _, e := range m.Elements {
		if e.Key == key {
			return e.Verdict, true
		}
	}
	return Verdict{}, false
}

// lookupInterval looks the packet up in an address or compiled map, and
// records the element it found as a hit.
func (t *tracer) lookupInterval(m *Map, v Verdict) (Verdict, bool) {
	var hit func(e *MapElement) bool
	switch m.Kind {
	case MapIPv4, MapIPv6, MapIPv4Host, MapIPv6Host:
		if fam, _ := m.Kind.Addresses(); fam != t.family() || v.Family != t.family() {
			return Verdict{}, false
		}
		a := t.addr(v.Key)
		hit = func(e *MapElement) bool { return e.Addrs.Lo.Compare(a) <= 0 && a.Compare(e.Addrs.Hi) <= 0 }
	default:
		id, value := t.p.Mark&MarkIDMask, t.p.Dport
		if v.Key == FieldIDICMP {
			value = uint16(t.p.ICMPType)<<8 | uint16(t.p.ICMPCode)
		}
		hit = func(e *MapElement) bool {
			b := e.Box
			ok := b.IDLo <= id && id <= b.IDHi && b.ProtoLo <= t.p.Proto && t.p.Proto <= b.ProtoHi
			return ok && (m.Kind == MapIDProto || (b.Lo <= value && value <= b.Hi))
		}
	}
	for i := range m.Elements {
		if e := &m.Elements[i]; hit(e) {
			t.res.Hits = append(t.res.Hits, Hit{Hook: t.hook, Chain: "@" + m.Name, Index: i, Rule: e.text(m.Kind)})
			return e.Verdict, true
		}
	}
	return Verdict{}, false
}

func (t *tracer) apply(stmts []Statement) {
	for _, s := range stmts {
		switch x := s.(type) {
		case StmtMark:
			t.p.Mark = t.p.Mark&^x.Clear | x.Set
		case StmtNotrack:
			t.p.CtState = CtUntracked
		case StmtLog:
			if x.Group == 0 { // a Log rule; flow log rules are not counted
				t.res.Logged++
			}
		}
	}
}
