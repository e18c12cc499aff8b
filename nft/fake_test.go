package nft

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/render"
)

func tinyRuleset(chain string) *render.Ruleset {
	return &render.Ruleset{Table: render.TableName, Family: render.TableFamily, Chains: []*render.Chain{{
		Name:  chain,
		Rules: []render.Rule{{Matches: []render.Match{render.MatchL4Proto{Protos: []uint8{6}}}, Verdict: render.Accept}},
	}}}
}

func TestFakeRecordsAndShows(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	if _, err := f.Show(ctx); !errors.Is(err, ErrNoTable) {
		t.Fatalf("Show of a new fake: %v, want ErrNoTable", err)
	}
	rs := tinyRuleset("chain-one")
	if err := f.Apply(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if f.Ruleset() != rs || !strings.Contains(f.Text(), "chain-one") {
		t.Fatalf("fake did not record the ruleset: %q", f.Text())
	}
	got, err := f.Show(ctx)
	if err != nil || !strings.HasPrefix(got, "table inet palisade {") || !strings.Contains(got, "chain-one") {
		t.Fatalf("Show = %q, %v", got, err)
	}
	if err := f.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Show(ctx); !errors.Is(err, ErrNoTable) || f.Ruleset() != nil {
		t.Fatalf("after Delete: %v, ruleset %v", err, f.Ruleset())
	}
	if a, c, d := f.Counts(); a != 1 || c != 1 || d != 1 {
		t.Errorf("counts = %d, %d, %d; want 1, 1, 1", a, c, d)
	}
}

func TestFakeInjectedFailuresKeepPrevious(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	first := tinyRuleset("chain-one")
	if err := f.Apply(ctx, first); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	f.FailNext(boom, nil)
	if err := f.Apply(ctx, tinyRuleset("chain-two")); !errors.Is(err, boom) {
		t.Fatalf("first queued failure: %v", err)
	}
	if f.Ruleset() != first {
		t.Fatal("a failed apply replaced the previous ruleset")
	}
	if err := f.Apply(ctx, tinyRuleset("chain-two")); err != nil {
		t.Fatalf("nil entry should let the call through: %v", err)
	}
	f.OnApply(func(call int, rs *render.Ruleset) error {
		if call == 4 {
			return boom
		}
		return nil
	})
	if err := f.Apply(ctx, tinyRuleset("chain-three")); !errors.Is(err, boom) {
		t.Fatalf("hook failure: %v", err)
	}
	if !strings.Contains(f.Text(), "chain-two") {
		t.Fatalf("after the hook failure the text is %q, want chain-two's", f.Text())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.Apply(cctx, tinyRuleset("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if a, c, _ := f.Counts(); a != 2 || c != 5 {
		t.Errorf("applies %d, calls %d; want 2, 5", a, c)
	}
}

func TestFakeRejectsOtherTables(t *testing.T) {
	rs := tinyRuleset("c")
	rs.Table = "calico"
	if err := NewFake().Apply(context.Background(), rs); err == nil {
		t.Fatal("a ruleset for another table was accepted")
	}
}

func TestScriptAndErrorMapping(t *testing.T) {
	body := "\tchain a {\n\t\taccept\n\t}\n"
	s, first := Script(body)
	lines := strings.Split(s, "\n")
	if lines[0] != "add table inet palisade" || lines[1] != "delete table inet palisade" ||
		lines[2] != "table inet palisade {" || lines[first-1] != "\tchain a {" {
		t.Fatalf("script:\n%s(body at line %d)", s, first)
	}
	stderr := "/dev/stdin:5:3-8: Error: Could not process rule: No such file or directory\n\t\taccept\n\t\t^^^^^^\n"
	le := parseErrors(stderr, body, first)
	if len(le) != 1 || le[0].Line != 2 || le[0].Source != "\t\taccept" || le[0].Column != 3 {
		t.Fatalf("parseErrors = %+v", le)
	}
	block := "table inet palisade {\n" + body + "}\n"
	if s, first := Script(block); first != 3 || !strings.HasSuffix(s, block) {
		t.Fatalf("block script:\n%s", s)
	}
	if TableText(body) != block || TableText(block) != block {
		t.Fatalf("TableText(body) = %q", TableText(body))
	}
}
