package nft

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

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
	return d.prepareScript() + d.script() + d.cleanupScript(), false
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
	flush      []func() string // flush set|map|chain
	declareNew []func() string // table block entries of new objects (the prepare script)
	declare    []func() string // table block entries of refilled sets and maps
	addRules   []func() string
	delObjs    []func() string

	// nl is the same change as netlink messages, by phase (nlbatch.go);
	// pre holds the objects the change adds (sets, maps with their
	// elements, counters, the limit, chains with their rules), which the
	// Kernel writes in a transaction of their own before nl (prepare).
	nl, pre [nlPhases][]func(*nlBatch)
	// mapsGo: the change deletes a map (commit and cleanup).
	mapsGo bool
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

// onNew adds f, which declares an object new in the change, to the
// prepare transaction.
func (d *differ) onNew(phase int, f func(*nlBatch)) { d.pre[phase] = append(d.pre[phase], f) }

// prepare is the first of a change's transactions (commit and cleanup
// follow): the objects it adds, which nothing in the kernel refers to yet.
//
// Why first: the kernel makes a commit's rules live at once, but it
// publishes an interval set's elements (rbtree and pipapo alike) a moment
// later, one set after the other, and a packet looks set elements up as
// they are at that instant. A set that a rule starts to look up in the
// commit that fills it would be empty, or half filled, for that moment.
// render names every set and map (but the interface maps) by its content,
// so a changed set is a new set: written by prepare, it is complete
// before commit's rules refer to it, and a packet meets either the old
// rules with the old sets or the new rules with the new sets.
func (d *differ) prepare() *nlBatch {
	b := &nlBatch{}
	for _, phase := range d.pre {
		for _, f := range phase {
			f(b)
		}
	}
	return b
}

// commit is the change but for what goes when a map goes; cleanup then
// deletes what goes (maps, sets, counters, the limit, chains), in a
// transaction of its own once no packet can still be walking the rules
// that named them: deleting a map deactivates its elements for the
// generation the commit starts, and a packet that entered the old rules
// just before looks them up with the new generation's eyes and misses
// them (a remote address's identity map missing is an open door:
// TestIdentityChangeNeverOpens). Deleting a plain set, a chain or a
// counter leaves what packets already walking see as it was, so when no
// map goes, the commit deletes what goes and there is no cleanup.
func (d *differ) commit() *nlBatch {
	if !d.mapsGo {
		return d.phases(nlFlush, nlPhases)
	}
	return d.phases(nlFlush, nlDelMaps)
}

func (d *differ) cleanup() *nlBatch {
	if !d.mapsGo {
		return &nlBatch{}
	}
	return d.phases(nlDelMaps, nlPhases)
}

// phases is the change's messages of phases from to (excluded).
func (d *differ) phases(from, to int) *nlBatch {
	b := &nlBatch{}
	for _, phase := range d.nl[from:to] {
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

// prepareScript is prepare's part of the change as a script: a table
// block declaring the new objects ("" when there are none).
func (d *differ) prepareScript() string {
	var b strings.Builder
	tableBlock(&b, d.declareNew)
	return b.String()
}

func tableBlock(b *strings.Builder, entries []func() string) {
	if len(entries) == 0 {
		return
	}
	fmt.Fprintf(b, "table %s {\n", tableRef)
	for _, x := range entries {
		b.WriteString(x())
	}
	b.WriteString("}\n")
}

// script is the rest of the change as a script.
func (d *differ) script() string {
	var b strings.Builder
	for _, line := range d.flush {
		b.WriteString(line())
		b.WriteByte('\n')
	}
	tableBlock(&b, d.declare)
	for _, line := range d.addRules {
		b.WriteString(line())
		b.WriteByte('\n')
	}
	if !d.mapsGo {
		b.WriteString(d.deletions())
	}
	return b.String()
}

// cleanupScript is cleanup's part of the change as a script.
func (d *differ) cleanupScript() string {
	if !d.mapsGo {
		return ""
	}
	return d.deletions()
}

func (d *differ) deletions() string {
	var b strings.Builder
	for _, line := range d.delObjs {
		b.WriteString(line())
		b.WriteByte('\n')
	}
	return b.String()
}

// match pairs old and new objects by name: both(o, n) for a name in
// both lists and added(n) for a name only in new, in new's order; it
// returns the old objects whose name new lacks, in old's order, and stops
// when a callback says so. It walks the two lists in step when each is
// sorted by name (render sorts its objects), and indexes old by name
// otherwise: at 2,000 sets the maps were a third of a diff's time.
func match[T any](old, new []T, name func(T) string, both func(o, n T) bool, added func(n T) bool) (gone []T, stop bool) {
	sorted := func(xs []T) bool {
		return slices.IsSortedFunc(xs, func(a, b T) int { return strings.Compare(name(a), name(b)) })
	}
	if sorted(old) && sorted(new) {
		i := 0
		for _, n := range new {
			for i < len(old) && name(old[i]) < name(n) {
				gone = append(gone, old[i])
				i++
			}
			var stop bool
			if i < len(old) && name(old[i]) == name(n) {
				stop = both(old[i], n)
				i++
			} else {
				stop = added(n)
			}
			if stop {
				return nil, true
			}
		}
		return append(gone, old[i:]...), false
	}
	byName := make(map[string]T, len(old))
	for _, o := range old {
		byName[name(o)] = o
	}
	inNew := make(map[string]bool, len(new))
	for _, n := range new {
		inNew[name(n)] = true
		var stop bool
		if o, ok := byName[name(n)]; ok {
			stop = both(o, n)
		} else {
			stop = added(n)
		}
		if stop {
			return nil, true
		}
	}
	for _, o := range old {
		if !inNew[name(o)] {
			gone = append(gone, o)
		}
	}
	return gone, false
}

func chainName(c *render.Chain) string { return c.Name }

// splitBase separates base chains (in hook order) from regular chains
// (sorted by name).
func splitBase(cs []*render.Chain) (base, regular []*render.Chain) {
	for _, c := range cs {
		if c.Base != nil {
			base = append(base, c)
		} else {
			regular = append(regular, c)
		}
	}
	return base, regular
}

func (d *differ) chains() bool {
	oldBase, oldRegular := splitBase(d.old.Chains)
	newBase, newRegular := splitBase(d.new.Chains)
	// A base chain that comes, goes or changes its hook or comment needs
	// the whole replace.
	goneBase, stop := match(oldBase, newBase, chainName, func(o, c *render.Chain) bool {
		if !reflect.DeepEqual(o.Base, c.Base) || o.Comment != c.Comment {
			return true
		}
		d.chainRules(o, c)
		return false
	}, func(*render.Chain) bool { return true })
	if stop || len(goneBase) > 0 {
		return true
	}
	gone, stop := match(oldRegular, newRegular, chainName, func(o, c *render.Chain) bool {
		if o.Comment != c.Comment {
			return true
		}
		d.chainRules(o, c)
		return false
	}, func(c *render.Chain) bool {
		d.declareNew = append(d.declareNew, func() string { return c.Block() })
		d.onNew(nlChains, func(b *nlBatch) { b.addChain(c) })
		d.onNew(nlRules, func(b *nlBatch) { b.addChainRules(c) })
		return false
	})
	if stop {
		return true
	}
	for _, c := range gone {
		n := c.Name
		d.flush = append(d.flush, func() string { return fmt.Sprintf("flush chain %s %s", tableRef, n) })
		d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete chain %s %s", tableRef, n) })
		d.on(nlFlush, func(b *nlBatch) { b.flushChain(n) })
		d.on(nlDelChains, func(b *nlBatch) { b.delChain(n) })
	}
	return false
}

// chainRules refills a kept chain whose rules changed.
func (d *differ) chainRules(o, c *render.Chain) {
	if render.RulesEqual(o.Rules, c.Rules) {
		return
	}
	d.flush = append(d.flush, func() string { return fmt.Sprintf("flush chain %s %s", tableRef, c.Name) })
	d.on(nlFlush, func(b *nlBatch) { b.flushChain(c.Name) })
	d.on(nlRules, func(b *nlBatch) { b.addChainRules(c) })
	if len(c.Rules) == 0 {
		return
	}
	d.addRules = append(d.addRules, func() string {
		lines := make([]string, len(c.Rules))
		for i := range c.Rules {
			lines[i] = fmt.Sprintf("add rule %s %s %s", tableRef, c.Name, c.Rules[i].String())
		}
		return strings.Join(lines, "\n")
	})
}

func (d *differ) sets() bool {
	gone, stop := match(d.old.Sets, d.new.Sets, func(s *render.Set) string { return s.Name }, func(o, s *render.Set) bool {
		if o.Type != s.Type || o.Interval != s.Interval || o.Comment != s.Comment {
			return true
		}
		if !o.Addrs.Equal(s.Addrs) || !slices.Equal(o.Tuples, s.Tuples) || !slices.Equal(o.Ports, s.Ports) || !slices.Equal(o.Protos, s.Protos) {
			d.flush = append(d.flush, func() string { return fmt.Sprintf("flush set %s %s", tableRef, s.Name) })
			d.declare = append(d.declare, func() string { return s.Block() })
			d.on(nlObjects, func(b *nlBatch) { b.changeSetElements(o, s) })
		}
		return false
	}, func(s *render.Set) bool {
		d.declareNew = append(d.declareNew, func() string { return s.Block() })
		d.onNew(nlObjects, func(b *nlBatch) { b.addSet(s) })
		return false
	})
	for _, s := range gone {
		d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete set %s %s", tableRef, s.Name) })
		d.on(nlDelObjects, func(b *nlBatch) { b.delSet(s.Name) })
	}
	return stop
}

func (d *differ) maps() bool {
	gone, stop := match(d.old.Maps, d.new.Maps, func(m *render.Map) string { return m.Name }, func(o, m *render.Map) bool {
		if o.Comment != m.Comment || o.Kind != m.Kind {
			return true
		}
		if !slices.Equal(o.Elements, m.Elements) {
			d.flush = append(d.flush, func() string { return fmt.Sprintf("flush map %s %s", tableRef, m.Name) })
			d.declare = append(d.declare, func() string { return m.Block() })
			d.mapDelta(o, m)
		}
		return false
	}, func(m *render.Map) bool {
		d.declareNew = append(d.declareNew, func() string { return m.Block() })
		d.onNew(nlMaps, func(b *nlBatch) { b.addMap(m) })
		return false
	})
	d.mapsGo = len(gone) > 0
	for _, m := range gone {
		d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete map %s %s", tableRef, m.Name) })
		d.on(nlDelMaps, func(b *nlBatch) { b.delSet(m.Name) })
	}
	return stop
}

// mapDelta sends a map's change as the elements that went, deleted
// before the chains they name may go, and the ones that came (or changed
// their verdict or comment), added after the chains they name came.
// An address range is deleted or added whole, its start and its end
// element together: the kernel checks each element against the ranges
// it holds, so a range must not be half there when the next one comes.
func (d *differ) mapDelta(o, m *render.Map) {
	gone, came := diffSlices(o.Elements, m.Elements)
	d.on(nlFlush, func(b *nlBatch) {
		es, err := mapElements(&render.Map{Kind: m.Kind, Elements: gone})
		if err != nil {
			b.fail(fmt.Errorf("map %s: %w", m.Name, err))
			return
		}
		b.elements(unix.NFT_MSG_DELSETELEM, m.Name, 0, encodeElems(es, false))
	})
	d.on(nlMaps, func(b *nlBatch) {
		es, err := mapElements(&render.Map{Kind: m.Kind, Elements: came})
		if err != nil {
			b.fail(fmt.Errorf("map %s: %w", m.Name, err))
			return
		}
		b.elements(unix.NFT_MSG_NEWSETELEM, m.Name, 0, encodeElems(es, true))
	})
}

func (d *differ) counters() bool {
	gone, _ := match(d.old.Counters, d.new.Counters, func(c *render.Counter) string { return c.Name },
		func(_, _ *render.Counter) bool { return false },
		func(c *render.Counter) bool {
			fresh := *c
			fresh.Packets, fresh.Bytes = 0, 0
			d.declareNew = append(d.declareNew, func() string { return fresh.Block() })
			d.onNew(nlObjects, func(b *nlBatch) { b.addCounter(&fresh) })
			return false
		})
	for _, c := range gone {
		d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete counter %s %s", tableRef, c.Name) })
		d.on(nlDelObjects, func(b *nlBatch) { b.delObj(objCounter, c.Name) })
	}
	return false
}

func (d *differ) limit() bool {
	o, n := d.old.FlowLog, d.new.FlowLog
	switch {
	case o == nil && n == nil:
	case o == nil:
		d.declareNew = append(d.declareNew, func() string { return n.Block() })
		d.onNew(nlObjects, func(b *nlBatch) { b.addLimit(n) })
	case n == nil:
		d.delObjs = append(d.delObjs, func() string { return fmt.Sprintf("delete limit %s %s", tableRef, o.Name) })
		d.on(nlDelObjects, func(b *nlBatch) { b.delObj(objLimit, o.Name) })
	case *o != *n:
		return true
	}
	return false
}
