package selector

import (
	"strings"
	"testing"
)

// reparses checks that s.String() parses back to the same canonical text.
func reparses(t *testing.T, s *Selector) {
	t.Helper()
	again, err := Parse(s.String())
	if err != nil || again.String() != s.String() {
		t.Errorf("canonical %s re-parses to %v, %v", s, again, err)
	}
}

func TestAnd(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{`a == 'b'`, `has(c)`, `(a == "b" && has(c))`},
		{`x == "1" && y == "2"`, `z == "3"`, `((x == "1" && y == "2") && z == "3")`},
		{`x == "1" || y == "2"`, `!has(z)`, `((x == "1" || y == "2") && !has(z))`},
		{``, `has(a)`, `(all() && has(a))`},
		{`global()`, `has(a)`, `(global() && has(a))`},
	} {
		a, b := MustParse(tc.a), MustParse(tc.b)
		got := And(a, b)
		if got.String() != tc.want {
			t.Errorf("And(%s, %s) = %s, want %s", a, b, got, tc.want)
		}
		viaText := MustParse("(" + a.String() + ") && (" + b.String() + ")")
		if viaText.String() != got.String() {
			t.Errorf("And(%s, %s) = %s, parsing the text gives %s", a, b, got, viaText)
		}
		if got.UsesGlobal() != (a.UsesGlobal() || b.UsesGlobal()) {
			t.Errorf("And(%s, %s).UsesGlobal() = %v", a, b, got.UsesGlobal())
		}
		reparses(t, got)
	}
	// The operands are not modified.
	a := MustParse(`a == "b"`)
	_ = And(a, MustParse("has(c)"))
	if a.String() != `a == "b"` || a.Root().Op() != OpEq {
		t.Error("And modified its operand")
	}
}

func TestNot(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a == 'b'`, `!a == "b"`},
		{`!has(a)`, `has(a)`},
		{`a == "b" && c == "d"`, `!(a == "b" && c == "d")`},
		{``, `!all()`},
	} {
		s := MustParse(tc.in)
		got := Not(s)
		if got.String() != tc.want {
			t.Errorf("Not(%s) = %s, want %s", s, got, tc.want)
		}
		if via := MustParse("!(" + s.String() + ")"); via.String() != got.String() {
			t.Errorf("Not(%s) = %s, parsing the text gives %s", s, got, via)
		}
		if Not(got).String() != s.String() {
			t.Errorf("Not(Not(%s)) = %s", s, Not(got))
		}
		reparses(t, got)
	}
}

func TestRewrite(t *testing.T) {
	prefix := func(k string) string { return "pcns." + k }
	for _, tc := range []struct{ in, want string }{
		{`team == 'a'`, `pcns.team == "a"`},
		{``, `all()`},
		{`has(x) && !(y in {"b", "a"} || z != "q") && all()`,
			`(has(pcns.x) && !(pcns.y in {"a", "b"} || pcns.z != "q") && all())`},
		{`a contains "1" || a starts with "2" || a ends with "3" || a not in {}`,
			`(pcns.a contains "1" || pcns.a starts with "2" || pcns.a ends with "3" || pcns.a not in {})`},
	} {
		s := MustParse(tc.in)
		got := Rewrite(s, prefix)
		if got.String() != tc.want {
			t.Errorf("Rewrite(%s) = %s, want %s", s, got, tc.want)
		}
		if s.String() != MustParse(tc.in).String() {
			t.Errorf("Rewrite modified its input: %s", s)
		}
		for _, k := range got.LabelKeys() {
			if !strings.HasPrefix(k, "pcns.") {
				t.Errorf("Rewrite(%s).LabelKeys() contains %q", s, k)
			}
		}
		reparses(t, got)
	}
	s := Rewrite(MustParse(`a == "x"`), prefix)
	if !s.Matches(Map{"pcns.a": "x"}) || s.Matches(Map{"a": "x"}) {
		t.Error("rewritten selector matches the wrong keys")
	}
}

func TestReplaceAll(t *testing.T) {
	ns := MustParse("has(projectcalico.org/namespace)")
	for _, tc := range []struct{ in, with, want string }{
		{``, `has(projectcalico.org/namespace)`, `has(projectcalico.org/namespace)`},
		{`all()`, `has(projectcalico.org/namespace)`, `has(projectcalico.org/namespace)`},
		{`team == "a"`, `has(projectcalico.org/namespace)`, `team == "a"`},
		{`all() && a == "b"`, `has(projectcalico.org/namespace)`, `(has(projectcalico.org/namespace) && a == "b")`},
		{`!all() || (all())`, `has(n)`, `(!has(n) || has(n))`},
		{`!all()`, `!has(n)`, `has(n)`},
		{`all() && c == "d"`, `a == "1" && b == "2"`, `((a == "1" && b == "2") && c == "d")`},
		{`all()`, `global()`, `global()`},
	} {
		s := MustParse(tc.in)
		got := ReplaceAll(s, MustParse(tc.with))
		if got.String() != tc.want {
			t.Errorf("ReplaceAll(%s, %s) = %s, want %s", s, tc.with, got, tc.want)
		}
		reparses(t, got)
	}
	g := ReplaceAll(MustParse("all()"), MustParse("global()"))
	if !g.IsExactlyGlobal() || !g.UsesGlobal() || g.IsAll() {
		t.Error("ReplaceAll predicates not recomputed")
	}
	if got := ReplaceAll(MustParse(""), ns); !got.Matches(Map{"projectcalico.org/namespace": "x"}) || got.Matches(Map{}) {
		t.Error("ReplaceAll result matches wrongly")
	}
}
