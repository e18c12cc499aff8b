package nft

import (
	"bufio"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/render"
)

// A whole-table replace keeps the table and its base chains: one
// transaction flushes every chain's rules, deletes every other object
// (chains, sets, maps, counters, the limit) and declares the new ruleset.
// Deleting and re-creating the table instead (Script) also unregisters and
// registers the base chains' hooks, and a new forwarded connection's first
// packet is then lost now and then (about one reload in ten on this
// kernel; TestWholeReplaceKeepsForwarding). Re-declaring a base chain
// changes its policy but not its comment, and the kernel refuses a new
// hook or priority: when a kept base chain's comment would differ, or the
// kernel refuses the transaction, the table is deleted and re-created,
// still in one transaction.

// tableObjects are the objects of a table: base chains with their
// comments, and the names of the other chains, sets, maps, counters and
// limits.
type tableObjects struct {
	base                                 map[string]string // base chain -> comment
	chains, sets, maps, counters, limits []string
	// comments are the comments of regular chains ("chain NAME"), sets
	// ("set NAME") and maps ("map NAME"), where known (nil from a text
	// listing).
	comments map[string]string
}

var (
	objectLine  = regexp.MustCompile(`^\t(chain|set|map|counter|limit) (\S+) \{$`)
	commentLine = regexp.MustCompile(`^\t\tcomment "(.*)"$`)
)

// parseObjects reads the objects of a terse listing (`nft -t list table`).
func parseObjects(listing string) tableObjects {
	o := tableObjects{base: map[string]string{}}
	var kind, name, comment string
	isBase := false
	flush := func() {
		switch kind {
		case "chain":
			if isBase {
				o.base[name] = comment
			} else {
				o.chains = append(o.chains, name)
			}
		case "set":
			o.sets = append(o.sets, name)
		case "map":
			o.maps = append(o.maps, name)
		case "counter":
			o.counters = append(o.counters, name)
		case "limit":
			o.limits = append(o.limits, name)
		}
		kind, name, comment, isBase = "", "", "", false
	}
	sc := bufio.NewScanner(strings.NewReader(listing))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		if m := objectLine.FindStringSubmatch(line); m != nil {
			flush()
			kind, name = m[1], m[2]
			continue
		}
		if kind == "" {
			continue
		}
		if m := commentLine.FindStringSubmatch(line); m != nil && comment == "" {
			comment = m[1]
		}
		if kind == "chain" && strings.HasPrefix(line, "\t\ttype ") && strings.Contains(line, " hook ") {
			isBase = true
		}
	}
	flush()
	return o
}

// objectsOf are the objects of a ruleset.
func objectsOf(rs *render.Ruleset) tableObjects {
	o := tableObjects{base: map[string]string{}, comments: map[string]string{}}
	for _, c := range rs.Chains {
		if c.Base != nil {
			o.base[c.Name] = c.Comment
		} else {
			o.chains = append(o.chains, c.Name)
			o.comments["chain "+c.Name] = render.CommentText(c.Comment)
		}
	}
	for _, s := range rs.Sets {
		o.sets = append(o.sets, s.Name)
		o.comments["set "+s.Name] = render.CommentText(s.Comment)
	}
	for _, m := range rs.Maps {
		o.maps = append(o.maps, m.Name)
		o.comments["map "+m.Name] = render.CommentText(m.Comment)
	}
	for _, c := range rs.Counters {
		o.counters = append(o.counters, c.Name)
	}
	if rs.FlowLog != nil {
		o.limits = append(o.limits, render.FlowLogLimitName)
	}
	return o
}

// baseCommentChanges reports whether a base chain kept from have to want
// would change its comment, which the kernel keeps when a chain is
// declared again: such a replace must delete and re-create the table.
func (have tableObjects) baseCommentChanges(want tableObjects) bool {
	for name, c := range want.base {
		if old, ok := have.base[name]; ok && old != c {
			return true
		}
	}
	return false
}

// kept are the regular chains, sets and maps ("chain NAME", "set NAME",
// "map NAME") that both have and want hold with the same comment: an
// in-place replace keeps them, flushed and filled again, rather than
// deleting and declaring them again.
func (have tableObjects) kept(want tableObjects) map[string]bool {
	out := map[string]bool{}
	for k, c := range want.comments {
		if old, ok := have.comments[k]; ok && old == c {
			out[k] = true
		}
	}
	return out
}

// goneBase are have's base chains that want lacks, by name.
func (have tableObjects) goneBase(want tableObjects) []string {
	var out []string
	for name := range have.base {
		if _, ok := want.base[name]; !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// inPlaceScript replaces a table holding have with text (a ruleset whose
// objects are want), keeping the table and its base chains; "" when a kept
// base chain's comment would change (the kernel would keep the old one).
func inPlaceScript(have, want tableObjects, text string) string {
	if have.baseCommentChanges(want) {
		return ""
	}
	var b strings.Builder
	t := render.TableFamily + " " + render.TableName
	fmt.Fprintf(&b, "flush table %s\n", t)
	// Nothing refers to them once the rules are gone: maps (whose
	// elements name chains) first, then the chains they named.
	for _, x := range []struct {
		kind  string
		names []string
	}{{"map", have.maps}, {"set", have.sets}, {"counter", have.counters}, {"limit", have.limits}, {"chain", have.chains}} {
		for _, name := range x.names {
			fmt.Fprintf(&b, "delete %s %s %s\n", x.kind, t, name)
		}
	}
	for _, name := range have.goneBase(want) {
		fmt.Fprintf(&b, "delete chain %s %s\n", t, name)
	}
	writeTable(&b, text)
	return b.String()
}

// replaceInPlace replaces the table's content keeping the table and its
// base chains; false when there is no table yet, a base chain's comment
// changes, or the kernel refused it (the caller then deletes and
// re-creates the table).
func (k *Kernel) replaceInPlace(ctx context.Context, rs *render.Ruleset, text string) bool {
	var have tableObjects
	if k.last != nil {
		have = objectsOf(k.last)
	} else {
		out, _, err := k.run(ctx, "", "-t", "list", "table", render.TableFamily, render.TableName)
		if err != nil {
			return false // no table (or unreadable): create it
		}
		have = parseObjects(out)
	}
	script := inPlaceScript(have, objectsOf(rs), text)
	if script == "" {
		return false
	}
	if _, _, err := k.run(ctx, script, "-f", "-"); err != nil {
		k.stats.inPlaceRefused++
		return false
	}
	k.stats.inPlace++
	return true
}
