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

// TestChangedMapIsNew: when an address joins a selector set (so moves to
// an identity that exists), the compiled form's address map is another
// map, named by its new content: the prepare transaction writes it whole;
// the commit that follows points the rules at it and deletes the old one,
// and changes no interval map's elements in place (render's version.go
// says why).
func TestChangedMapIsNew(t *testing.T) {
	// The pod's selector set of the small model is empty: 198.19.0.2 in
	// it before, 198.19.0.2 and 198.19.0.9 after.
	with := func(addrs ...string) *render.Ruleset {
		rs := renderSmall(t)
		rs.Sets = slices.Clone(rs.Sets)
		for i, s := range rs.Sets {
			if s.Type == render.SetIPv4 && strings.HasPrefix(s.Name, "sel-") {
				cp := *s
				for _, a := range addrs {
					cp.Prefixes = append(cp.Prefixes, netip.MustParsePrefix(a+"/32"))
				}
				rs.Sets[i] = &cp
				return rs
			}
		}
		t.Fatal("the small model has no IPv4 selector set")
		return nil
	}
	before, after := render.Compile(with("198.19.0.2")), render.Compile(with("198.19.0.2", "198.19.0.9"))
	ids := func(rs *render.Ruleset) string {
		for _, m := range rs.Maps {
			if render.BaseName(m.Name) == "ids-v4" {
				return m.Name
			}
		}
		t.Fatal("no ids-v4 map")
		return ""
	}
	oldName, newName := ids(before), ids(after)
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
	if d := cmp.Diff([]string{"set " + newName, "elements of set " + newName}, pre.what); d != "" {
		t.Errorf("prepare (-want +got):\n%s", d)
	}
	deleted := false
	for _, w := range b.what {
		switch {
		case strings.Contains(w, "elements of"):
			t.Errorf("the commit changes elements in place: %s", w)
		case strings.Contains(w, "@ids-v4") && !strings.Contains(w, "@"+newName+" "):
			t.Errorf("a rule of the commit names another address map: %s", w)
		case w == "delete set "+oldName:
			deleted = true
		}
	}
	if !deleted {
		t.Errorf("the commit does not delete %s: %q", oldName, b.what)
	}
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
