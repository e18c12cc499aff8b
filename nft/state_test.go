package nft

import (
	"bytes"
	"encoding/gob"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/render"
)

// TestStateRoundTrip: the state file keeps a ruleset, linear or compiled
// (interval address maps, identity boxes), as it was.
func TestStateRoundTrip(t *testing.T) {
	for name, rs := range map[string]*render.Ruleset{"linear": renderSmall(t), "compiled": render.Compile(renderSmall(t))} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			if err := SaveState(path, State{Ruleset: rs, Digest: "d"}); err != nil {
				t.Fatal(err)
			}
			got, err := LoadState(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(rs.Text(), got.Ruleset.Text()); d != "" {
				t.Errorf("ruleset after the round trip (-saved +loaded):\n%s", d)
			}
			if name == "compiled" && len(got.Ruleset.Maps) == len(renderSmall(t).Maps) {
				t.Errorf("the compiled ruleset has no maps of its own")
			}
		})
	}
}

// TestStateOfAnotherFormat: a state an older palisade saved (no format,
// address sets as netip.Prefix slices) is refused, so the agent replaces
// the table rather than adopt a ruleset read with empty sets.
func TestStateOfAnotherFormat(t *testing.T) {
	type oldSet struct {
		Name     string
		Type     render.SetType
		Prefixes []netip.Prefix
	}
	type oldRuleset struct{ Sets []*oldSet }
	type oldState struct {
		Ruleset *oldRuleset
		Digest  string
	}
	var b bytes.Buffer
	old := oldState{&oldRuleset{[]*oldSet{{"sel-a-v4", render.SetIPv4, []netip.Prefix{netip.MustParsePrefix("198.18.0.1/32")}}}}, "d"}
	if err := gob.NewEncoder(&b).Encode(old); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadState(path); err == nil || !strings.Contains(err.Error(), "another version") {
		t.Fatalf("an old state loaded: %+v, %v", s, err)
	}
}

// TestChangedMapIsNew: when an endpoint's address joins a selector set,
// the compiled form's map of single addresses (ids-host-v4) is another
// map, named by its new content, and the interval address map (ids-v4)
// stays; when a range of more than one address joins it, ids-v4 is
// another map. Either way the prepare transaction writes the new map
// whole, the commit that follows points the rules at it and changes no
// set's or map's elements in place (render's version.go says why), and
// the cleanup deletes the old one.
func TestChangedMapIsNew(t *testing.T) {
	// The pod's selector set of the small model is empty: 198.19.0.2 in
	// it before, and 198.19.0.9 or 198.19.8.0/24 with it after.
	with := func(members ...string) *render.Ruleset {
		rs := renderSmall(t)
		rs.Sets = slices.Clone(rs.Sets)
		for i, s := range rs.Sets {
			if s.Type == render.SetIPv4 && strings.HasPrefix(s.Name, "sel-") {
				cp := *s
				ps := cp.Addrs.Prefixes()
				for _, m := range members {
					ps = append(ps, netip.MustParsePrefix(m))
				}
				cp.Addrs = iplist.Of(ps)
				rs.Sets[i] = &cp
				return render.Compile(rs)
			}
		}
		t.Fatal("the small model has no IPv4 selector set")
		return nil
	}
	before := with("198.19.0.2/32")
	mapNamed := func(rs *render.Ruleset, base string) string {
		for _, m := range rs.Maps {
			if render.BaseName(m.Name) == base {
				return m.Name
			}
		}
		t.Fatalf("no map %s", base)
		return ""
	}
	for _, tc := range []struct {
		name, member, changes, stays string
	}{
		{"endpoint", "198.19.0.9/32", "ids-host-v4", "ids-v4"},
		{"range", "198.19.8.0/24", "ids-v4", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := with("198.19.0.2/32", tc.member)
			if tc.stays != "" && mapNamed(before, tc.stays) != mapNamed(after, tc.stays) {
				t.Errorf("%s changed", tc.stays)
			}
			oldName, newName := mapNamed(before, tc.changes), mapNamed(after, tc.changes)
			if oldName == newName {
				t.Fatalf("the address map kept its name %s", oldName)
			}
			d, full := diffOf(before, after)
			if full {
				t.Fatal("the change asks for a full replace")
			}
			pre, b, post := d.prepare(), d.commit(), d.cleanup()
			if pre.err != nil || b.err != nil || post.err != nil {
				t.Fatal(pre.err, b.err, post.err)
			}
			if !slices.Contains(pre.what, "elements of set "+newName) {
				t.Errorf("prepare does not write %s: %q", newName, pre.what)
			}
			for _, w := range b.what {
				switch {
				case strings.Contains(w, "elements of set") && !strings.HasSuffix(w, "__set%d"):
					// (anonymous sets are declared with the rules that hold them)
					t.Errorf("the commit changes elements in place: %s", w)
				case strings.Contains(w, "@"+tc.changes) && !strings.Contains(w, "@"+newName+" "):
					t.Errorf("a rule of the commit names another address map: %s", w)
				case strings.HasPrefix(w, "delete"):
					t.Errorf("the commit deletes: %s", w)
				}
			}
			if !slices.Contains(post.what, "delete set "+oldName) {
				t.Errorf("the cleanup does not delete %s: %q", oldName, post.what)
			}
		})
	}
}

// TestMapDelta: a map that keeps its name (an interface map; another map
// only if two contents shared a digest) changes by the elements that went
// and came, an address range deleted or added whole (start and end), and
// nothing else.
func TestMapDelta(t *testing.T) {
	a := netip.MustParseAddr
	el := func(lo, hi, chain string) render.MapElement {
		return render.MapElement{Addrs: render.AddrRange{Lo: a(lo), Hi: a(hi)}, Verdict: render.Jump(chain)}
	}
	o := &render.Map{Name: "ids-v4", Kind: render.MapIPv4, Elements: []render.MapElement{
		el("0.0.0.0", "198.19.0.1", "id-1"), el("198.19.0.2", "198.19.0.2", "id-2"), el("198.19.0.3", "198.19.0.255", "id-1"),
		el("198.19.1.0", "255.255.255.255", "id-3")}}
	m := &render.Map{Name: "ids-v4", Kind: render.MapIPv4, Elements: []render.MapElement{
		el("0.0.0.0", "198.19.0.1", "id-1"), el("198.19.0.2", "198.19.0.2", "id-2"), el("198.19.0.3", "198.19.0.8", "id-1"),
		el("198.19.0.9", "198.19.0.9", "id-2"), el("198.19.0.10", "198.19.0.255", "id-1"), el("198.19.1.0", "255.255.255.255", "id-3")}}
	d := &differ{}
	d.mapDelta(o, m)
	b := d.commit()
	if b.err != nil {
		t.Fatal(b.err)
	}
	if d := cmp.Diff([]string{"deleting elements of set ids-v4", "elements of set ids-v4"}, b.what); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
	// The range that held 198.19.0.9 (198.19.0.3-198.19.0.255) goes: its
	// start and its end (198.19.1.0) deleted; three come in its place,
	// each a start and an end: 198.19.0.3, 198.19.0.9 (end and start),
	// 198.19.0.10 (end and start), 198.19.1.0.
	for i, want := range []int{1, 5} {
		if n := strings.Count(string(b.msgs[i].Data), "\xc6\x13\x00"); n != want {
			t.Errorf("%s: %d in 198.19.0.0/24, want %d", b.what[i], n, want)
		}
		if n := strings.Count(string(b.msgs[i].Data), "\xc6\x13\x01\x00"); n != 1 {
			t.Errorf("%s: 198.19.1.0 %d times, want once", b.what[i], n)
		}
	}
}

// TestSetChangeWithoutMaps: a change that deletes no map (a linear
// selector set gaining a member) deletes what goes in its commit, with no
// cleanup transaction and so no grace period: a plain set deleted in the
// commit still answers packets walking the old rules.
func TestSetChangeWithoutMaps(t *testing.T) {
	before := renderSmall(t)
	after := *before
	after.Sets = slices.Clone(before.Sets)
	i := slices.IndexFunc(after.Sets, func(s *render.Set) bool {
		return s.Type == render.SetIPv4 && strings.HasPrefix(s.Name, "sel-")
	})
	if i < 0 {
		t.Fatal("the small model has no IPv4 selector set")
	}
	cp := *after.Sets[i]
	cp.Addrs = iplist.Of(append(cp.Addrs.Prefixes(), netip.MustParsePrefix("198.19.0.9/32")))
	after.Sets[i] = &cp
	next := render.Versioned(&after)
	d, full := diffOf(before, next)
	if full {
		t.Fatal("the change asks for a full replace")
	}
	pre, b, post := d.prepare(), d.commit(), d.cleanup()
	if len(post.msgs) != 0 {
		t.Errorf("a cleanup without a map going: %q", post.what)
	}
	if !slices.ContainsFunc(pre.what, func(w string) bool { return strings.HasPrefix(w, "set "+render.BaseName(before.Sets[i].Name)+"/") }) {
		t.Errorf("prepare does not write the set's new version: %q", pre.what)
	}
	if !slices.Contains(b.what, "delete set "+before.Sets[i].Name) {
		t.Errorf("the commit does not delete %s: %q", before.Sets[i].Name, b.what)
	}
}
