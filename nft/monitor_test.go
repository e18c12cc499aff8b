package nft

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// The monitor signals changes that others make to palisade's table, and
// neither the applier's own transactions nor changes to other tables.
func TestChangesSignalsPalisadeTableOnly(t *testing.T) {
	k, ns := scratch(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := k.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// want: 0 no signal, 1 a signal to compare, 2 a definite change.
	expect := func(what string, want int) {
		t.Helper()
		select {
		case c := <-ch:
			got := 1
			if c.Definite {
				got = 2
			}
			if got != want {
				t.Errorf("%s: signal %+v, want %d", what, c, want)
			}
		case <-time.After(500 * time.Millisecond):
			if want != 0 {
				t.Errorf("%s: no signal", what)
			}
		}
	}
	if err := k.ApplyText(ctx, bodyA); err != nil {
		t.Fatal(err)
	}
	expect("the applier's own apply", 0)
	nft := func(args ...string) {
		t.Helper()
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, "nft"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft %v: %v\n%s", args, err, out)
		}
	}
	nft("add", "table", "inet", "other")
	expect("another table", 0)
	nft("add", "element", "inet", "palisade", "allowed4", "{ 198.18.1.0/24 }")
	expect("an element added by hand", 1)
	nft("flush", "ruleset")
	expect("nft flush ruleset", 2)
	if err := k.ApplyText(ctx, bodyA); err != nil {
		t.Fatal(err)
	}
	expect("the applier's own apply again", 0)
	nft("flush", "chain", "inet", "palisade", "in-a")
	expect("a chain flushed by hand", 2)
	cancel()
	for range ch {
	}
}
