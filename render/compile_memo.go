package render

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
)

// Remembering decisions. A section's decision (compileClass) depends on
// its rules and those of every chain it reaches, the local class, and its
// identity classes (their atoms and numbers); a class's walk depends on
// the section and the class's atoms only. Both are remembered by key for
// the rest of a compile (endpoints with the same policies share them) and,
// through a Compiler, for the next compile.

// Compiler compiles the successive rulesets of one node: a section whose
// rules, reached chains and identity classes are as in the last ruleset
// it compiled is not walked again. Its result is always Compile's. Not
// safe for concurrent use.
type Compiler struct {
	memo *memo
	// Walked and Reused count the sections decided afresh and taken from
	// the last compile (or an equal section in the same one).
	Walked, Reused int
}

// NewCompiler returns a compiler with nothing remembered.
func NewCompiler() *Compiler { return &Compiler{memo: &memo{}} }

// Compile is Compile, remembering each section's decision until the next.
func (cc *Compiler) Compile(r *Ruleset) *Ruleset {
	cc.memo.begin()
	out, _ := compileMemo(r, elementBudget, cc.memo)
	cc.Walked, cc.Reused = cc.memo.walked, cc.memo.reused
	return out
}

// memo keeps the decisions and class walks of one compile and the one
// before.
type memo struct {
	last, cur       map[string]decision
	lastOut, curOut map[string][]*sstate
	walked, reused  int
}

func (m *memo) begin() {
	m.last, m.cur, m.walked, m.reused = m.cur, map[string]decision{}, 0, 0
	m.lastOut, m.curOut = m.curOut, map[string][]*sstate{}
}

// walks returns a class walk's outcomes.
func (m *memo) walks(key string) ([]*sstate, bool) {
	if o, ok := m.curOut[key]; ok {
		return o, true
	}
	if o, ok := m.lastOut[key]; ok {
		m.curOut[key] = o
		return o, true
	}
	return nil, false
}

func (m *memo) putWalk(key string, outs []*sstate) { m.curOut[key] = outs }

func (m *memo) get(key string) (decision, bool) {
	if d, ok := m.cur[key]; ok {
		m.reused++
		return d, true
	}
	if d, ok := m.last[key]; ok {
		m.cur[key] = d
		m.reused++
		return d, true
	}
	return decision{}, false
}

func (m *memo) put(key string, d decision) {
	m.walked++
	m.cur[key] = d
}

// sectionText is the digest of what a section's walk depends on: the
// remote field, the local class's atoms (by key), the rules of the
// section and of every chain it reaches.
func (c *compiler) sectionText(ch *Chain, local map[int]bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", ch.Remote)
	if local != nil {
		var ks []string
		for a := range local {
			ks = append(ks, c.local.atoms[a].key)
		}
		slices.Sort(ks)
		fmt.Fprintf(h, "local %q\n", ks)
	}
	seen := map[string]bool{}
	var walk func(rules []Rule)
	walk = func(rules []Rule) {
		for i := range rules {
			h.Write([]byte(c.ruleText(&rules[i])))
			h.Write([]byte{'\n'})
			if v := rules[i].Verdict; (v.Kind == VerdictJump || v.Kind == VerdictGoto) && !seen[v.Chain] {
				seen[v.Chain] = true
				fmt.Fprintf(h, "chain %s\n", v.Chain)
				if sub := c.chains[v.Chain]; sub != nil {
					walk(sub.Rules)
				}
			}
		}
	}
	walk(ch.Rules[ch.Section:])
	return string(h.Sum(nil))
}

// sectionKey is everything a section's decision depends on: its text
// (sectionText) and, for each atom it uses, the atom's key and the
// numbers of the identities that hold it (from which its classes and
// their ranges follow).
func (c *compiler) sectionKey(text string, atoms []int) string {
	h := sha256.New()
	h.Write([]byte(text))
	for _, a := range atoms {
		h.Write([]byte(c.atomSig(a)))
	}
	return string(h.Sum(nil))
}

// atomSig is an atom's key and the digest of the numbers of the
// identities that hold it, once per atom and compile.
func (c *compiler) atomSig(a int) string {
	if s, ok := c.sigs[a]; ok {
		return s
	}
	k := c.ids.atoms[a].key
	buf := binary.AppendUvarint(nil, uint64(len(k)))
	buf = append(buf, k...)
	h := sha256.New()
	var n []byte
	for _, id := range c.ids.withAtom(a) {
		n = binary.AppendUvarint(n[:0], uint64(id.id))
		h.Write(n)
	}
	s := string(h.Sum(buf))
	c.sigs[a] = s
	return s
}

// classKey is a class's walk's key: the section's text, the family and
// the atoms, by key.
func (c *compiler) classKey(text string, cr *classResult) string {
	buf := append([]byte(text), byte(cr.family))
	for _, a := range cr.atoms {
		k := c.ids.atoms[a].key
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
	}
	return string(buf)
}

// ruleText is a rule's text, once per rule of the ruleset compiled.
func (c *compiler) ruleText(r *Rule) string {
	if t, ok := c.texts[r]; ok {
		return t
	}
	t := r.String()
	c.texts[r] = t
	return t
}
