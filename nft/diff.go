package nft

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/render"
)

// Incremental updates: Diff turns the change from the ruleset last applied
// to the next into one nft script, run as one transaction, that touches
// only what differs:
//
//  1. a table block declaring what is new: sets, maps, counters, the flow
//     log limit and chains (with their rules, so forward jumps resolve);
//  2. `delete element` for set and map elements that go (map elements
//     first lose their jumps to chains that are about to go);
//  3. `flush chain` for chains whose rules changed and chains that go;
//  4. `add rule` for the changed chains' rules, in order;
//  5. `add element` for new set and map elements;
//  6. `delete chain`, then `delete` of sets, maps, counters and the limit
//     that go (nothing refers to them any more).
//
// A change Diff does not handle in place (a base chain's hook or priority,
// a chain's, set's or map's comment or type, the limit's rate) asks for the
// full replace instead. Named counters that stay keep their counts.

// Diff returns the script from old to new, "" when nothing differs, or
// full when the change needs the whole table replaced.
func Diff(old, new *render.Ruleset) (script string, full bool) {
	script, full, _ = diffTexts(old, new, nil)
	return script, full
}

// diffTexts is Diff with the old ruleset's chain texts known (by name), so
// only the new ruleset's chains are printed; it returns the new ones'.
func diffTexts(old, new *render.Ruleset, oldTexts map[string]string) (script string, full bool, newTexts map[string]string) {
	if old == nil || new == nil {
		return "", true, nil
	}
	d := &differ{old: old, new: new, oldTexts: oldTexts, newTexts: make(map[string]string, len(new.Chains))}
	if d.run() {
		return "", true, nil
	}
	return d.script(), false, d.newTexts
}

type differ struct {
	old, new           *render.Ruleset
	oldTexts, newTexts map[string]string // chain name -> rules printed

	declare  []string // table block entries (new objects)
	delElems []string
	flush    []string
	addRules []string
	addElems []string
	delObjs  []string
}

const tableRef = render.TableFamily + " " + render.TableName

// run fills the phases; true means a full replace is needed.
func (d *differ) run() bool {
	return d.chains() || d.sets() || d.maps() || d.counters() || d.limit()
}

func (d *differ) script() string {
	var b strings.Builder
	if len(d.declare) > 0 {
		fmt.Fprintf(&b, "table %s {\n", tableRef)
		for _, x := range d.declare {
			b.WriteString(x)
		}
		b.WriteString("}\n")
	}
	for _, part := range [][]string{d.delElems, d.flush, d.addRules, d.addElems, d.delObjs} {
		for _, line := range part {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func (d *differ) chains() bool {
	oldC := map[string]*render.Chain{}
	for _, c := range d.old.Chains {
		oldC[c.Name] = c
	}
	newC := map[string]bool{}
	var gone []string
	for _, c := range d.new.Chains {
		newC[c.Name] = true
		o, ok := oldC[c.Name]
		if !ok {
			if c.Base != nil {
				return true // a new hook: replace
			}
			d.declare = append(d.declare, c.Block())
			continue
		}
		if !reflect.DeepEqual(o.Base, c.Base) || o.Comment != c.Comment {
			return true
		}
		oldText, ok := d.oldTexts[c.Name]
		if !ok {
			oldText = rulesText(o.Rules)
		}
		newText := rulesText(c.Rules)
		d.newTexts[c.Name] = newText
		if oldText == newText {
			continue
		}
		d.flush = append(d.flush, fmt.Sprintf("flush chain %s %s", tableRef, c.Name))
		for i := range c.Rules {
			d.addRules = append(d.addRules, fmt.Sprintf("add rule %s %s %s", tableRef, c.Name, c.Rules[i].String()))
		}
	}
	for _, c := range d.old.Chains {
		if !newC[c.Name] {
			if c.Base != nil {
				return true
			}
			gone = append(gone, c.Name)
		}
	}
	sort.Strings(gone)
	for _, n := range gone {
		d.flush = append(d.flush, fmt.Sprintf("flush chain %s %s", tableRef, n))
		d.delObjs = append(d.delObjs, fmt.Sprintf("delete chain %s %s", tableRef, n))
	}
	return false
}

// rulesText prints a chain's rules, one per line.
func rulesText(rules []render.Rule) string {
	var b strings.Builder
	for i := range rules {
		b.WriteString(rules[i].String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (d *differ) sets() bool {
	oldS := map[string]*render.Set{}
	for _, s := range d.old.Sets {
		oldS[s.Name] = s
	}
	newS := map[string]bool{}
	for _, s := range d.new.Sets {
		newS[s.Name] = true
		o, ok := oldS[s.Name]
		if !ok {
			d.declare = append(d.declare, s.Block())
			continue
		}
		if o.Type != s.Type || o.Interval != s.Interval || o.Comment != s.Comment {
			return true
		}
		gone, added := elementDiff(keysOf(o), keysOf(s))
		if len(gone) > 0 {
			d.delElems = append(d.delElems, fmt.Sprintf("delete element %s %s { %s }", tableRef, s.Name, strings.Join(gone, ", ")))
		}
		if len(added) > 0 {
			d.addElems = append(d.addElems, fmt.Sprintf("add element %s %s { %s }", tableRef, s.Name, strings.Join(added, ", ")))
		}
	}
	for _, s := range d.old.Sets {
		if !newS[s.Name] {
			d.delObjs = append(d.delObjs, fmt.Sprintf("delete set %s %s", tableRef, s.Name))
		}
	}
	return false
}

func keysOf(s *render.Set) []string {
	ks := s.ElementKeys()
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = strings.Join(k, " . ")
	}
	return out
}

// elementDiff returns what of old is not in new, and what of new is not in
// old, each in the order given.
func elementDiff(old, new []string) (gone, added []string) {
	inNew := make(map[string]bool, len(new))
	for _, k := range new {
		inNew[k] = true
	}
	inOld := make(map[string]bool, len(old))
	for _, k := range old {
		inOld[k] = true
		if !inNew[k] {
			gone = append(gone, k)
		}
	}
	for _, k := range new {
		if !inOld[k] {
			added = append(added, k)
		}
	}
	return gone, added
}

func (d *differ) maps() bool {
	oldM := map[string]*render.Map{}
	for _, m := range d.old.Maps {
		oldM[m.Name] = m
	}
	newM := map[string]bool{}
	for _, m := range d.new.Maps {
		newM[m.Name] = true
		o, ok := oldM[m.Name]
		if !ok {
			d.declare = append(d.declare, m.Block())
			continue
		}
		if o.Comment != m.Comment {
			return true
		}
		before := map[string]string{}
		for _, e := range o.Elements {
			before[e.Key] = e.String()
		}
		var gone, added []string
		after := map[string]bool{}
		for _, e := range m.Elements {
			after[e.Key] = true
			if was, ok := before[e.Key]; ok && was == e.String() {
				continue
			} else if ok {
				gone = append(gone, e.KeyString()) // the verdict changed
			}
			added = append(added, e.String())
		}
		for _, e := range o.Elements {
			if !after[e.Key] {
				gone = append(gone, e.KeyString())
			}
		}
		if len(gone) > 0 {
			d.delElems = append(d.delElems, fmt.Sprintf("delete element %s %s { %s }", tableRef, m.Name, strings.Join(gone, ", ")))
		}
		if len(added) > 0 {
			d.addElems = append(d.addElems, fmt.Sprintf("add element %s %s { %s }", tableRef, m.Name, strings.Join(added, ", ")))
		}
	}
	for _, m := range d.old.Maps {
		if !newM[m.Name] {
			d.delObjs = append(d.delObjs, fmt.Sprintf("delete map %s %s", tableRef, m.Name))
		}
	}
	return false
}

func (d *differ) counters() bool {
	have := map[string]bool{}
	for _, c := range d.old.Counters {
		have[c.Name] = true
	}
	want := map[string]bool{}
	for _, c := range d.new.Counters {
		want[c.Name] = true
		if !have[c.Name] {
			fresh := *c
			fresh.Packets, fresh.Bytes = 0, 0
			d.declare = append(d.declare, fresh.Block())
		}
	}
	for _, c := range d.old.Counters {
		if !want[c.Name] {
			d.delObjs = append(d.delObjs, fmt.Sprintf("delete counter %s %s", tableRef, c.Name))
		}
	}
	return false
}

func (d *differ) limit() bool {
	o, n := d.old.FlowLog, d.new.FlowLog
	switch {
	case o == nil && n == nil:
	case o == nil:
		d.declare = append(d.declare, n.Block())
	case n == nil:
		d.delObjs = append(d.delObjs, fmt.Sprintf("delete limit %s %s", tableRef, o.Name))
	case *o != *n:
		return true
	}
	return false
}
