package nft

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/render"
)

// CounterValue is one named counter of palisade's table as the kernel
// holds it.
type CounterValue struct {
	Name    string `json:"name"`
	Comment string `json:"comment,omitempty"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// CounterReader reads palisade's named counters. Kernel and Fake
// implement it.
type CounterReader interface {
	// Counters lists the named counters of palisade's table, by name, or
	// ErrNoTable.
	Counters(ctx context.Context) ([]CounterValue, error)
}

var (
	_ CounterReader = (*Kernel)(nil)
	_ CounterReader = (*Fake)(nil)
)

// Counters lists the table's named counters, read over netlink (or with
// `nft -j list counters table inet palisade` when Config.NoNetlink).
func (k *Kernel) Counters(ctx context.Context) ([]CounterValue, error) {
	if !k.cfg.NoNetlink {
		t, err := k.readTable(ctx, readObjects)
		if err != nil {
			return nil, err
		}
		return t.counters(), nil
	}
	out, stderr, err := k.run(ctx, "", "-j", "list", "counters", "table", render.TableFamily, render.TableName)
	if err != nil {
		if strings.Contains(stderr, "No such file or directory") {
			return nil, ErrNoTable
		}
		return nil, &ApplyError{Op: "list counters", Stderr: stderr, Err: err}
	}
	return parseCounters(out)
}

// parseCounters reads nft's JSON listing of counters.
func parseCounters(out string) ([]CounterValue, error) {
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name    string `json:"name"`
				Table   string `json:"table"`
				Family  string `json:"family"`
				Comment string `json:"comment"`
				Packets uint64 `json:"packets"`
				Bytes   uint64 `json:"bytes"`
			} `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("nft: reading counters: %w", err)
	}
	var cs []CounterValue
	for _, o := range doc.Nftables {
		c := o.Counter
		if c == nil || c.Table != render.TableName || c.Family != render.TableFamily {
			continue
		}
		cs = append(cs, CounterValue{Name: c.Name, Comment: c.Comment, Packets: c.Packets, Bytes: c.Bytes})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs, nil
}

// withCounts returns rs with its counters starting from the values in
// now (by name): what Apply writes so that replacing the table does not
// reset the counts of rules that stay. Packets counted between the read
// and the commit are not carried over.
func withCounts(rs *render.Ruleset, now []CounterValue) *render.Ruleset {
	if len(now) == 0 || len(rs.Counters) == 0 {
		return rs
	}
	byName := make(map[string]CounterValue, len(now))
	for _, c := range now {
		byName[c.Name] = c
	}
	cp := *rs
	cp.Counters = make([]*render.Counter, len(rs.Counters))
	for i, c := range rs.Counters {
		n := *c
		if v, ok := byName[c.Name]; ok {
			n.Packets, n.Bytes = v.Packets, v.Bytes
		}
		cp.Counters[i] = &n
	}
	return &cp
}

// Counters returns the counters of the last applied ruleset with the
// values set by SetCounter.
func (f *Fake) Counters(ctx context.Context) ([]CounterValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !f.present {
		return nil, ErrNoTable
	}
	var out []CounterValue
	if f.rs != nil {
		for _, c := range f.rs.Counters {
			v := f.counts[c.Name]
			out = append(out, CounterValue{Name: c.Name, Comment: c.Key.Comment(), Packets: v[0], Bytes: v[1]})
		}
	}
	return out, nil
}

// SetCounter sets the packets and bytes Counters reports for a counter.
func (f *Fake) SetCounter(name string, packets, bytes uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string][2]uint64{}
	}
	f.counts[name] = [2]uint64{packets, bytes}
}

var (
	anonCounterValues  = regexp.MustCompile(`counter packets \d+ bytes \d+`)
	namedCounterValues = regexp.MustCompile(`(?m)^\s*packets \d+ bytes \d+\n`)
)

// WithoutCounts removes the packet and byte counts from an `nft list`
// listing (anonymous counters keep the word "counter", named counters
// lose their values line), so that two listings of the same ruleset
// compare equal whatever traffic passed.
func WithoutCounts(listing string) string {
	return namedCounterValues.ReplaceAllString(anonCounterValues.ReplaceAllString(listing, "counter"), "")
}

var elementsRE = regexp.MustCompile(`(?s)elements = \{(.*?)\}`)

// Canonical makes an `nft list table` listing comparable as data: counts
// removed (WithoutCounts), the table's blocks (sets, maps, chains,
// counters, limits) sorted by their text, and each block's elements
// sorted. Two listings of tables holding the same objects are equal
// whatever order the objects were added in (an incremental update adds
// new ones at the end).
func Canonical(listing string) string {
	var blocks []string
	var cur []string
	for _, line := range strings.Split(WithoutCounts(listing), "\n") {
		switch {
		case strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "\t\t") && strings.HasSuffix(line, "{"):
			cur = []string{line}
		case line == "\t}":
			cur = append(cur, line)
			blocks = append(blocks, sortElements(strings.Join(cur, "\n")))
			cur = nil
		case cur != nil:
			cur = append(cur, line)
		}
	}
	sort.Strings(blocks)
	return strings.Join(blocks, "\n")
}

func sortElements(block string) string {
	return elementsRE.ReplaceAllStringFunc(block, func(m string) string {
		inner := elementsRE.FindStringSubmatch(m)[1]
		var items []string
		for _, it := range strings.Split(inner, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		sort.Strings(items)
		return "elements = { " + strings.Join(items, ", ") + " }"
	})
}
