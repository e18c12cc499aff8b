package netlab

import (
	"errors"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Namespaces with exact names, for callers (the seed lab) whose names are
// fixed ("palisade-control"). Unlike Lab.NewNS they belong to no Lab: the
// caller closes them and deletes them with DeleteNamed. Listeners (Serve*)
// need a Lab and are not available on them.

// CreateNamed creates the namespace name with its loopback up.
func CreateNamed(name string) (*NS, error) {
	h, err := createNamed(name)
	if err != nil {
		return nil, fmt.Errorf("netlab: create namespace %s: %w", name, err)
	}
	n, err := wrapNamed(name, h)
	if err != nil {
		return nil, err
	}
	if err := n.Up("lo"); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// OpenNamed opens the existing namespace name.
func OpenNamed(name string) (*NS, error) {
	h, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("netlab: namespace %s: %w", name, err)
	}
	return wrapNamed(name, h)
}

func wrapNamed(name string, h netns.NsHandle) (*NS, error) {
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netlab: netlink in %s: %w", name, err)
	}
	return &NS{Name: name, h: h, nl: nl}, nil
}

// Close releases the handles of a namespace opened with CreateNamed or
// OpenNamed; the namespace itself stays.
func (n *NS) Close() {
	if n.nl != nil {
		n.nl.Close()
	}
	n.h.Close()
}

// Exists reports whether the named namespace exists.
func Exists(name string) bool {
	_, err := os.Stat(netnsDir + "/" + name)
	return err == nil
}

// DeleteNamed removes a named namespace; a missing one is not an error.
func DeleteNamed(name string) error {
	if !Exists(name) {
		return nil
	}
	if err := netns.DeleteNamed(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netlab: delete namespace %s: %w", name, err)
	}
	return nil
}

// Up brings a link up.
func (n *NS) Up(link string) error {
	l, err := n.Link(link)
	if err != nil {
		return err
	}
	if err := n.nl.LinkSetUp(l); err != nil {
		return fmt.Errorf("netlab: %s: up %s: %w", n.Name, link, err)
	}
	return nil
}

// VethTo creates a veth pair aName (in n) - bName (in peer), both up, with
// no addresses (Lab.Veth also addresses the ends).
func (n *NS) VethTo(aName string, peer *NS, bName string) error {
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: bName,
		PeerNamespace: netlink.NsFd(int(peer.h))}
	if err := n.nl.LinkAdd(v); err != nil {
		return fmt.Errorf("netlab: veth %s/%s - %s/%s: %w", n.Name, aName, peer.Name, bName, err)
	}
	if err := n.Up(aName); err != nil {
		return err
	}
	return peer.Up(bName)
}

// AddBridge creates a bridge and brings it up.
func (n *NS) AddBridge(name string) error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := n.nl.LinkAdd(br); err != nil {
		return fmt.Errorf("netlab: %s: bridge %s: %w", n.Name, name, err)
	}
	return n.Up(name)
}

// Enslave attaches a link to a bridge.
func (n *NS) Enslave(link, bridge string) error {
	l, err := n.Link(link)
	if err != nil {
		return err
	}
	br, err := n.Link(bridge)
	if err != nil {
		return err
	}
	if err := n.nl.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return fmt.Errorf("netlab: %s: %s into %s: %w", n.Name, link, bridge, err)
	}
	return nil
}
