package selector

import "strings"

// specCase is one row of the §4.5 examples table: the input and either the
// canonical string or a substring of the error message.
type specCase struct {
	row   int
	input string
	want  string // canonical form, when err == ""
	err   string // error substring
}

var longLabel = strings.Repeat("l", MaxLabelLength+1)

// specCases are all 59 rows of §4.5 (row 1 has three variants).
var specCases = []specCase{
	{row: 1, input: "", want: "all()"},
	{row: 1, input: "   ", want: "all()"},
	{row: 1, input: " \t \t", want: "all()"},
	{row: 2, input: " all( ) ", want: "all()"},
	{row: 3, input: "global()", want: "global()"},
	{row: 4, input: `a == 'b'`, want: `a == "b"`},
	{row: 5, input: `a=="b"`, want: `a == "b"`},
	{row: 6, input: `a != "b"`, want: `a != "b"`},
	{row: 7, input: `a == "it's"`, want: `a == "it's"`},
	{row: 8, input: `a == '"q"'`, want: `a == '"q"'`},
	{row: 9, input: `a == ""`, want: `a == ""`},
	{row: 10, input: `has( calico/k8s_ns )`, want: `has(calico/k8s_ns)`},
	{row: 11, input: `!has(a)`, want: `!has(a)`},
	{row: 12, input: `!!has(a)`, want: `has(a)`},
	{row: 13, input: `! !! has(a)`, want: `!has(a)`},
	{row: 14, input: `a in {"x", "y"}`, want: `a in {"x", "y"}`},
	{row: 15, input: `a in {'z','x','x'}`, want: `a in {"x", "z"}`},
	{row: 16, input: `a in {}`, want: `a in {}`},
	{row: 17, input: `a in {"x",}`, want: `a in {"x"}`},
	{row: 18, input: `a not in {"x"}`, want: `a not in {"x"}`},
	{row: 19, input: `a notin{"x"}`, want: `a not in {"x"}`},
	{row: 20, input: `a contains "x"`, want: `a contains "x"`},
	{row: 21, input: `a startswith "x"`, want: `a starts with "x"`},
	{row: 22, input: `a starts   with 'x'`, want: `a starts with "x"`},
	{row: 23, input: `a ends with 'x'`, want: `a ends with "x"`},
	{row: 24, input: `contains contains "contains"`, want: `contains contains "contains"`},
	{row: 25, input: `a == 'b' && c == 'd'`, want: `(a == "b" && c == "d")`},
	{row: 26, input: `a == 'b' || c == 'd' && e == 'f'`, want: `(a == "b" || (c == "d" && e == "f"))`},
	{row: 27, input: `(a == 'b' || c == 'd') && e == 'f'`, want: `((a == "b" || c == "d") && e == "f")`},
	{row: 28, input: `(a == 'b')`, want: `a == "b"`},
	{row: 29, input: `!a == 'b'`, want: `!a == "b"`},
	{row: 30, input: `!(a == 'b' && c == 'd')`, want: `!(a == "b" && c == "d")`},
	{row: 31, input: `has(node-role.kubernetes.io/master)`, want: `has(node-role.kubernetes.io/master)`},
	{row: 32, input: `projectcalico.org/namespace == 'kube-system'`, want: `projectcalico.org/namespace == "kube-system"`},
	{row: 33, input: "a == \"b\"\n", err: "expected identifier"},
	{row: 34, input: `a = "b"`, err: "expected =="},
	{row: 35, input: `a == b`, err: "expected string"},
	{row: 36, input: `a == 5`, err: "expected string"},
	{row: 37, input: `a`, err: "unexpected end of string looking for op"},
	{row: 38, input: `a b`, err: `expected operator after label "a"`},
	{row: 39, input: `'b' == a`, err: "unexpected token: TokStringLiteral(b)"},
	{row: 40, input: `a == "b" & c == "d"`, err: "expected &&"},
	{row: 41, input: `a == "b" | c == "d"`, err: "expected ||"},
	{row: 42, input: `a == "b" and c == "d"`, err: `expected operator after label "and"`},
	{row: 43, input: `a in "x"`, err: "expected set literal"},
	{row: 44, input: `a in {"x" "y"}`, err: "expected }"},
	{row: 45, input: `a in {x}`, err: "expected }"},
	{row: 46, input: `"abc`, err: "unterminated string"},
	{row: 47, input: `(a == "b"`, err: "expected )"},
	{row: 48, input: `()`, err: "unexpected token: TokRParen()"},
	{row: 49, input: `a == "b")`, err: "unexpected content at end of selector [TokRParen() TokEOF()]"},
	{row: 50, input: `has()`, err: "expected identifier"},
	{row: 51, input: `has(a`, err: "no closing ')' after has("},
	{row: 52, input: `all(x)`, err: "no closing ')' after all("},
	{row: 53, input: `HAS(a)`, err: "expected == or != not: TokLParen()"},
	{row: 54, input: `a IN {"x"}`, err: `expected operator after label "a"`},
	{row: 55, input: `%`, err: "expected identifier"},
	{row: 56, input: `!`, err: "unexpected token: TokEOF()"},
	{row: 57, input: `has(foo) &&`, err: "unexpected token: TokEOF()"},
	{row: 58, input: longLabel + ` == "x"`, err: "label too long: " + longLabel},
	{row: 59, input: `a == "b" && global()`, want: `(a == "b" && global())`},
}
