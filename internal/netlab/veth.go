package netlab

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// End is one end of a veth pair.
type End struct {
	NS    *NS
	Name  string         // interface name (at most 15 bytes)
	Addrs []netip.Prefix // addresses to put on it, e.g. 198.19.0.2/24
}

// Veth creates a veth pair between a.NS and b.NS (they may be the same),
// adds the addresses, brings both ends up, and adds permanent neighbour
// entries on each end for the other end's addresses.
func (l *Lab) Veth(a, b End) error {
	if len(a.Name) > 15 || len(b.Name) > 15 {
		return fmt.Errorf("netlab: interface names %q, %q: at most 15 bytes", a.Name, b.Name)
	}
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a.Name}, PeerName: b.Name,
		PeerNamespace: netlink.NsFd(int(b.NS.h))}
	if err := a.NS.nl.LinkAdd(v); err != nil {
		return fmt.Errorf("netlab: veth %s/%s - %s/%s: %w", a.NS.Name, a.Name, b.NS.Name, b.Name, err)
	}
	for _, e := range []End{a, b} {
		for _, p := range e.Addrs {
			if err := e.NS.AddAddr(e.Name, p); err != nil {
				return err
			}
		}
		if err := e.NS.Up(e.Name); err != nil {
			return err
		}
	}
	if err := staticNeighbors(a, b); err != nil {
		return err
	}
	return staticNeighbors(b, a)
}

// staticNeighbors tells `from` the MAC of every address of `to`.
func staticNeighbors(from, to End) error {
	mac, err := to.NS.MAC(to.Name)
	if err != nil {
		return err
	}
	for _, p := range to.Addrs {
		if err := from.NS.AddNeighbor(from.Name, p.Addr(), mac); err != nil {
			return err
		}
	}
	return nil
}

// Gateway routes everything from an end (both families) through the peer's
// MAC: a default route "via gw onlink" per family, and a permanent neighbour
// entry mapping gw to the peer interface's MAC. gw need not be configured
// anywhere, the way Calico's pods use 169.254.1.1; no packet is ever
// addressed to it.
func Gateway(from, peer End, gws ...netip.Addr) error {
	mac, err := peer.NS.MAC(peer.Name)
	if err != nil {
		return err
	}
	for _, gw := range gws {
		if err := from.NS.AddNeighbor(from.Name, gw, mac); err != nil {
			return err
		}
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		if err := from.NS.AddRoute(Route{Dst: dst, Via: gw, Dev: from.Name, OnLink: true}); err != nil {
			return err
		}
	}
	return nil
}

// HostRoutes routes each of to's addresses (as /32 or /128) from `from` out
// of from's interface, with a permanent neighbour entry for each: how a node
// reaches its pods over their veths.
func HostRoutes(from, to End) error {
	mac, err := to.NS.MAC(to.Name)
	if err != nil {
		return err
	}
	for _, p := range to.Addrs {
		a := p.Addr()
		if err := from.NS.AddRoute(Route{Dst: netip.PrefixFrom(a, a.BitLen()), Dev: from.Name}); err != nil {
			return err
		}
		if err := from.NS.AddNeighbor(from.Name, a, mac); err != nil {
			return err
		}
	}
	return nil
}
