package selector

import (
	"errors"
	"testing"
)

// fuzzLabels are the fixed label sets original and re-parsed selectors are
// both matched against.
var fuzzLabels = []Map{
	nil,
	{},
	{"a": ""},
	{"a": "b"},
	{"a": "x", "c": "d", "e": "f"},
	{"a": "b", "b": "a", "c": "contains", "in": "in", "x": "'", "y": `"`},
	{"app": "app-42", "tier": "api", "env": "prod", "team": "t", "projectcalico.org/namespace": "kube-system"},
}

// FuzzParse checks that Parse never panics, that a parsed selector's
// canonical form re-parses to the same canonical form, and that the
// original and re-parsed selectors agree on every fixed label set.
func FuzzParse(f *testing.F) {
	for _, tc := range specCases {
		f.Add(tc.input)
	}
	f.Add(benchSelector)
	f.Add(`!(!has(a)) || a in {"x", 'y"', "x"} && b not in {} && c starts with ''`)
	f.Add(`a ends with "'" || !(b contains '"' && global()) || all()`)
	f.Fuzz(func(t *testing.T, in string) {
		sel, err := Parse(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Msg == "" || pe.Pos < 0 || pe.Pos > len(in) {
				t.Fatalf("Parse(%q): bad error %#v", in, err)
			}
			return
		}
		canon := sel.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not re-parse: %v", in, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("Parse(%q) = %s, re-parsed as %s", in, canon, again)
		}
		if sel.IsAll() != again.IsAll() || sel.UsesGlobal() != again.UsesGlobal() ||
			sel.IsExactlyGlobal() != again.IsExactlyGlobal() {
			t.Fatalf("Parse(%q): predicates differ after re-parse", in)
		}
		for _, l := range fuzzLabels {
			if sel.Matches(l) != again.Matches(l) {
				t.Fatalf("Parse(%q) = %s: Matches(%v) differs after re-parse", in, canon, l)
			}
		}
		if !slabsFit(in) {
			t.Fatalf("Parse(%q): slab capacity estimate exceeded", in)
		}
		if n := Not(Not(sel)); n.String() != canon {
			t.Fatalf("Not(Not(%s)) = %s", canon, n)
		}
	})
}

// slabsFit re-runs a successful parse and reports whether the node, operand
// and value slabs stayed within the capacities allocate computed (so that
// no parse reallocates them).
func slabsFit(in string) bool {
	toks, err := tokenize(in, nil)
	if err != nil {
		return false
	}
	p := parser{in: in, toks: toks}
	p.allocate()
	nc, kc, vc := cap(p.nodes), cap(p.kids), cap(p.vals)
	if _, err := p.parseRoot(); err != nil {
		return false
	}
	return cap(p.nodes) == nc && cap(p.kids) == kc && cap(p.vals) == vc
}
