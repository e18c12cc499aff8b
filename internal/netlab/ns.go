package netlab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Do runs fn on a locked OS thread switched into the namespace, then
// switches the thread back. Sockets fn creates belong to the namespace.
// Goroutines fn starts do not run in the namespace.
func (n *NS) Do(fn func() error) error {
	return DoIn(n.h, fn)
}

// DoIn is Do for any namespace handle.
func DoIn(h netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: current namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: enter namespace: %w", err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// Keep the thread locked so the runtime discards it.
		return fmt.Errorf("netlab: leave namespace: %w (and fn: %v)", err, ferr)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Run runs a command inside the namespace (forked from a thread that entered
// it) and returns its standard output. stdin may be nil. A non-zero exit
// becomes an error that includes the standard error.
func (n *NS) Run(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := n.Do(cmd.Start); err != nil {
		return nil, fmt.Errorf("netlab: %s: start %s: %w", n.Name, name, err)
	}
	if err := cmd.Wait(); err != nil {
		return out.Bytes(), fmt.Errorf("netlab: %s: %s %s: %w: %s", n.Name, name,
			strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Sysctl writes a sysctl of the namespace, e.g. "net.ipv4.ip_forward", "1".
// Only per-namespace keys (net.*) are accepted: nothing here may change the
// root namespace.
func (n *NS) Sysctl(key, value string) error {
	if !strings.HasPrefix(key, "net.") {
		return fmt.Errorf("netlab: sysctl %s is not a per-namespace net.* key", key)
	}
	p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	return n.Do(func() error {
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("netlab: %s: sysctl %s=%s: %w", n.Name, key, value, err)
		}
		return nil
	})
}

// EnableForwarding turns on IPv4 and IPv6 forwarding inside the namespace.
func (n *NS) EnableForwarding() error {
	for _, k := range []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"} {
		if err := n.Sysctl(k, "1"); err != nil {
			return err
		}
	}
	return nil
}

// Link returns an interface of the namespace.
func (n *NS) Link(name string) (netlink.Link, error) {
	l, err := n.nl.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("netlab: %s: interface %s: %w", n.Name, name, err)
	}
	return l, nil
}

// MAC returns an interface's hardware address.
func (n *NS) MAC(link string) (net.HardwareAddr, error) {
	l, err := n.Link(link)
	if err != nil {
		return nil, err
	}
	return l.Attrs().HardwareAddr, nil
}

// AddAddr adds an address to an interface. IPv6 addresses skip duplicate
// address detection so they are usable at once.
func (n *NS) AddAddr(link string, p netip.Prefix) error {
	l, err := n.Link(link)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: prefixToIPNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := n.nl.AddrAdd(l, a); err != nil {
		return fmt.Errorf("netlab: %s: add %s to %s: %w", n.Name, p, link, err)
	}
	return nil
}

// Route is a route to add inside a namespace.
type Route struct {
	Dst    netip.Prefix // e.g. 0.0.0.0/0
	Via    netip.Addr   // gateway; invalid for a device route
	Dev    string       // output interface; required with OnLink
	OnLink bool         // the gateway is on the link even without an address for it
}

// AddRoute adds a route.
func (n *NS) AddRoute(r Route) error {
	nr := &netlink.Route{Dst: prefixToIPNet(r.Dst)}
	if r.Dev != "" {
		l, err := n.Link(r.Dev)
		if err != nil {
			return err
		}
		nr.LinkIndex = l.Attrs().Index
	}
	if r.Via.IsValid() {
		nr.Gw = net.IP(r.Via.AsSlice())
	} else {
		nr.Scope = netlink.SCOPE_LINK
	}
	if r.OnLink {
		nr.Flags = int(netlink.FLAG_ONLINK)
	}
	if err := n.nl.RouteAdd(nr); err != nil {
		return fmt.Errorf("netlab: %s: add route %+v: %w", n.Name, r, err)
	}
	return nil
}

// AddNeighbor adds a permanent neighbour entry, so that the address needs no
// ARP or neighbour discovery on that link (and policy dropping ND cannot cut
// the link).
func (n *NS) AddNeighbor(link string, ip netip.Addr, mac net.HardwareAddr) error {
	l, err := n.Link(link)
	if err != nil {
		return err
	}
	fam := netlink.FAMILY_V4
	if ip.Is6() {
		fam = netlink.FAMILY_V6
	}
	ne := &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: fam, State: netlink.NUD_PERMANENT,
		IP: net.IP(ip.AsSlice()), HardwareAddr: mac}
	if err := n.nl.NeighSet(ne); err != nil {
		return fmt.Errorf("netlab: %s: neighbour %s on %s: %w", n.Name, ip, link, err)
	}
	return nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

// FlushConntrack deletes every conntrack entry of the namespace (all
// families), so that a test's next flows start with no state.
func (n *NS) FlushConntrack() error {
	if err := n.nl.ConntrackTableFlush(netlink.ConntrackTable); err != nil {
		return fmt.Errorf("netlab: %s: flush conntrack: %w", n.Name, err)
	}
	return nil
}
