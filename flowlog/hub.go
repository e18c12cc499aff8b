package flowlog

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// Hub keeps the last records and hands new ones to followers. A slow
// follower misses records rather than holding the agent up (Dropped
// counts them).
type Hub struct {
	mu      sync.Mutex
	ring    []Record
	next    int
	full    bool
	subs    map[chan Record]struct{}
	dropped uint64
}

// DefaultBuffer is the number of records a Hub keeps by default.
const DefaultBuffer = 10000

// NewHub keeps the last size records (DefaultBuffer when size <= 0).
func NewHub(size int) *Hub {
	if size <= 0 {
		size = DefaultBuffer
	}
	return &Hub{ring: make([]Record, size), subs: map[chan Record]struct{}{}}
}

// Add records r and sends it to every follower that has room.
func (h *Hub) Add(r Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.next] = r
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
	for c := range h.subs {
		select {
		case c <- r:
		default:
			h.dropped++
		}
	}
}

// Recent returns the kept records that match f, oldest first, at most the
// last n of them (all when n <= 0).
func (h *Hub) Recent(f Filter, n int) []Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var all []Record
	if h.full {
		all = append(all, h.ring[h.next:]...)
	}
	all = append(all, h.ring[:h.next]...)
	var out []Record
	for _, r := range all {
		if f.Match(r) {
			out = append(out, r)
		}
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// Follow returns a channel of the records added from now on, and a
// function that stops following.
func (h *Hub) Follow() (<-chan Record, func()) {
	c := make(chan Record, 1024)
	h.mu.Lock()
	h.subs[c] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, c)
			h.mu.Unlock()
		})
	}
}

// Dropped is the number of records followers were too slow to take.
func (h *Hub) Dropped() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}

// Filter selects records, as `palisade flows` flags do. From and To are an
// address, a CIDR, or an endpoint name (or part of it, "ns/pod"): an
// address matches the record's source (From) or destination (To); an
// endpoint name matches the policed endpoint when it is the source
// (egress) or the destination (ingress).
type Filter struct {
	Verdict  string // "", allowed or denied
	From, To string
	Policy   string // the deciding policy's name (as counters' --policy)
}

// ParseFilter checks a filter's values.
func ParseFilter(verdict, from, to, policy string) (Filter, error) {
	switch verdict {
	case "", VerdictAllowed, VerdictDenied, VerdictStagedDenied:
	default:
		return Filter{}, fmt.Errorf("--verdict: %q is not %s, %s or %s", verdict, VerdictAllowed, VerdictDenied, VerdictStagedDenied)
	}
	return Filter{Verdict: verdict, From: from, To: to, Policy: policy}, nil
}

// Match reports whether r passes the filter.
func (f Filter) Match(r Record) bool {
	if f.Verdict != "" && r.Verdict != f.Verdict {
		return false
	}
	if f.Policy != "" && !PolicyMatches(r.Policy, f.Policy) {
		return false
	}
	return peerMatches(f.From, r.Src, r.Direction == "egress", r.Endpoint) &&
		peerMatches(f.To, r.Dst, r.Direction == "ingress", r.Endpoint)
}

func peerMatches(want, addr string, policed bool, endpoint string) bool {
	if want == "" {
		return true
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	if w, err := netip.ParseAddr(want); err == nil {
		return w == a
	}
	if p, err := netip.ParsePrefix(want); err == nil {
		return p.Contains(a)
	}
	return policed && endpoint != "" && strings.Contains(endpoint, want)
}

// PolicyMatches reports whether a decision's policy ("GlobalNetworkPolicy
// default.x", "NetworkPolicy ns/name", "Profile kns.ns") is the one named:
// by the whole string, its name after the kind, or a namespaced policy's
// bare name.
func PolicyMatches(have, want string) bool {
	if want == "" || have == want {
		return true
	}
	_, key, _ := strings.Cut(have, " ")
	if key == want {
		return true
	}
	_, name, ok := strings.Cut(key, "/")
	return ok && name == want
}
