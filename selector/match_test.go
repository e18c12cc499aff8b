package selector

import (
	"strconv"
	"sync"
	"testing"
)

// Label sets used by the matching tests.
var (
	lblNone  = Map{}
	lblEmpty = Map{"a": ""}
	lblAB    = Map{"a": "b"}
	lblAX    = Map{"a": "x"}
	lblFull  = Map{"a": "b", "c": "d", "e": "f", "app": "frontend-v2"}
	lblOther = Map{"c": "d"}
)

// matchCases lists, per selector, label sets it must and must not match.
var matchCases = []struct {
	sel   string
	match []Map
	miss  []Map
}{
	// all(), global(), has().
	{sel: ``, match: []Map{lblNone, lblAB, lblFull}},
	{sel: `all()`, match: []Map{lblNone, lblAB}},
	{sel: `!all()`, miss: []Map{lblNone, lblAB}},
	{sel: `global()`, match: []Map{lblNone, lblAB}},
	{sel: `has(a)`, match: []Map{lblEmpty, lblAB, lblFull}, miss: []Map{lblNone, lblOther}},
	{sel: `!has(a)`, match: []Map{lblNone, lblOther}, miss: []Map{lblEmpty, lblAB}},
	// == and != with absence.
	{sel: `a == "b"`, match: []Map{lblAB, lblFull}, miss: []Map{lblNone, lblEmpty, lblAX, lblOther}},
	{sel: `a == ""`, match: []Map{lblEmpty}, miss: []Map{lblNone, lblAB}},
	{sel: `a != "b"`, match: []Map{lblNone, lblEmpty, lblAX, lblOther}, miss: []Map{lblAB, lblFull}},
	{sel: `a != ""`, match: []Map{lblNone, lblAB}, miss: []Map{lblEmpty}},
	{sel: `!a == "b"`, match: []Map{lblNone, lblAX}, miss: []Map{lblAB}},
	{sel: `!a != "b"`, match: []Map{lblAB}, miss: []Map{lblNone, lblAX}},
	{sel: `a == "B"`, miss: []Map{lblAB}},
	// Sets.
	{sel: `a in {"b", "x"}`, match: []Map{lblAB, lblAX}, miss: []Map{lblNone, lblEmpty, lblOther}},
	{sel: `a in {""}`, match: []Map{lblEmpty}, miss: []Map{lblNone, lblAB}},
	{sel: `a in {}`, miss: []Map{lblNone, lblEmpty, lblAB}},
	{sel: `a not in {"b"}`, match: []Map{lblNone, lblEmpty, lblAX}, miss: []Map{lblAB}},
	{sel: `a not in {}`, match: []Map{lblNone, lblEmpty, lblAB}},
	{sel: `!a in {}`, match: []Map{lblNone, lblAB}},
	{sel: `a in {"0","1","2","3","4","5","6","7","8","9","b"}`, match: []Map{lblAB, {"a": "7"}}, miss: []Map{lblAX, {"a": "10"}, lblNone}},
	{sel: `a not in {"0","1","2","3","4","5","6","7","8","9","b"}`, match: []Map{lblAX, lblNone}, miss: []Map{lblAB, {"a": "0"}}},
	// contains / starts with / ends with.
	{sel: `app contains "end-"`, match: []Map{lblFull}, miss: []Map{lblNone, {"app": "END-"}}},
	{sel: `app contains ""`, match: []Map{lblFull, {"app": ""}}, miss: []Map{lblNone}},
	{sel: `app starts with "front"`, match: []Map{lblFull}, miss: []Map{lblNone, {"app": "xfront"}}},
	{sel: `app starts with ""`, match: []Map{{"app": ""}}, miss: []Map{lblNone}},
	{sel: `app ends with "-v2"`, match: []Map{lblFull}, miss: []Map{lblNone, {"app": "-v2x"}}},
	{sel: `app ends with ""`, match: []Map{{"app": "q"}}, miss: []Map{lblNone}},
	{sel: `!app contains "x"`, match: []Map{lblNone, lblFull}, miss: []Map{{"app": "xx"}}},
	// Precedence and n-ary lists.
	{sel: `a == "b" || c == "d" && e == "f"`,
		match: []Map{lblAB, {"c": "d", "e": "f"}, lblFull}, miss: []Map{lblOther, lblNone, {"e": "f"}}},
	{sel: `(a == "b" || c == "d") && e == "f"`,
		match: []Map{{"a": "b", "e": "f"}, {"c": "d", "e": "f"}}, miss: []Map{lblAB, lblOther}},
	{sel: `has(a) && has(c) && has(e)`, match: []Map{lblFull}, miss: []Map{lblAB, {"a": "", "c": ""}}},
	{sel: `has(x) || has(y) || has(e)`, match: []Map{lblFull, {"y": ""}}, miss: []Map{lblAB}},
	{sel: `!has(a) && has(c)`, match: []Map{lblOther}, miss: []Map{lblFull, lblNone}},
	{sel: `!(has(a) && has(c))`, match: []Map{lblAB, lblOther, lblNone}, miss: []Map{lblFull}},
	{sel: `!(has(a) || has(c))`, match: []Map{lblNone}, miss: []Map{lblAB, lblOther}},
	{sel: `!!has(a)`, match: []Map{lblAB}, miss: []Map{lblNone}},
	{sel: `!!!has(a)`, match: []Map{lblNone}, miss: []Map{lblAB}},
	{sel: `!(!has(a))`, match: []Map{lblAB}, miss: []Map{lblNone}},
	{sel: `a == "b" && global()`, match: []Map{lblAB}, miss: []Map{lblAX}},
	{sel: `projectcalico.org/namespace == "kube-system"`,
		match: []Map{{"projectcalico.org/namespace": "kube-system"}}, miss: []Map{{"namespace": "kube-system"}}},
}

func TestMatches(t *testing.T) {
	for _, tc := range matchCases {
		s := MustParse(tc.sel)
		for _, l := range tc.match {
			if !s.Matches(l) {
				t.Errorf("%s should match %v", s, l)
			}
		}
		for _, l := range tc.miss {
			if s.Matches(l) {
				t.Errorf("%s should not match %v", s, l)
			}
		}
	}
	if !MustParse(`a != "b"`).Matches(nil) || MustParse(`has(a)`).Matches(nil) {
		t.Error("nil Labels should behave as an empty set")
	}
}

// countingLabels records lookups, to check short-circuit evaluation.
type countingLabels struct {
	Map
	gets []string
}

func (c *countingLabels) Get(k string) (string, bool) {
	c.gets = append(c.gets, k)
	return c.Map.Get(k)
}

func TestShortCircuit(t *testing.T) {
	for _, tc := range []struct {
		sel  string
		want int
	}{
		{`has(x) && has(a) && has(b)`, 1},
		{`has(a) || has(x) || has(y)`, 1},
		{`has(x) || has(y) || has(a)`, 3},
	} {
		l := &countingLabels{Map: Map{"a": "1"}}
		MustParse(tc.sel).Matches(l)
		if len(l.gets) != tc.want {
			t.Errorf("%s looked up %q, want %d lookups", tc.sel, l.gets, tc.want)
		}
	}
}

func TestMatchNoAllocs(t *testing.T) {
	sel := MustParse(benchSelector)
	labels := benchLabels()
	big := MustParse(`a in {"0","1","2","3","4","5","6","7","8","9","10","11"} || b contains "x" || c ends with "y" || !has(d)`)
	if !sel.Matches(labels) {
		t.Fatal("benchmark selector does not match its labels")
	}
	if n := testing.AllocsPerRun(1000, func() { sel.Matches(labels) }); n != 0 {
		t.Errorf("Matches allocates %v times per run", n)
	}
	if n := testing.AllocsPerRun(1000, func() { big.Matches(labels) }); n != 0 {
		t.Errorf("Matches (set) allocates %v times per run", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	sel := MustParse(`a in {"1", "2"} && !has(b)`)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 1000 {
				v := strconv.Itoa((i + j) % 3)
				want := v == "1" || v == "2"
				if sel.Matches(Map{"a": v}) != want || sel.String() != `(a in {"1", "2"} && !has(b))` {
					t.Error("concurrent mismatch")
					return
				}
			}
		}()
	}
	wg.Wait()
}
