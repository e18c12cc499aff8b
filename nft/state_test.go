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

// TestMapDelta: when an address joins a selector set (so moves to an
// identity that exists), the compiled form's address map changes by a
// few elements deleted and added (whole ranges), never by flushing and
// refilling the map, and nothing else changes.
func TestMapDelta(t *testing.T) {
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
	before, after := with("198.19.0.2"), with("198.19.0.2", "198.19.0.9")
	d, full := diffOf(render.Compile(before), render.Compile(after))
	if full {
		t.Fatal("the change asks for a full replace")
	}
	b := d.batch()
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
