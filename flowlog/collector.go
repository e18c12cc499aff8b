package flowlog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	nflog "github.com/florianl/go-nflog/v2"
	"github.com/palisade-net/palisade/render"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Collector reads the flow log NFLOG group of one network namespace and
// turns each packet into a Record for the Hub (and, when set, a JSON line
// in File), using the ruleset last given to Update to name the decision.
type Collector struct {
	Node   string
	NetNS  string    // a namespace path; "" for the caller's own
	Hub    *Hub      // where records go
	File   io.Writer // optional: one JSON line per record
	Logger *slog.Logger

	view      atomic.Pointer[view]
	records   atomic.Uint64
	unknown   atomic.Uint64
	malformed atomic.Uint64
	fileMu    sync.Mutex
	ifMu      sync.Mutex
	ifNames   map[uint32]string
}

// view is what the collector knows of the ruleset in force.
type view struct {
	keys      map[string]render.CounterKey
	endpoints map[string]string
}

// Update tells the collector the ruleset now in force.
func (c *Collector) Update(rs *render.Ruleset) {
	v := &view{keys: make(map[string]render.CounterKey, len(rs.Counters)), endpoints: rs.Endpoints}
	for _, ct := range rs.Counters {
		v.keys[ct.Name] = ct.Key
	}
	c.view.Store(v)
	c.ifMu.Lock()
	c.ifNames = nil // interfaces may have been renamed or replaced
	c.ifMu.Unlock()
}

// Stats returns the records made, the packets whose decision was not in
// the ruleset in force (logged by a ruleset since replaced), and those
// whose headers could not be read.
func (c *Collector) Stats() (records, unknown, malformed uint64) {
	return c.records.Load(), c.unknown.Load(), c.malformed.Load()
}

// Run binds the NFLOG group and collects until ctx is done. It fails at
// once when the group cannot be bound (another process holds it in the
// namespace, or no CAP_NET_ADMIN).
func (c *Collector) Run(ctx context.Context) error {
	stop, err := c.Start(ctx)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	return nil
}

// Start binds the NFLOG group and collects in the background until ctx is
// done or stop is called; packets logged after Start returns are seen.
func (c *Collector) Start(ctx context.Context) (stop func(), err error) {
	// Packets are pushed to us after 10 ms or 32 packets, whichever comes first
	// (the kernel's default waits a second).
	cfg := &nflog.Config{Group: render.FlowLogGroup, Copymode: nflog.CopyPacket, Bufsize: 128, Timeout: 1, QThresh: 32}
	if c.NetNS != "" {
		h, err := netns.GetFromPath(c.NetNS)
		if err != nil {
			return nil, fmt.Errorf("flowlog: network namespace %s: %w", c.NetNS, err)
		}
		defer h.Close()
		cfg.NetNS = int(h)
	}
	nf, err := nflog.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("flowlog: binding NFLOG group %d: %w", render.FlowLogGroup, err)
	}
	_ = nf.Con.SetReadBuffer(1 << 20)
	ctx, cancel := context.WithCancel(ctx)
	hook := func(a nflog.Attribute) int {
		c.handle(a)
		return 0
	}
	errf := func(err error) int {
		if ctx.Err() == nil && c.Logger != nil {
			c.Logger.Debug("flow log read error", "error", err)
		}
		return 0
	}
	if err := nf.RegisterWithErrorFunc(ctx, hook, errf); err != nil {
		cancel()
		nf.Close()
		return nil, fmt.Errorf("flowlog: reading NFLOG group %d: %w", render.FlowLogGroup, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			nf.Close()
		})
	}, nil
}

// handle makes the record of one logged packet.
func (c *Collector) handle(a nflog.Attribute) {
	if a.Prefix == nil || a.Payload == nil {
		c.malformed.Add(1)
		return
	}
	name, ok := render.FlowLogCounter(*a.Prefix)
	v := c.view.Load()
	if !ok || v == nil {
		c.unknown.Add(1)
		return
	}
	key, ok := v.keys[name]
	if !ok {
		c.unknown.Add(1)
		return
	}
	p, err := ParsePacket(*a.Payload)
	if err != nil {
		c.malformed.Add(1)
		return
	}
	t := time.Now()
	if a.Timestamp != nil && !a.Timestamp.IsZero() {
		t = *a.Timestamp
	}
	r := NewRecord(t, c.Node, p, key, name)
	if a.InDev != nil {
		r.InInterface = c.ifName(*a.InDev)
	}
	if a.OutDev != nil {
		r.OutInterface = c.ifName(*a.OutDev)
	}
	r.Endpoint = endpointOf(v.endpoints, r)
	c.records.Add(1)
	c.Hub.Add(r)
	if c.File != nil {
		line, _ := json.Marshal(r)
		c.fileMu.Lock()
		_, _ = c.File.Write(append(line, '\n'))
		c.fileMu.Unlock()
	}
}

// endpointOf is the endpoint a decision was made for: the workload whose
// interface the packet leaves (ingress) or comes from (egress), else the
// host endpoint of the interface it comes in on (ingress) or goes out of
// (egress).
func endpointOf(eps map[string]string, r Record) string {
	wl := func(ifc string) string {
		if e := eps[ifc]; strings.HasPrefix(e, "WorkloadEndpoint ") {
			return e
		}
		return ""
	}
	if r.Direction == "ingress" {
		if e := wl(r.OutInterface); e != "" {
			return e
		}
		return eps[r.InInterface]
	}
	if e := wl(r.InInterface); e != "" {
		return e
	}
	return eps[r.OutInterface]
}

// ifName names an interface index of the collector's namespace.
func (c *Collector) ifName(idx uint32) string {
	if idx == 0 {
		return ""
	}
	c.ifMu.Lock()
	defer c.ifMu.Unlock()
	if n, ok := c.ifNames[idx]; ok {
		return n
	}
	if c.ifNames == nil {
		c.ifNames = map[uint32]string{}
	}
	name := fmt.Sprintf("if%d", idx)
	ns := netns.None()
	if c.NetNS != "" {
		if h, err := netns.GetFromPath(c.NetNS); err == nil {
			defer h.Close()
			ns = h
		}
	}
	if h, err := netlink.NewHandleAt(ns); err == nil {
		if l, err := h.LinkByIndex(int(idx)); err == nil {
			name = l.Attrs().Name
			c.ifNames[idx] = name // indexes are not reused while the name holds
		}
		h.Close()
	}
	return name
}
