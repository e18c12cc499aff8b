package render

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
)

// Versioned names. Every set and every map but the interface maps is named
// by its base name, a "/" and a digest of its content:
// sel-web-v4/3fa9c2d1e0. A set whose elements change is another set, and
// the rules that look it up change with it; no set a rule looks up is
// ever changed in place.
//
// Why: a packet walks the rules of the generation that was current when
// it entered a base chain, but it looks sets up as they are at each
// lookup, and the kernel publishes an interval set's new elements (rbtree
// and pipapo alike) a moment after the commit's rules go live, one set
// after another. A set changed in place can so be seen with the other
// generation's rules, or one set's new elements with another's old ones:
// an address that moves from one denied set to another is in neither for
// that moment, and a compiled chain's old verdict map meets an address's
// new identity (TestIdentityChangeNeverOpens caught both, the second with
// a hash map). Named by content, a changed set is written whole before the
// rules that refer to it (the nft package writes what a change adds in a
// transaction ahead of the rest), and a packet's walk sees the sets its
// rules name, which do not change while anything can look them up.
//
// Node's rulesets carry versioned names; Compile works on base names and
// versions what it returns. Names built by render never hold a "/".

const (
	versionSep = "/"
	versionLen = 10
)

// BaseName is a set's or map's name without its version.
func BaseName(name string) string {
	if i := strings.LastIndex(name, versionSep); i >= 0 && len(name)-i-1 == versionLen {
		return name[:i]
	}
	return name
}

// Versioned is r with its interval sets and maps named by their content
// (r itself when they are), for a ruleset edited after Node or Compile;
// r is not changed (objects it shares with other rulesets are copied
// before a rename).
func Versioned(r *Ruleset) *Ruleset {
	return renamed(r, func(s *Set) string {
		return BaseName(s.Name) + versionSep + setDigest(s)
	}, func(m *Map) string {
		if m.Kind == MapIfname {
			return m.Name
		}
		return BaseName(m.Name) + versionSep + mapDigest(m)
	})
}

// withoutVersions is r with base names only.
func withoutVersions(r *Ruleset) *Ruleset {
	return renamed(r, func(s *Set) string { return BaseName(s.Name) }, func(m *Map) string { return BaseName(m.Name) })
}

// renamed is r with sets and maps renamed as setName and mapName say, and
// the rules that name them following.
func renamed(r *Ruleset, setName func(*Set) string, mapName func(*Map) string) *Ruleset {
	to := map[string]string{}
	out := *r
	out.Sets = make([]*Set, len(r.Sets))
	for i, s := range r.Sets {
		out.Sets[i] = s
		if n := setName(s); n != s.Name {
			cp := *s
			cp.Name = n
			out.Sets[i] = &cp
			to[s.Name] = n
		}
	}
	out.Maps = make([]*Map, len(r.Maps))
	for i, m := range r.Maps {
		out.Maps[i] = m
		if n := mapName(m); n != m.Name {
			cp := *m
			cp.Name = n
			out.Maps[i] = &cp
			to[m.Name] = n
		}
	}
	if len(to) == 0 {
		return r
	}
	slices.SortFunc(out.Sets, func(a, b *Set) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(out.Maps, func(a, b *Map) int { return strings.Compare(a.Name, b.Name) })
	out.Chains = make([]*Chain, len(r.Chains))
	for i, c := range r.Chains {
		out.Chains[i] = c
		if rules, ok := renameRefs(c.Rules, to); ok {
			cp := *c
			cp.Rules = rules
			out.Chains[i] = &cp
		}
	}
	return &out
}

// renameRefs is rules with the sets and maps they name renamed; ok is
// false (and rules untouched) when none is.
func renameRefs(rules []Rule, to map[string]string) ([]Rule, bool) {
	var out []Rule
	for i, r := range rules {
		nr, changed := renameRule(r, to)
		if !changed {
			continue
		}
		if out == nil {
			out = slices.Clone(rules)
		}
		out[i] = nr
	}
	return out, out != nil
}

func renameRule(r Rule, to map[string]string) (Rule, bool) {
	changed := false
	name := func(s string) string {
		if n, ok := to[s]; ok {
			changed = true
			return n
		}
		return s
	}
	var ms []Match
	for i, m := range r.Matches {
		var nm Match
		switch x := m.(type) {
		case MatchAddr:
			x.Set = name(x.Set)
			nm = x
		case MatchL4Proto:
			x.Set = name(x.Set)
			nm = x
		case MatchPort:
			x.Set = name(x.Set)
			nm = x
		case MatchAddrProtoPort:
			x.Set = name(x.Set)
			nm = x
		case MatchProtoPort:
			x.Set = name(x.Set)
			nm = x
		default:
			continue
		}
		if changed && ms == nil {
			ms = slices.Clone(r.Matches)
		}
		if ms != nil {
			ms[i] = nm
		}
	}
	if ms != nil {
		r.Matches = ms
	}
	if r.Verdict.Kind == VerdictVmap {
		r.Verdict.Map = name(r.Verdict.Map)
	}
	return r, changed
}

// setDigest and mapDigest are the versions: a digest of the elements.
func setDigest(s *Set) string {
	h := sha256.New()
	h.Write([]byte(string(s.Type) + "\x00"))
	var buf [20]byte
	for p := range s.Addrs.All() {
		a := p.Addr().As16()
		h.Write(a[:])
		h.Write([]byte{byte(p.Bits())})
	}
	for _, t := range s.Tuples {
		a := t.Addr.As16()
		copy(buf[:16], a[:])
		buf[16] = t.Proto
		binary.BigEndian.PutUint16(buf[17:], t.Port)
		h.Write(buf[:19])
	}
	for _, r := range s.Ports {
		binary.BigEndian.PutUint16(buf[0:], r.Lo)
		binary.BigEndian.PutUint16(buf[2:], r.Hi)
		h.Write(buf[:4])
	}
	if len(s.Protos) > 0 {
		h.Write([]byte{0xff}) // ports, then protocols
		h.Write(s.Protos)
	}
	return hex.EncodeToString(h.Sum(nil))[:versionLen]
}

func mapDigest(m *Map) string {
	h := sha256.New()
	var buf [46]byte
	for _, e := range m.Elements {
		lo, hi := e.Addrs.Lo.As16(), e.Addrs.Hi.As16()
		copy(buf[0:], lo[:])
		copy(buf[16:], hi[:])
		b := e.Box
		binary.BigEndian.PutUint32(buf[32:], b.IDLo)
		binary.BigEndian.PutUint32(buf[36:], b.IDHi)
		buf[40], buf[41] = b.ProtoLo, b.ProtoHi
		binary.BigEndian.PutUint16(buf[42:], b.Lo)
		binary.BigEndian.PutUint16(buf[44:], b.Hi)
		h.Write(buf[:])
		h.Write([]byte{byte(e.Verdict.Kind), byte(e.Addrs.Lo.BitLen())})
		h.Write([]byte(e.Key + "\x00" + e.Verdict.Chain + "\x00" + e.Comment + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))[:versionLen]
}
