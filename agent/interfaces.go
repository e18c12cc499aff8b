package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// HostInterface is one network interface of the host and its global
// addresses (with their prefix lengths), as the kernel reports them.
type HostInterface struct {
	Name  string
	Addrs []netip.Prefix
	// PeerElsewhere is set for a veth whose peer is in another network
	// namespace: what a pod's host-side interface looks like.
	PeerElsewhere bool
	// Routes are the destinations the main routing table sends out of
	// this interface (listed for PeerElsewhere interfaces only): how a
	// pod's interface is found when its name is not the conventional one.
	Routes []netip.Prefix
}

// InterfaceSource reports the host's interfaces: the current list at
// once, then a new full list after every change, until ctx is done.
type InterfaceSource interface {
	Run(ctx context.Context, out chan<- []HostInterface) error
}

// equalInterfaces compares two sorted lists.
func equalInterfaces(a, b []HostInterface) bool {
	return slices.EqualFunc(a, b, func(x, y HostInterface) bool {
		return x.Name == y.Name && slices.Equal(x.Addrs, y.Addrs) && x.PeerElsewhere == y.PeerElsewhere &&
			slices.Equal(x.Routes, y.Routes)
	})
}

// sortInterfaces sorts by name and each interface's addresses.
func sortInterfaces(ifs []HostInterface) {
	slices.SortFunc(ifs, func(a, b HostInterface) int { return strings.Compare(a.Name, b.Name) })
	for i := range ifs {
		slices.SortFunc(ifs[i].Addrs, comparePrefix)
		slices.SortFunc(ifs[i].Routes, comparePrefix)
	}
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// Netlink is the InterfaceSource of a network namespace: it lists links and
// addresses over netlink and subscribes to link and address changes,
// re-listing (after Debounce) whenever anything changes. A broken
// subscription is re-made after a delay, followed by a re-list.
type Netlink struct {
	// NetNS is the namespace to watch; the zero value (or netns.None())
	// means the process's own.
	NetNS netns.NsHandle
	// Debounce groups a burst of kernel notifications (default 20ms).
	Debounce time.Duration
	// Logger receives subscription failures (default: discarded).
	Logger *slog.Logger
}

// ListInterfaces lists the links of the namespace and their global
// addresses, sorted by name, and for veths whose peer is in another
// namespace the routes of the main table through them.
func ListInterfaces(ns netns.NsHandle) ([]HostInterface, error) {
	h, err := netlink.NewHandleAt(nsOrNone(ns))
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("netlink: list links: %w", err)
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("netlink: list addresses: %w", err)
	}
	byIndex := map[int]*HostInterface{}
	out := make([]HostInterface, 0, len(links))
	for _, l := range links {
		_, veth := l.(*netlink.Veth)
		out = append(out, HostInterface{Name: l.Attrs().Name, PeerElsewhere: veth && l.Attrs().NetNsID >= 0})
	}
	for i, l := range links {
		byIndex[l.Attrs().Index] = &out[i]
	}
	for _, a := range addrs {
		hi := byIndex[a.LinkIndex]
		if hi == nil || a.Scope != unix.RT_SCOPE_UNIVERSE || a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		hi.Addrs = append(hi.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
	}
	if err := addRoutes(h, byIndex); err != nil {
		return nil, err
	}
	sortInterfaces(out)
	return out, nil
}

// addRoutes adds the main table's routes through each PeerElsewhere
// interface to it.
func addRoutes(h *netlink.Handle, byIndex map[int]*HostInterface) error {
	pods := false
	for _, hi := range byIndex {
		pods = pods || hi.PeerElsewhere
	}
	if !pods {
		return nil
	}
	routes, err := h.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("netlink: list routes: %w", err)
	}
	for _, r := range routes {
		hi := byIndex[r.LinkIndex]
		if hi == nil || !hi.PeerElsewhere || r.Dst == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if p := netip.PrefixFrom(ip.Unmap(), ones); !slices.Contains(hi.Routes, p) {
			hi.Routes = append(hi.Routes, p)
		}
	}
	return nil
}

// nsOrNone maps the zero handle to netns.None(): the caller's namespace.
func nsOrNone(h netns.NsHandle) netns.NsHandle {
	if h <= 0 {
		return netns.None()
	}
	return h
}

// Run implements InterfaceSource.
func (n *Netlink) Run(ctx context.Context, out chan<- []HostInterface) error {
	debounce := n.Debounce
	if debounce <= 0 {
		debounce = 20 * time.Millisecond
	}
	log := n.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var last []HostInterface
	first := true
	for ctx.Err() == nil {
		changes, stop, err := n.subscribe()
		if err != nil {
			log.Warn("netlink subscription failed; retrying", "error", err)
			if !sleepCtx(ctx, time.Second) {
				return nil
			}
			continue
		}
		err = n.follow(ctx, changes, debounce, func() error {
			ifs, err := ListInterfaces(n.NetNS)
			if err != nil {
				return err
			}
			if first || !equalInterfaces(ifs, last) {
				first, last = false, ifs
				select {
				case out <- ifs:
				case <-ctx.Done():
				}
			}
			return nil
		})
		stop()
		if err != nil && ctx.Err() == nil {
			log.Warn("following interfaces failed; re-subscribing", "error", err)
			sleepCtx(ctx, time.Second)
		}
	}
	return nil
}

// subscribe subscribes to link, address and route changes; changes
// receives a value per notification and is closed when a subscription
// breaks.
func (n *Netlink) subscribe() (<-chan struct{}, func(), error) {
	done := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(done) }) }
	ns := nsOrNone(n.NetNS)
	links := make(chan netlink.LinkUpdate, 64)
	addrs := make(chan netlink.AddrUpdate, 64)
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{Namespace: &ns}); err != nil {
		stop()
		return nil, nil, fmt.Errorf("netlink: subscribe to links: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{Namespace: &ns}); err != nil {
		stop()
		return nil, nil, fmt.Errorf("netlink: subscribe to addresses: %w", err)
	}
	routes := make(chan netlink.RouteUpdate, 64)
	if err := netlink.RouteSubscribeWithOptions(routes, done, netlink.RouteSubscribeOptions{Namespace: &ns}); err != nil {
		stop()
		return nil, nil, fmt.Errorf("netlink: subscribe to routes: %w", err)
	}
	changes := make(chan struct{}, 1)
	go func() {
		defer close(changes)
		for {
			select {
			case _, ok := <-links:
				if !ok {
					return
				}
			case _, ok := <-addrs:
				if !ok {
					return
				}
			case _, ok := <-routes:
				if !ok {
					return
				}
			}
			select {
			case changes <- struct{}{}:
			default:
			}
		}
	}()
	return changes, stop, nil
}

// follow lists at once, then again debounce after each burst of changes,
// until ctx is done (nil) or the subscription breaks (an error).
func (n *Netlink) follow(ctx context.Context, changes <-chan struct{}, debounce time.Duration, list func() error) error {
	if err := list(); err != nil {
		return err
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-changes:
			if !ok {
				return fmt.Errorf("netlink: subscription ended")
			}
			if timer == nil {
				timer = time.After(debounce)
			}
		case <-timer:
			timer = nil
			if err := list(); err != nil {
				return err
			}
		}
	}
}

// StaticInterfaces is an InterfaceSource for tests: Set replaces the list
// and reports it.
type StaticInterfaces struct {
	mu   sync.Mutex
	ifs  []HostInterface
	kick chan struct{}
}

// NewStaticInterfaces returns a source reporting ifs.
func NewStaticInterfaces(ifs ...HostInterface) *StaticInterfaces {
	s := &StaticInterfaces{kick: make(chan struct{}, 1)}
	s.Set(ifs...)
	return s
}

// Set replaces the interfaces.
func (s *StaticInterfaces) Set(ifs ...HostInterface) {
	cp := slices.Clone(ifs)
	sortInterfaces(cp)
	s.mu.Lock()
	s.ifs = cp
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run implements InterfaceSource.
func (s *StaticInterfaces) Run(ctx context.Context, out chan<- []HostInterface) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		}
		s.mu.Lock()
		ifs := slices.Clone(s.ifs)
		s.mu.Unlock()
		select {
		case out <- ifs:
		case <-ctx.Done():
			return nil
		}
	}
}

// sleepCtx waits d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
