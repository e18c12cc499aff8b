package nft

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// The monitor signals changes to palisade's table, whoever makes them, and
// not changes to other tables.
func TestChangesSignalsPalisadeTableOnly(t *testing.T) {
	k, ns := scratch(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := k.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string, want bool) {
		t.Helper()
		select {
		case <-ch:
			if !want {
				t.Errorf("%s: signalled", what)
			}
		case <-time.After(500 * time.Millisecond):
			if want {
				t.Errorf("%s: no signal", what)
			}
		}
	}
	if err := k.ApplyText(ctx, bodyA); err != nil {
		t.Fatal(err)
	}
	expect("apply", true)
	nft := func(args ...string) {
		t.Helper()
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, "nft"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft %v: %v\n%s", args, err, out)
		}
	}
	nft("add", "table", "inet", "other")
	expect("another table", false)
	nft("add", "element", "inet", "palisade", "allowed4", "{ 198.18.1.0/24 }")
	expect("an element added by hand", true)
	nft("flush", "ruleset")
	expect("nft flush ruleset", true)
	cancel()
	for range ch {
	}
}
