package nft

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// TestChangedMapIsNew: when an endpoint's address joins a selector set,
// the compiled form's map of single addresses changes in place (a hash
// map: the kernel publishes its elements with the commit), and nothing
// else changes; when a range of more than one address joins it, the
// interval address map is another map, named by its new content: the
// prepare transaction writes it whole, and the commit that follows points
// the rules at it, deletes the old one and changes no interval map's
// elements in place (render's version.go says why).
func TestChangedMapIsNew(t *testing.T) {
	// The pod's selector set of the small model is empty: 198.19.0.2 in
	// it before, and 198.19.0.9 or 198.19.8.0/24 with it after.
	with := func(members ...string) *render.Ruleset {
		rs := renderSmall(t)
		rs.Sets = slices.Clone(rs.Sets)
		for i, s := range rs.Sets {
			if s.Type == render.SetIPv4 && strings.HasPrefix(s.Name, "sel-") {
				cp := *s
				for _, m := range members {
					cp.Prefixes = append(cp.Prefixes, netip.MustParsePrefix(m))
				}
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
	t.Run("endpoint", func(t *testing.T) {
		after := with("198.19.0.2/32", "198.19.0.9/32")
		if mapNamed(before, "ids-v4") != mapNamed(after, "ids-v4") {
			t.Errorf("the interval address map changed for an endpoint's address")
		}
		d, full := diffOf(before, after)
		if full {
			t.Fatal("the change asks for a full replace")
		}
		pre, b := d.prepare(), d.commit()
		if len(pre.msgs) != 0 {
			t.Errorf("prepare writes %q", pre.what)
		}
		if d := cmp.Diff([]string{"elements of set ids-host-v4"}, b.what); d != "" {
			t.Errorf("commit (-want +got):\n%s", d)
		}
	})
	t.Run("range", func(t *testing.T) {
		after := with("198.19.0.2/32", "198.19.8.0/24")
		oldName, newName := mapNamed(before, "ids-v4"), mapNamed(after, "ids-v4")
		if oldName == newName {
			t.Fatalf("the address map kept its name %s", oldName)
		}
		d, full := diffOf(before, after)
		if full {
			t.Fatal("the change asks for a full replace")
		}
		pre, b := d.prepare(), d.commit()
		if pre.err != nil || b.err != nil {
			t.Fatal(pre.err, b.err)
		}
		if !slices.Contains(pre.what, "elements of set "+newName) {
			t.Errorf("prepare does not write %s: %q", newName, pre.what)
		}
		deleted := false
		for _, w := range b.what {
			switch {
			case strings.Contains(w, "elements of set") && !strings.HasSuffix(w, "ids-host-v4") && !strings.HasSuffix(w, "__set%d"):
				// (anonymous sets are declared with the rules that hold them)
				t.Errorf("the commit changes an interval map's elements in place: %s", w)
			case strings.Contains(w, "@ids-v4") && !strings.Contains(w, "@"+newName+" "):
				t.Errorf("a rule of the commit names another address map: %s", w)
			case w == "delete set "+oldName:
				deleted = true
			}
		}
		if !deleted {
			t.Errorf("the commit does not delete %s: %q", oldName, b.what)
		}
	})
}

// TestMapDelta: a map that keeps its name (an interface map; an interval
// map only if two contents shared a digest) changes by the elements that
// went and came, an address range deleted or added whole (start and end),
// and nothing else.
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
