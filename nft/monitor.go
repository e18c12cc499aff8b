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
	// every committed netfilter transaction that touched palisade's table,
	// or set elements of a table the event does not name. The channel is
	// closed when ctx ends or the monitor fails; the caller then falls back
	// to polling.
	Changes(ctx context.Context) (<-chan struct{}, error)
}

var _ Watcher = (*Kernel)(nil)

// Changes implements Watcher with a netlink monitor of the nftables
// subsystem in the applier's network namespace.
func (k *Kernel) Changes(ctx context.Context) (<-chan struct{}, error) {
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
	out := make(chan struct{}, 1)
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
				if touchesPalisade(batch) {
					select {
					case out <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return out, nil
}

// touchesPalisade reports whether a committed batch changed palisade's
// table. Set element events do not name their table, so they count.
func touchesPalisade(b *nftables.MonitorEvents) bool {
	ours := func(t *nftables.Table) bool {
		return t == nil || t.Name == render.TableName && t.Family == nftables.TableFamilyINet
	}
	for _, ev := range b.Changes {
		switch d := ev.Data.(type) {
		case *nftables.Table:
			if ours(d) {
				return true
			}
		case *nftables.Chain:
			if ours(d.Table) {
				return true
			}
		case *nftables.Rule:
			if ours(d.Table) {
				return true
			}
		case *nftables.Set:
			if ours(d.Table) {
				return true
			}
		case []nftables.SetElement:
			return true
		}
	}
	return false
}
