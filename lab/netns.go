package lab

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/palisade-net/palisade/internal/netlab"
)

// netnsDir is where named namespaces live (as `ip netns` keeps them).
const netnsDir = "/var/run/netns"

// ns is one named network namespace of the lab. netlab names its
// namespaces "<base>-<pid>-<random>-<name>"; the lab's names are fixed
// (palisade-control, ...), so it opens them itself and uses netlab for
// running code inside them (netlab.DoIn).
type ns struct {
	name string
	h    netns.NsHandle
	nl   *netlink.Handle
}

// createNS creates the named namespace with its loopback up.
func createNS(name string) (*ns, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	h, err := netns.NewNamed(name)
	if serr := netns.Set(orig); serr != nil {
		// The thread stays locked: the runtime discards it with the goroutine.
		return nil, fmt.Errorf("lab: switch back after creating %s: %w", name, serr)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("lab: create namespace %s: %w", name, err)
	}
	n, err := wrapNS(name, h)
	if err != nil {
		return nil, err
	}
	lo, err := n.nl.LinkByName("lo")
	if err == nil {
		err = n.nl.LinkSetUp(lo)
	}
	if err != nil {
		n.close()
		return nil, fmt.Errorf("lab: %s: bring lo up: %w", name, err)
	}
	return n, nil
}

// openNS opens an existing named namespace.
func openNS(name string) (*ns, error) {
	h, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("lab: namespace %s: %w", name, err)
	}
	return wrapNS(name, h)
}

func wrapNS(name string, h netns.NsHandle) (*ns, error) {
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("lab: netlink in %s: %w", name, err)
	}
	return &ns{name: name, h: h, nl: nl}, nil
}

func (n *ns) close() {
	if n.nl != nil {
		n.nl.Close()
	}
	n.h.Close()
}

// nsExists reports whether a named namespace exists.
func nsExists(name string) bool {
	_, err := os.Stat(netnsDir + "/" + name)
	return err == nil
}

// deleteNS removes a named namespace; a missing one is not an error.
func deleteNS(name string) error {
	if !nsExists(name) {
		return nil
	}
	if err := netns.DeleteNamed(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lab: delete namespace %s: %w", name, err)
	}
	return nil
}

// do runs fn on a thread inside the namespace.
func (n *ns) do(fn func() error) error { return netlab.DoIn(n.h, fn) }

// run runs a command inside the namespace and returns its standard output.
func (n *ns) run(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := n.do(cmd.Start); err != nil {
		return nil, fmt.Errorf("lab: %s: start %s: %w", n.name, name, err)
	}
	if err := cmd.Wait(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %s %s: %w: %s", n.name, name,
			strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// sysctl writes a per-namespace net.* sysctl.
func (n *ns) sysctl(key, value string) error {
	if !strings.HasPrefix(key, "net.") {
		return fmt.Errorf("lab: sysctl %s is not a per-namespace net.* key", key)
	}
	p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	return n.do(func() error { return os.WriteFile(p, []byte(value), 0o644) })
}

func (n *ns) link(name string) (netlink.Link, error) {
	l, err := n.nl.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("lab: %s: interface %s: %w", n.name, name, err)
	}
	return l, nil
}

func (n *ns) mac(link string) (net.HardwareAddr, error) {
	l, err := n.link(link)
	if err != nil {
		return nil, err
	}
	return l.Attrs().HardwareAddr, nil
}

func (n *ns) up(link string) error {
	l, err := n.link(link)
	if err != nil {
		return err
	}
	if err := n.nl.LinkSetUp(l); err != nil {
		return fmt.Errorf("lab: %s: up %s: %w", n.name, link, err)
	}
	return nil
}

func (n *ns) addAddr(link string, p netip.Prefix) error {
	l, err := n.link(link)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := n.nl.AddrAdd(l, a); err != nil {
		return fmt.Errorf("lab: %s: add %s to %s: %w", n.name, p, link, err)
	}
	return nil
}

// addRoute adds dst via gw (gw invalid: a device route on dev). With onlink
// the gateway need not be on a configured subnet.
func (n *ns) addRoute(dst netip.Prefix, gw netip.Addr, dev string, onlink bool) error {
	r := &netlink.Route{Dst: ipNet(dst)}
	if dev != "" {
		l, err := n.link(dev)
		if err != nil {
			return err
		}
		r.LinkIndex = l.Attrs().Index
	}
	if gw.IsValid() {
		r.Gw = net.IP(gw.AsSlice())
	} else {
		r.Scope = netlink.SCOPE_LINK
	}
	if onlink {
		r.Flags = int(netlink.FLAG_ONLINK)
	}
	if err := n.nl.RouteAdd(r); err != nil {
		return fmt.Errorf("lab: %s: route %s via %s dev %s: %w", n.name, dst, gw, dev, err)
	}
	return nil
}

// addNeighbor adds a permanent neighbour entry: no ARP is ever needed.
func (n *ns) addNeighbor(link string, ip netip.Addr, mac net.HardwareAddr) error {
	l, err := n.link(link)
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
		return fmt.Errorf("lab: %s: neighbour %s on %s: %w", n.name, ip, link, err)
	}
	return nil
}

// veth creates a veth pair aName (in n) - bName (in peer), both up.
func (n *ns) veth(aName string, peer *ns, bName string) error {
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: bName,
		PeerNamespace: netlink.NsFd(int(peer.h))}
	if err := n.nl.LinkAdd(v); err != nil {
		return fmt.Errorf("lab: veth %s/%s - %s/%s: %w", n.name, aName, peer.name, bName, err)
	}
	if err := n.up(aName); err != nil {
		return err
	}
	return peer.up(bName)
}

// bridge creates a bridge and brings it up.
func (n *ns) bridge(name string) error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := n.nl.LinkAdd(br); err != nil {
		return fmt.Errorf("lab: %s: bridge %s: %w", n.name, name, err)
	}
	return n.up(name)
}

// enslave attaches a link to a bridge.
func (n *ns) enslave(link, bridge string) error {
	l, err := n.link(link)
	if err != nil {
		return err
	}
	br, err := n.link(bridge)
	if err != nil {
		return err
	}
	if err := n.nl.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return fmt.Errorf("lab: %s: %s into %s: %w", n.name, link, bridge, err)
	}
	return nil
}

// flushConntrack deletes every conntrack entry of the namespace.
func (n *ns) flushConntrack() error {
	if err := n.nl.ConntrackTableFlush(netlink.ConntrackTable); err != nil {
		return fmt.Errorf("lab: %s: flush conntrack: %w", n.name, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}
