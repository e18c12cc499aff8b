package nft

import (
	"context"
	"fmt"

	"github.com/google/nftables"
	"github.com/palisade-net/palisade/render"
	"github.com/vishvananda/netns"
)

// Watcher is implemented by appliers that can report changes to palisade's
// table made by anyone (the agent uses it to notice drift at once).
type Watcher interface {
	// Changes signals (without blocking: one pending signal at most) after
	// every committed netfilter transaction of another process than the
	// applier's own that touched palisade's table (Change.Definite), or set
	// elements of a table the event does not name (not definite: the
	// caller compares). The channel is closed when ctx ends or the monitor
	// fails; the caller then falls back to polling.
	Changes(ctx context.Context) (<-chan Change, error)
}

// Change is one signal of Watcher.Changes.
type Change struct {
	// Definite: palisade's table itself, a chain, rule or set of it was
	// changed by someone else. Otherwise only set elements of some table.
	Definite bool
}

var _ Watcher = (*Kernel)(nil)

// Changes implements Watcher with a netlink monitor of the nftables
// subsystem in the applier's network namespace.
func (k *Kernel) Changes(ctx context.Context) (<-chan Change, error) {
	var opts []nftables.ConnOption
	if k.cfg.NetNS != "" {
		h, err := netns.GetFromPath(k.cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("nft: network namespace %s: %w", k.cfg.NetNS, err)
		}
		defer h.Close() // the netlink socket keeps its namespace
		opts = append(opts, nftables.WithNetNSFd(int(h)))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nft: netlink: %w", err)
	}
	mon := nftables.NewMonitor()
	events, err := conn.AddGenerationalMonitor(mon)
	if err != nil {
		return nil, fmt.Errorf("nft: monitor: %w", err)
	}
	out := make(chan Change, 1)
	go func() {
		defer close(out)
		defer mon.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case batch, ok := <-events:
				if !ok {
					return
				}
				touched, definite := touchesPalisade(batch)
				if !touched || k.ownBatch(batch) {
					continue
				}
				select {
				case out <- Change{Definite: definite}:
				default:
					if definite { // replace a pending indefinite signal
						select {
						case <-out:
						default:
						}
						select {
						case out <- Change{Definite: true}:
						default:
						}
					}
				}
			}
		}
	}()
	return out, nil
}

// touchesPalisade reports whether a committed batch may have changed
// palisade's table, and whether it surely did (a table, chain, rule or set
// event naming it). Set element events do not name their table: they may.
func touchesPalisade(b *nftables.MonitorEvents) (touched, definite bool) {
	ours := func(t *nftables.Table) bool {
		return t == nil || t.Name == render.TableName && t.Family == nftables.TableFamilyINet
	}
	for _, ev := range b.Changes {
		switch d := ev.Data.(type) {
		case *nftables.Table:
			definite = definite || ours(d)
		case *nftables.Chain:
			definite = definite || ours(d.Table)
		case *nftables.Rule:
			definite = definite || ours(d.Table)
		case *nftables.Set:
			definite = definite || ours(d.Table)
		case []nftables.SetElement:
			touched = true
		}
	}
	return touched || definite, definite
}

// ownBatch reports whether this applier's own nft run committed a batch.
func (k *Kernel) ownBatch(b *nftables.MonitorEvents) bool {
	if b.GeneratedBy == nil {
		return false
	}
	gen, ok := b.GeneratedBy.Data.(*nftables.GenMsg)
	return ok && k.isOwn(int(gen.ProcPID))
}
