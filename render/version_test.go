package render

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/internal/iplist"
	"github.com/palisade-net/palisade/policy"
)

// TestVersionedNames: in Node's and Compile's rulesets every set and map
// but the interface maps is named by its base name and the digest of its
// content, every set and map a rule names is there, and
// a set whose elements change gets another name (and so do the rules that
// look it up) while its base name stays.
func TestVersionedNames(t *testing.T) {
	checked := 0
	for seed := range 20 {
		m, err := policy.NewModel(genModel(uint64(seed)))
		if err != nil {
			t.Fatal(err)
		}
		lin, err := Node(m, genNode)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range []*Ruleset{lin, Compile(lin), NewCompiler().Compile(lin)} {
			checked += checkVersions(t, seed, rs)
		}
		if Versioned(lin) != lin {
			t.Errorf("seed %d: versioning a versioned ruleset renamed something", seed)
		}
		i := slices.IndexFunc(lin.Sets, func(s *Set) bool { return s.Type == SetIPv4 })
		if i < 0 {
			continue
		}
		changed := *lin
		changed.Sets = slices.Clone(lin.Sets)
		cp := *lin.Sets[i]
		cp.Addrs = iplist.Of(append(cp.Addrs.Prefixes(), netip.MustParsePrefix("198.18.77.7/32")))
		changed.Sets[i] = &cp
		again := Versioned(&changed)
		checkVersions(t, seed, again)
		if again.Set(lin.Sets[i].Name) != nil {
			t.Errorf("seed %d: %s kept its name with other elements", seed, lin.Sets[i].Name)
		}
		if ok := slices.ContainsFunc(again.Sets, func(s *Set) bool {
			return BaseName(s.Name) == BaseName(lin.Sets[i].Name) && s.Name != lin.Sets[i].Name
		}); !ok {
			t.Errorf("seed %d: no set with the base name of %s", seed, lin.Sets[i].Name)
		}
		if plain := withoutVersions(lin); slices.ContainsFunc(plain.Sets, func(s *Set) bool { return strings.Contains(s.Name, versionSep) }) {
			t.Errorf("seed %d: withoutVersions left a version", seed)
		}
	}
	if checked == 0 {
		t.Fatal("no versioned set or map")
	}
}

// checkVersions checks rs's names and references; it returns the number
// of versioned sets and maps.
func checkVersions(t *testing.T, seed int, rs *Ruleset) int {
	t.Helper()
	n := 0
	names := map[string]bool{}
	for _, s := range rs.Sets {
		names[s.Name] = true
		base := BaseName(s.Name)
		if strings.Contains(base, versionSep) {
			t.Errorf("seed %d: set %s: a base name with %q", seed, s.Name, versionSep)
		}
		want := base + versionSep + setDigest(s)
		n++
		if s.Name != want {
			t.Errorf("seed %d: set %s, want %s", seed, s.Name, want)
		}
	}
	for _, mp := range rs.Maps {
		names[mp.Name] = true
		want := mp.Name
		if mp.Kind != MapIfname {
			want, n = BaseName(mp.Name)+versionSep+mapDigest(mp), n+1
		}
		if mp.Name != want {
			t.Errorf("seed %d: map %s, want %s", seed, mp.Name, want)
		}
	}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			refs := ruleSets(r)
			if r.Verdict.Kind == VerdictVmap {
				refs = append(refs, r.Verdict.Map)
			}
			for _, ref := range refs {
				if ref != "" && !names[ref] {
					t.Errorf("seed %d: chain %s names %s, which is not there", seed, c.Name, ref)
				}
			}
		}
	}
	return n
}
