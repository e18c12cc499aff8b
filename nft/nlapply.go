package nft

import "github.com/palisade-net/palisade/render"

// WriteNetlink replaces palisade's table with rs in one netlink
// transaction (the table deleted and declared again), without nft.
func (k *Kernel) WriteNetlink(rs *render.Ruleset) error {
	b := &nlBatch{}
	b.addTable()
	b.delTable()
	b.addTable()
	b.addRuleset(rs, nil)
	return k.commit(b)
}
