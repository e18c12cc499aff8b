package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/palisade-net/palisade/render"
)

// When a change is set elements and nothing else (the common case: a
// remote pod comes, goes or changes labels, and only the address sets its
// selectors fill change), the Kernel writes the added and deleted elements
// over netlink in one batch, without running nft: about a millisecond
// instead of the tens an nft run costs. Anything this writer cannot encode
// exactly as nft would (an interval that starts at the zero address or
// ends at the last one) and any batch the kernel refuses falls back to the
// nft transaction, which is atomic too.

// errNotEncodable: the change needs the nft transaction.
var errNotEncodable = errors.New("nft: elements not written over netlink")

// elementBatch is the netlink form of one set's change.
type elementBatch struct {
	set      *nftables.Set
	del, add []nftables.SetElement
}

// elementBatches turns the changed sets into netlink element changes.
func elementBatches(changed [][2]*render.Set) ([]elementBatch, error) {
	table := &nftables.Table{Name: render.TableName, Family: nftables.TableFamilyINet}
	var out []elementBatch
	for _, pair := range changed {
		o, n := pair[0], pair[1]
		b := elementBatch{set: &nftables.Set{Table: table, Name: n.Name, Interval: n.Interval}}
		var err error
		if n.Interval {
			b.del, b.add, err = prefixElements(o.Prefixes, n.Prefixes)
		} else {
			b.del, b.add, err = tupleElements(n.Type, o.Tuples, n.Tuples)
		}
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", n.Name, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// prefixElements are the interval elements to delete and add: each prefix
// is its first address and, flagged as an interval end, the address after
// its last, as nft writes them.
func prefixElements(old, new []netip.Prefix) (del, add []nftables.SetElement, err error) {
	oldSet := make(map[netip.Prefix]bool, len(old))
	for _, p := range old {
		oldSet[p] = true
	}
	newSet := make(map[netip.Prefix]bool, len(new))
	for _, p := range new {
		newSet[p] = true
	}
	elems := func(p netip.Prefix) ([]nftables.SetElement, error) {
		p = p.Masked()
		start := p.Addr()
		last := lastAddr(p)
		end := last.Next()
		if !start.IsValid() || start == netip.IPv4Unspecified() || start == netip.IPv6Unspecified() || !end.IsValid() {
			return nil, errNotEncodable
		}
		return []nftables.SetElement{{Key: start.AsSlice()}, {Key: end.AsSlice(), IntervalEnd: true}}, nil
	}
	for _, p := range old {
		if !newSet[p] {
			e, err := elems(p)
			if err != nil {
				return nil, nil, err
			}
			del = append(del, e...)
		}
	}
	for _, p := range new {
		if !oldSet[p] {
			e, err := elems(p)
			if err != nil {
				return nil, nil, err
			}
			add = append(add, e...)
		}
	}
	return del, add, nil
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// tupleElements are the concatenated elements to delete and add; every
// field takes a multiple of four bytes, as nft lays out registers.
func tupleElements(typ render.SetType, old, new []render.Tuple) (del, add []nftables.SetElement, err error) {
	key := func(t render.Tuple) ([]byte, error) {
		var b []byte
		switch typ {
		case render.SetIPv4ProtoPort, render.SetIPv6ProtoPort:
			if !t.Addr.IsValid() || (typ == render.SetIPv4ProtoPort) != t.Addr.Is4() {
				return nil, errNotEncodable
			}
			b = append(b, t.Addr.AsSlice()...)
		case render.SetProtoPort:
		default:
			return nil, errNotEncodable
		}
		b = append(b, t.Proto, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, t.Port)
		return append(b, 0, 0), nil
	}
	oldSet := make(map[render.Tuple]bool, len(old))
	for _, t := range old {
		oldSet[t] = true
	}
	newSet := make(map[render.Tuple]bool, len(new))
	for _, t := range new {
		newSet[t] = true
	}
	for _, t := range old {
		if !newSet[t] {
			k, err := key(t)
			if err != nil {
				return nil, nil, err
			}
			del = append(del, nftables.SetElement{Key: k})
		}
	}
	for _, t := range new {
		if !oldSet[t] {
			k, err := key(t)
			if err != nil {
				return nil, nil, err
			}
			add = append(add, nftables.SetElement{Key: k})
		}
	}
	return del, add, nil
}

// elementChunk bounds the elements of one netlink message (its attribute
// length is 16 bits).
const elementChunk = 512

// writeElements sends the batches as one netlink transaction in the
// applier's namespace. The batch is committed whole or not at all.
func (k *Kernel) writeElements(batches []elementBatch) error {
	var opts []nftables.ConnOption
	if k.cfg.NetNS != "" {
		h, err := netns.GetFromPath(k.cfg.NetNS)
		if err != nil {
			return fmt.Errorf("nft: network namespace %s: %w", k.cfg.NetNS, err)
		}
		defer h.Close()
		opts = append(opts, nftables.WithNetNSFd(int(h)))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("nft: netlink: %w", err)
	}
	defer conn.CloseLasting()
	for _, b := range batches {
		for _, part := range chunks(b.del) {
			if err := conn.SetDeleteElements(b.set, part); err != nil {
				return err
			}
		}
		for _, part := range chunks(b.add) {
			if err := conn.SetAddElements(b.set, part); err != nil {
				return err
			}
		}
	}
	// The kernel names the committing thread in the generation message:
	// remember it, so the change monitor takes this batch as our own.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	k.noteOwn(unix.Gettid())
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nft: netlink element batch: %w", err)
	}
	return nil
}

func chunks(es []nftables.SetElement) [][]nftables.SetElement {
	var out [][]nftables.SetElement
	for len(es) > elementChunk {
		out = append(out, es[:elementChunk])
		es = es[elementChunk:]
	}
	if len(es) > 0 {
		out = append(out, es)
	}
	return out
}
