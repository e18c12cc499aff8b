package nft

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/palisade-net/palisade/render"
)

// Apply over netlink (the default): the difference from the ruleset
// applied last as one transaction when there is one (diff.go's phases),
// else a whole replace that keeps the table and its base chains
// (replace.go explains why), else the table deleted and created again,
// each one transaction; where there is no table yet, it is created in
// parts with the hooks last (createStaged).

func (k *Kernel) applyNetlink(ctx context.Context, rs *render.Ruleset) error {
	if k.last != nil {
		if d, full := diffOf(k.last, rs); !full {
			pre, b, post := d.prepare(), d.commit(), d.cleanup()
			if len(pre.msgs)+len(b.msgs)+len(post.msgs) == 0 && pre.err == nil && b.err == nil && post.err == nil {
				k.last = rs
				k.stats.unchanged++
				return nil
			}
			err := k.commitParts(pre, b, post)
			if err == nil {
				k.last = rs
				k.stats.incremental++
				k.stats.netlink++
				return nil
			}
			k.stats.fallbacks++
			k.lastDiffErr = fmt.Errorf("incremental update failed, replacing the table: %w", err)
		}
	}
	return k.replaceNetlink(ctx, rs)
}

// commitParts commits a change's three transactions (differ.prepare,
// commit and cleanup say why three); the cleanup goes in the background
// after a grace period (cleanupLater), the change being in force once the
// second is committed. When the second fails after the first, the table
// holds part of the change: k.last is cleared so the replace that follows
// reads the table.
func (k *Kernel) commitParts(pre, b, post *nlBatch) error {
	if err := k.commit(pre); err != nil {
		return err
	}
	if err := k.commit(b); err != nil {
		if len(pre.msgs) > 0 {
			k.last = nil
		}
		return err
	}
	if len(post.msgs) > 0 {
		k.cleanupLater(post)
	}
	return nil
}

// replaceNetlink writes rs whole.
func (k *Kernel) replaceNetlink(ctx context.Context, rs *render.Ruleset) error {
	var have *tableObjects
	if k.last != nil {
		o := objectsOf(k.last)
		have = &o
	}
	if k.last == nil || len(rs.Counters) > 0 {
		what := readObjects
		if k.last == nil {
			what = readStructure
		}
		t, err := k.readTable(ctx, what)
		switch {
		case errors.Is(err, ErrNoTable):
			return k.createStaged(rs)
		case err != nil:
			// Unreadable: delete and create, which needs no listing.
		default:
			if k.last == nil {
				o := t.objects()
				have = &o
			}
			// Carry the counts of counters that stay over the replacement.
			rs = withCounts(rs, t.counters())
		}
	}
	if have != nil {
		if have.baseCommentChanges(objectsOf(rs)) {
			// inPlaceBatch refuses: nothing to prepare.
		} else if pre, after := prepareReplace(*have, rs); len(pre.msgs) > 0 && k.commit(pre) == nil {
			have = &after
		}
		if b := inPlaceBatch(*have, rs); b != nil {
			if err := k.commit(b); err == nil {
				k.last = rs
				k.stats.inPlace++
				k.stats.netlink++
				return nil
			}
			k.stats.inPlaceRefused++
		}
	}
	b := &nlBatch{}
	b.addTable()
	b.delTable()
	b.addTable()
	b.addRuleset(rs)
	if err := k.commit(b); err != nil {
		return &ApplyError{Op: "apply", Stderr: err.Error(), Err: err}
	}
	k.last = rs
	k.stats.netlink++
	return nil
}

// inPlaceBatch replaces a table holding have with rs, keeping the table
// and its base chains; nil when a kept base chain's comment would change
// (the kernel would keep the old one).
func inPlaceBatch(have tableObjects, rs *render.Ruleset) *nlBatch {
	want := objectsOf(rs)
	if have.baseCommentChanges(want) {
		return nil
	}
	kept := have.kept(want)
	b := &nlBatch{}
	b.flushTable()
	// Nothing refers to them once the rules are gone: maps (whose
	// elements name chains) first, then the chains they named. Sets, maps
	// and chains that stay are kept, flushed: a packet that meets the new
	// rules before the kernel has published a set's new elements (it does
	// so after the rules) still finds the old ones, the same (names carry
	// the content), where a set declared again would be empty for that
	// moment.
	for _, name := range have.maps {
		if kept["map "+name] {
			b.flushSet(name)
			continue
		}
		b.delSet(name)
	}
	for _, name := range have.sets {
		if kept["set "+name] {
			b.flushSet(name)
			continue
		}
		b.delSet(name)
	}
	for _, name := range have.counters {
		b.delObj(objCounter, name)
	}
	for _, name := range have.limits {
		b.delObj(objLimit, name)
	}
	for _, name := range have.chains {
		if !kept["chain "+name] {
			b.delChain(name)
		}
	}
	for _, name := range have.goneBase(want) {
		b.delChain(name)
	}
	b.addRulesetKeeping(rs, kept)
	return b
}

// prepareReplace is the transaction that goes ahead of an in-place
// replace of a table holding have with rs (differ.prepare says why): the
// sets, counters, limit, regular chains (with their rules) and maps (with
// their elements) of rs whose names have lacks, so the replace finds them
// there and keeps them. after is have with them.
func prepareReplace(have tableObjects, rs *render.Ruleset) (b *nlBatch, after tableObjects) {
	b = &nlBatch{}
	after = have
	after.comments = maps.Clone(have.comments)
	if after.comments == nil {
		after.comments = map[string]string{}
	}
	after.chains = slices.Clone(have.chains)
	after.sets = slices.Clone(have.sets)
	after.maps = slices.Clone(have.maps)
	after.counters = slices.Clone(have.counters)
	after.limits = slices.Clone(have.limits)
	in := map[string]bool{}
	for _, names := range [][]string{have.chains, have.sets, have.maps, have.counters, have.limits} {
		for _, n := range names {
			in[n] = true
		}
	}
	for name := range have.base {
		in[name] = true
	}
	for _, s := range rs.Sets {
		if !in[s.Name] {
			b.addSet(s)
			after.sets = append(after.sets, s.Name)
			after.comments["set "+s.Name] = render.CommentText(s.Comment)
		}
	}
	for _, c := range rs.Counters {
		if !in[c.Name] {
			b.addCounter(c)
			after.counters = append(after.counters, c.Name)
		}
	}
	if rs.FlowLog != nil && !in[render.FlowLogLimitName] {
		b.addLimit(rs.FlowLog)
		after.limits = append(after.limits, render.FlowLogLimitName)
	}
	var chains []*render.Chain
	for _, c := range rs.Chains {
		if c.Base == nil && !in[c.Name] {
			b.addChain(c)
			chains = append(chains, c)
			after.chains = append(after.chains, c.Name)
			after.comments["chain "+c.Name] = render.CommentText(c.Comment)
		}
	}
	for _, m := range rs.Maps {
		if !in[m.Name] {
			b.addMap(m)
			after.maps = append(after.maps, m.Name)
			after.comments["map "+m.Name] = render.CommentText(m.Comment)
		}
	}
	for _, c := range chains {
		b.addChainRules(c)
	}
	return b, after
}

// WriteNetlink replaces palisade's table with rs in one netlink
// transaction (the table deleted and declared again), without nft and
// without the differ: what the encoder tests compare with nft's load.
func (k *Kernel) WriteNetlink(rs *render.Ruleset) error {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.settle()
	k.last = nil
	if err := checkTable(rs); err != nil {
		return err
	}
	b := &nlBatch{}
	b.addTable()
	b.delTable()
	b.addTable()
	b.addRuleset(rs)
	return k.commit(b)
}

// stageMessages bounds the messages of each transaction of createStaged.
var stageMessages = 2000

// createStaged writes rs where there is no table yet, in several
// transactions: objects, maps and unhooked chains first, their rules in
// parts, and last, in one transaction, the base chains, whose hooks put
// the table in force. Until that last commit no packet traverses the
// table, so packets still meet either no table or all of it. One
// transaction would cost more with size than the sum of the parts: the
// kernel walks the list of a transaction's pending changes for every
// anonymous set a rule binds (W1's first write, 22,000 rules: 3.6 s as
// one transaction, 1.9 s in parts). If a part is refused, the table is
// deleted again.
func (k *Kernel) createStaged(rs *render.Ruleset) error {
	parts := stagedParts(rs)
	for i, part := range parts {
		if err := k.commit(part); err != nil {
			if i > 0 {
				undo := &nlBatch{}
				undo.addTable()
				undo.delTable()
				_ = k.commit(undo)
			}
			return &ApplyError{Op: "apply", Stderr: err.Error(), Err: err}
		}
	}
	k.last = rs
	k.stats.netlink++
	k.stats.staged++
	return nil
}

// stagedParts are createStaged's transactions: the table, objects, maps
// and regular chains; the regular chains' rules in parts of about
// stageMessages messages; last, the base chains with their rules.
func stagedParts(rs *render.Ruleset) []*nlBatch {
	var parts []*nlBatch
	b := &nlBatch{}
	next := func() {
		if len(b.msgs) > 0 || b.err != nil {
			parts = append(parts, b)
			b = &nlBatch{}
		}
	}
	b.addTable()
	for _, s := range rs.Sets {
		b.addSet(s)
	}
	for _, c := range rs.Counters {
		b.addCounter(c)
	}
	if rs.FlowLog != nil {
		b.addLimit(rs.FlowLog)
	}
	for _, c := range rs.Chains {
		if c.Base == nil {
			b.addChain(c)
		}
	}
	for _, m := range rs.Maps {
		b.addMap(m)
	}
	for _, c := range rs.Chains {
		if c.Base != nil {
			continue
		}
		if len(b.msgs) >= stageMessages {
			next()
		}
		b.addChainRules(c)
	}
	next()
	for _, c := range rs.Chains {
		if c.Base != nil {
			b.addChain(c)
			b.addChainRules(c)
		}
	}
	next()
	return parts
}
