package nft

import (
	"context"
	"errors"
	"fmt"

	"github.com/palisade-net/palisade/render"
)

// Apply over netlink (the default): the difference from the ruleset
// applied last as one transaction when there is one (diff.go's phases),
// else a whole replace that keeps the table and its base chains
// (replace.go explains why), else the table deleted and created again,
// each one transaction.

func (k *Kernel) applyNetlink(ctx context.Context, rs *render.Ruleset) error {
	if k.last != nil {
		if d, full := diffOf(k.last, rs); !full {
			b := d.batch()
			if len(b.msgs) == 0 && b.err == nil {
				k.last = rs
				k.stats.unchanged++
				return nil
			}
			err := k.commit(b)
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
			have = nil
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
	for name, c := range want.base {
		if old, ok := have.base[name]; ok && old != c {
			return nil
		}
	}
	b := &nlBatch{}
	b.flushTable()
	// Nothing refers to them once the rules are gone: maps (whose
	// elements name chains) first, then the chains they named.
	for _, name := range have.maps {
		b.delSet(name)
	}
	for _, name := range have.sets {
		b.delSet(name)
	}
	for _, name := range have.counters {
		b.delObj(objCounter, name)
	}
	for _, name := range have.limits {
		b.delObj(objLimit, name)
	}
	for _, name := range have.chains {
		b.delChain(name)
	}
	for name := range have.base {
		if _, ok := want.base[name]; !ok {
			b.delChain(name)
		}
	}
	b.addRuleset(rs)
	return b
}

// WriteNetlink replaces palisade's table with rs in one netlink
// transaction (the table deleted and declared again), without nft and
// without the differ: what the encoder tests compare with nft's load.
func (k *Kernel) WriteNetlink(rs *render.Ruleset) error {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
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
