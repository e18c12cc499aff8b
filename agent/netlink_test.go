package agent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/palisade-net/palisade/internal/netlab"
)

// TestNetlinkFollowsInterfaces: the netlink source lists a namespace's
// links with their global addresses and reports links and addresses as
// they come and go.
func TestNetlinkFollowsInterfaces(t *testing.T) {
	lab := netlab.ForTest(t, "pal-ag")
	node, err := lab.NewNS("node")
	must(t, err)
	peer, err := lab.NewNS("peer")
	must(t, err)
	h, err := netns.GetFromPath(node.Path())
	must(t, err)
	t.Cleanup(func() { h.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan []HostInterface, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = (&Netlink{NetNS: h, Debounce: 5 * time.Millisecond}).Run(ctx, out)
	}()
	t.Cleanup(func() { cancel(); <-done })

	await := func(want string) {
		t.Helper()
		deadline := time.After(3 * time.Second)
		var last []HostInterface
		for {
			select {
			case ifs := <-out:
				last = ifs
				if describe(ifs) == want {
					return
				}
			case <-deadline:
				t.Fatalf("interfaces %s, want %s", describe(last), want)
			}
		}
	}
	await("lo[]")
	must(t, lab.Veth(netlab.End{NS: node, Name: "eth0", Addrs: prefixes("198.19.0.2/24")},
		netlab.End{NS: peer, Name: "eth0", Addrs: prefixes("198.19.0.254/24")}))
	await("eth0[198.19.0.2/24] lo[]")
	must(t, node.AddAddr("eth0", netip.MustParsePrefix("fd00:19::2/64")))
	await("eth0[198.19.0.2/24 fd00:19::2/64] lo[]")

	nl, err := netlink.NewHandleAt(h)
	must(t, err)
	defer nl.Close()
	lk, err := nl.LinkByName("eth0")
	must(t, err)
	must(t, nl.LinkDel(lk))
	await("lo[]")
}

// describe prints interfaces as "name[addr ...] ..." (IPv6 link-local
// addresses, which the kernel adds on its own, are not global and never
// listed).
func describe(ifs []HostInterface) string {
	var s string
	for i, hi := range ifs {
		if i > 0 {
			s += " "
		}
		var as []string
		for _, a := range hi.Addrs {
			as = append(as, a.String())
		}
		slices.Sort(as)
		s += fmt.Sprintf("%s%v", hi.Name, as)
	}
	return s
}
