package selector

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSpecExamples(t *testing.T) {
	rows := map[int]bool{}
	for _, tc := range specCases {
		rows[tc.row] = true
		t.Run(fmt.Sprintf("row%02d", tc.row), func(t *testing.T) {
			checkParse(t, tc.input, tc.want, tc.err)
		})
	}
	if len(rows) != 59 {
		t.Errorf("table covers %d rows of §4.5, want 59", len(rows))
	}
}

// checkParse parses input and compares with the expected canonical form or
// error substring; a successful parse must also be stable under re-parsing.
func checkParse(t *testing.T, input, want, wantErr string) {
	t.Helper()
	sel, err := Parse(input)
	if wantErr != "" {
		var pe *ParseError
		switch {
		case err == nil:
			t.Fatalf("Parse(%q) = %s, want error containing %q", input, sel, wantErr)
		case !errors.As(err, &pe):
			t.Fatalf("Parse(%q) error %T, want *ParseError", input, err)
		case !strings.Contains(err.Error(), wantErr):
			t.Fatalf("Parse(%q) error %q, want it to contain %q", input, err, wantErr)
		case pe.Input != input || pe.Pos < 0 || pe.Pos > len(input):
			t.Fatalf("Parse(%q) error has Input %q Pos %d", input, pe.Input, pe.Pos)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse(%q) error %v, want %s", input, err, want)
	}
	if got := sel.String(); got != want {
		t.Fatalf("Parse(%q).String() = %s, want %s", input, got, want)
	}
	again, err := Parse(want)
	if err != nil || again.String() != want {
		t.Fatalf("re-parse of %s = %v, %v", want, again, err)
	}
	if !slabsFit(input) {
		t.Fatalf("Parse(%q) outgrew its slabs", input)
	}
}

// moreParseCases covers lexical and syntactic corners beyond the §4.5 table.
var moreParseCases = []struct{ in, want, err string }{
	// Whitespace, quoting.
	{in: "\ta\t==\t'b'\t", want: `a == "b"`},
	{in: `a == "x y\tz"`, want: `a == "x y\tz"`},
	{in: "a == \"line\nbreak\"", want: "a == \"line\nbreak\""},
	{in: `a == "'"`, want: `a == "'"`},
	{in: `a == '"'`, want: `a == '"'`},
	{in: `a in {'"', "'", ''}`, want: `a in {"", '"', "'"}`},
	{in: `a == 'b`, err: "unterminated string"},
	{in: "\n", err: "expected identifier"},
	{in: "a == \"b\"\r", err: "expected identifier"},
	{in: "a\n", err: `expected operator after label "a"`},
	{in: `a == "é"`, want: `a == "é"`},
	{in: `é == "x"`, err: "expected identifier"},
	{in: `a:b == "x"`, err: `expected operator after label "a"`},
	// Labels.
	{in: `a..b == "x"`, want: `a..b == "x"`},
	{in: `-x == "y"`, want: `-x == "y"`},
	{in: `123 == "y"`, want: `123 == "y"`},
	{in: strings.Repeat("k", MaxLabelLength) + ` == "x"`, want: strings.Repeat("k", MaxLabelLength) + ` == "x"`},
	{in: "has(" + longLabel + ")", err: "label too long: "},
	{in: `has( a b)`, err: "no closing ')' after has("},
	{in: `has(%)`, err: "expected identifier"},
	{in: `has(`, err: "expected identifier"},
	{in: `global(x)`, err: "no closing ')' after global("},
	{in: `global(`, err: "no closing ')' after global("},
	{in: `all(`, err: "no closing ')' after all("},
	{in: `has (a)`, err: "expected == or != not: TokLParen()"},
	{in: `hasx == "y"`, want: `hasx == "y"`},
	{in: `all == "y"`, want: `all == "y"`},
	{in: `in in {"in"}`, want: `in in {"in"}`},
	{in: `not not in {"x"}`, want: `not not in {"x"}`},
	// Keyword operators.
	{in: `a contains"x"`, want: `a contains "x"`},
	{in: `a containsx "x"`, err: `expected operator after label "a"`},
	{in: `a endswith 'x'`, want: `a ends with "x"`},
	{in: "a ends\t\twith 'x'", want: `a ends with "x"`},
	{in: `a ends 'x'`, err: `expected operator after label "a"`},
	{in: `a starts with x`, err: `expected operator after label "a"`},
	{in: `a not in x`, err: `expected operator after label "a"`},
	{in: `a contains x`, err: "expected string"},
	{in: `a in x`, err: "expected set literal"},
	{in: `a in{"x"}`, want: `a in {"x"}`},
	{in: `a not in{}`, want: `a not in {}`},
	{in: `a Contains "x"`, err: `expected operator after label "a"`},
	{in: `a in`, err: "expected set literal"},
	{in: `a in {`, err: "expected }"},
	{in: `a in {"x",,}`, err: "expected }"},
	{in: `a in {,}`, err: "expected }"},
	{in: `a starts with`, err: "expected string"},
	{in: `a ==`, err: "expected string"},
	{in: `a "b"`, err: "expected == or != not: TokStringLiteral(b)"},
	{in: `a !has(b)`, err: "expected == or != not: TokNot()"},
	{in: `a ! = "b"`, err: "expected =="},
	{in: `a !== "b"`, err: "expected =="},
	// Structure and precedence.
	{in: `a == "1" && b == "2" && c == "3"`, want: `(a == "1" && b == "2" && c == "3")`},
	{in: `a == "1" || b == "2" || c == "3"`, want: `(a == "1" || b == "2" || c == "3")`},
	{in: `(a == "1" && b == "2") && c == "3"`, want: `((a == "1" && b == "2") && c == "3")`},
	{in: `a == "1" && (b == "2" && c == "3")`, want: `(a == "1" && (b == "2" && c == "3"))`},
	{in: `((((has(a)))))`, want: `has(a)`},
	{in: `!has(a) && !!has(b) || !!!has(c)`, want: `((!has(a) && has(b)) || !has(c))`},
	{in: `!(!has(a))`, want: `has(a)`},
	{in: `!(!(a == "b" || c == "d"))`, want: `(a == "b" || c == "d")`},
	{in: `!!(a == "b" || c == "d")`, want: `(a == "b" || c == "d")`},
	{in: `!all()`, want: `!all()`},
	{in: `all() || global()`, want: `(all() || global())`},
	{in: `has(a) has(b)`, err: "unexpected content at end of selector [TokHas(b) TokEOF()]"},
	{in: `has(a) b`, err: "unexpected content at end of selector [TokLabel(b) TokEOF()]"},
	{in: `(has(a)))`, err: "unexpected content at end of selector [TokRParen() TokEOF()]"},
	{in: `has(a) &&& has(b)`, err: "expected &&"},
	{in: `has(a) && || has(b)`, err: "unexpected token: TokOr()"},
	{in: `&& has(b)`, err: "unexpected token: TokAnd()"},
	{in: `(`, err: "unexpected token: TokEOF()"},
	{in: `(has(a) b`, err: "expected )"},
	{in: `!= "x"`, err: "unexpected token: TokNe()"},
	{in: `{}`, err: "unexpected token: TokLBrace()"},
	// Lexical errors win over earlier syntax errors (whole input is
	// tokenized first).
	{in: `) "abc`, err: "unterminated string"},
	{in: `a == b c`, err: `expected operator after label "b"`},
	{in: `() a = "b"`, err: "expected =="},
}

func TestParseMore(t *testing.T) {
	for _, tc := range moreParseCases {
		t.Run(tc.in, func(t *testing.T) { checkParse(t, tc.in, tc.want, tc.err) })
	}
}

func TestParseErrorDetails(t *testing.T) {
	for _, tc := range []struct {
		in  string
		pos int
	}{
		{`a = "b"`, 2},
		{`a == "b" && c == d`, 17},
		{`"abc`, 0},
		{`has(a`, 5},
		{`a == "b")`, 8},
		{`x in {"a" "b"}`, 10},
		{`a b`, 2},
		{`a`, 1},
	} {
		_, err := Parse(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q) error %v, want *ParseError", tc.in, err)
		}
		if pe.Pos != tc.pos || pe.Input != tc.in || pe.Error() != pe.Msg {
			t.Errorf("Parse(%q) = %+v, want Pos %d", tc.in, *pe, tc.pos)
		}
	}
	if err := Validate(`a == "b"`); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := Validate(`a ==`); err == nil {
		t.Error("Validate(`a ==`) = nil")
	}
}

func TestNestingLimit(t *testing.T) {
	ok := strings.Repeat("(", maxDepth) + "has(a)" + strings.Repeat(")", maxDepth)
	if _, err := Parse(ok); err != nil {
		t.Fatalf("depth %d: %v", maxDepth, err)
	}
	deep := "(" + ok + ")"
	if _, err := Parse(deep); err == nil || !strings.Contains(err.Error(), msgTooDeep) {
		t.Fatalf("depth %d: err %v", maxDepth+1, err)
	}
	// Long flat lists and long ! runs are not nesting.
	flat := strings.Repeat("has(a) && ", 5000) + strings.Repeat("!", 5001) + "has(b)"
	sel, err := Parse(flat)
	if err != nil || sel.Root().NumOperands() != 5001 {
		t.Fatalf("flat: %v", err)
	}
}

func TestMustParse(t *testing.T) {
	if got := MustParse(`a=="b"`).String(); got != `a == "b"` {
		t.Errorf("MustParse = %s", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "expected ==") {
			t.Errorf("MustParse of bad input: recovered %v", r)
		}
	}()
	MustParse(`a = "b"`)
}

func TestPredicates(t *testing.T) {
	for _, tc := range []struct {
		in                          string
		all, usesGlobal, exactlyGlb bool
		keys                        []string
	}{
		{in: "", all: true},
		{in: " all() ", all: true},
		{in: "(all())", all: true},
		{in: "!!all()", all: true},
		{in: "!all()"},
		{in: "all() && all()"},
		{in: "global()", usesGlobal: true, exactlyGlb: true},
		{in: "(global())", usesGlobal: true, exactlyGlb: true},
		{in: `a == "b" && global()`, usesGlobal: true, keys: []string{"a"}},
		{in: `!(x in {"1"} || global())`, usesGlobal: true, keys: []string{"x"}},
		{in: `has(b) && a == "x" || !b != "y" && c not in {} && a contains "q"`, keys: []string{"a", "b", "c"}},
		{in: `z starts with "a" || y ends with "b" || x in {"c"}`, keys: []string{"x", "y", "z"}},
	} {
		s := MustParse(tc.in)
		if s.IsAll() != tc.all || s.UsesGlobal() != tc.usesGlobal || s.IsExactlyGlobal() != tc.exactlyGlb {
			t.Errorf("%q: IsAll %v UsesGlobal %v IsExactlyGlobal %v", tc.in, s.IsAll(), s.UsesGlobal(), s.IsExactlyGlobal())
		}
		if got := s.LabelKeys(); !slices.Equal(got, tc.keys) {
			t.Errorf("%q: LabelKeys = %q, want %q", tc.in, got, tc.keys)
		}
	}
}

func TestNodeAccessors(t *testing.T) {
	s := MustParse(`!(a in {"y", "x"} || b == 'v') && has(c)`)
	root := s.Root()
	if root.Op() != OpAnd || root.NumOperands() != 2 {
		t.Fatalf("root = %v/%d", root.Op(), root.NumOperands())
	}
	not := root.Operand(0)
	if not.Op() != OpNot || not.String() != `!(a in {"x", "y"} || b == "v")` {
		t.Fatalf("not = %s", not)
	}
	set := not.Operand(0).Operand(0)
	vals := set.Values()
	if set.Op() != OpIn || set.Key() != "a" || !slices.Equal(vals, []string{"x", "y"}) {
		t.Fatalf("set = %s", set)
	}
	vals[0] = "mutated"
	if s.String() != `(!(a in {"x", "y"} || b == "v") && has(c))` {
		t.Fatalf("Values() exposed internal state: %s", s)
	}
	eq := not.Operand(0).Operand(1)
	if eq.Op() != OpEq || eq.Key() != "b" || eq.Value() != "v" {
		t.Fatalf("eq = %s", eq)
	}
	var ops []string
	root.Walk(func(n *Node) bool {
		ops = append(ops, n.Op().String())
		return n.Op() != OpNot
	})
	if want := []string{"&&", "!", "has()"}; !slices.Equal(ops, want) {
		t.Errorf("Walk visited %q, want %q", ops, want)
	}
	if Op(0).String() != "Op(?)" || OpStartsWith.String() != "starts with" {
		t.Error("Op.String")
	}
	if !IsValidLabel("a.b/c-d_e") || IsValidLabel("") || IsValidLabel("a b") || IsValidLabel(longLabel) {
		t.Error("IsValidLabel")
	}
}
