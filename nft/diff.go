package nft

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/render"
)

// Incremental updates: the differ turns the change from the ruleset last
// applied to the next into one transaction that touches only what
// differs. The Kernel sends it as netlink messages in phases (nlFlush ...
// nlDelChains below: elements deleted and added, changed chains flushed
// and refilled, new objects declared before what refers to them, what
// goes deleted last). Diff prints the same change as an nft script, which
// is what Config.NoNetlink runs:
//
//  1. `flush set` / `flush map` for sets and maps whose elements changed,
//     and `flush chain` for chains whose rules changed and chains that go
//     (map elements and rules lose their references to what goes);
//  2. a table block declaring what is new (sets, maps, counters, the flow
//     log limit, chains with their rules, so forward jumps resolve) and
//     declaring again, with all their elements, the sets and maps flushed;
//  3. `add rule` for the changed chains' rules, in order;
//  4. `delete chain`, then `delete` of sets, maps, counters and the limit
//     that go (nothing refers to them any more).
//
// The script writes elements by flushing and declaring the set again, not
// with `add element` / `delete element`: nft 1.0.6 reads the whole ruleset
// before an element command (about 0.5 s at 2,000 sets). A change the
// differ does not make in place (a base chain's hook or priority, a
// chain's, set's or map's comment or type, the limit's rate) asks for the
// full replace instead. Named counters that stay keep their counts.
// Chains and sets are compared as data (render.RulesEqual, element
// slices); nothing is printed unless the script is asked for.

// Diff returns the script from old to new, "" when nothing differs, or
// full when the change needs the whole table replaced.
func Diff(old, new *render.Ruleset) (script string, full bool) {
	d, full := diffOf(old, new)
	if full {
		return "", true
	}
	return d.script(), false
}

// diffOf runs the differ; full means a whole replace is needed.
func diffOf(old, new *render.Ruleset) (*differ, bool) {
	if old == nil || new == nil {
		return nil, true
	}
	d := &differ{old: old, new: new}
	if d.run() {
		return nil, true
	}
	return d, false
}

type differ struct {
	old, new *render.Ruleset

	// The change as nft script lines, printed only when the script is
	// wanted (the netlink path never prints them).
	flush    []func() string // flush set|map|chain
	declare  []func() string // table block entries (new objects, refilled sets and maps)
	addRules []func() string
	delObjs  []func() string

	// nl is the same change as netlink messages, by phase (nlbatch.go).
	nl [nlPhases][]func(*nlBatch)
}

// The phases of a netlink change, in the order they are sent: rules and
// elements that refer to what goes are removed first; objects are
// declared before the chains, maps and rules that refer to them; what
// goes is deleted last (maps before the chains their elements name).
const (
	nlFlush = iota
	nlObjects
	nlChains
	nlMaps
	nlRules
	nlDelMaps
	nlDelObjects
	nlDelChains
	nlPhases
)

func (d *differ) on(phase int, f func(*nlBatch)) { d.nl[phase] = append(d.nl[phase], f) }

// batch is the change as one netlink transaction.
func (d *differ) batch() *nlBatch {
	b := &nlBatch{}
	for _, phase := range d.nl {
		for _, f := range phase {
			f(b)
		}
	}
	return b
}

const tableRef = render.TableFamily + " " + render.TableName

// run fills the phases; true means a full replace is needed.
func (d *differ) run() bool {
	// Objects before chains: a new chain's rules may name a new set.
	return d.sets() || d.maps() || d.counters() || d.limit() || d.chains()
}

func (d *differ) script() string {
	var b strings.Builder
	for _, line := range d.flush {
		b.WriteString(line())
		b.WriteByte('\n')
	}
	if len(d.declare) > 0 {
		fmt.Fprintf(&b, "table %s {\n", tableRef)
		for _, x := range d.declare {
			b.WriteString(x())
		}
		b.WriteString("}\n")
	}
	for _, part := range [][]func() string{d.addRules, d.delObjs} {
		for _, line := range part {
			b.WriteString(line())
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
			d.declare = append(d.declare, func() string { return c.Block() })
			d.on(nlChains, func(b *nlBatch) { b.addChain(c) })
			d.on(nlRules, func(b *nlBatch) { b.addChainRules(c) })
			continue
		}
		if !reflect.DeepEqual(o.Base, c.Base) || o.Comment != c.Comment {
			return true
		}
		if render.RulesEqual(o.Rules, c.Rules) {
			continue
		}
		d.flush = append(d.flush, func() string { return fmt.Sprintf("flush chain %s %s", tableRef, c.Name) })
		d.on(nlFlush, func(b *nlBatch) { b.flushChain(c.Name) })
		d.on(nlRules, func(b *nlBatch) { b.addChainRules(c) })
		for i := range c.Rules {
			d.addRules = append(d.addRules, func() string { return fmt.Sprintf("add rule %s %s %s", tableRef, c.Name, c.Rules[i].String()) })
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
		d.flush = append(d.flush, func() string { return fmt.Sprintf("flush chain %s %s", tableRef, n) })
		d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete chain %s %s", tableRef, n) })
		d.on(nlFlush, func(b *nlBatch) { b.flushChain(n) })
		d.on(nlDelChains, func(b *nlBatch) { b.delChain(n) })
	}
	return false
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
			d.declare = append(d.declare, func() string { return s.Block() })
			d.on(nlObjects, func(b *nlBatch) { b.addSet(s) })
			continue
		}
		if o.Type != s.Type || o.Interval != s.Interval || o.Comment != s.Comment {
			return true
		}
		if !slices.Equal(o.Prefixes, s.Prefixes) || !slices.Equal(o.Tuples, s.Tuples) {
			d.flush = append(d.flush, func() string { return fmt.Sprintf("flush set %s %s", tableRef, s.Name) })
			d.declare = append(d.declare, func() string { return s.Block() })
			d.on(nlObjects, func(b *nlBatch) { b.changeSetElements(o, s) })
		}
	}
	for _, s := range d.old.Sets {
		if !newS[s.Name] {
			d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete set %s %s", tableRef, s.Name) })
			d.on(nlDelObjects, func(b *nlBatch) { b.delSet(s.Name) })
		}
	}
	return false
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
			d.declare = append(d.declare, func() string { return m.Block() })
			d.on(nlMaps, func(b *nlBatch) { b.addMap(m) })
			continue
		}
		if o.Comment != m.Comment {
			return true
		}
		if !slices.Equal(o.Elements, m.Elements) {
			d.flush = append(d.flush, func() string { return fmt.Sprintf("flush map %s %s", tableRef, m.Name) })
			d.declare = append(d.declare, func() string { return m.Block() })
			d.on(nlFlush, func(b *nlBatch) { b.flushSet(m.Name) })
			d.on(nlMaps, func(b *nlBatch) { b.addMapElements(m) })
		}
	}
	for _, m := range d.old.Maps {
		if !newM[m.Name] {
			d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete map %s %s", tableRef, m.Name) })
			d.on(nlDelMaps, func(b *nlBatch) { b.delSet(m.Name) })
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
			d.declare = append(d.declare, func() string { return fresh.Block() })
			d.on(nlObjects, func(b *nlBatch) { b.addCounter(&fresh) })
		}
	}
	for _, c := range d.old.Counters {
		if !want[c.Name] {
			d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete counter %s %s", tableRef, c.Name) })
			d.on(nlDelObjects, func(b *nlBatch) { b.delObj(objCounter, c.Name) })
		}
	}
	return false
}

func (d *differ) limit() bool {
	o, n := d.old.FlowLog, d.new.FlowLog
	switch {
	case o == nil && n == nil:
	case o == nil:
		d.declare = append(d.declare, func() string { return n.Block() })
		d.on(nlObjects, func(b *nlBatch) { b.addLimit(n) })
	case n == nil:
		d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete limit %s %s", tableRef, o.Name) })
		d.on(nlDelObjects, func(b *nlBatch) { b.delObj(objLimit, o.Name) })
	case *o != *n:
		return true
	}
	return false
}
