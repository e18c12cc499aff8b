package nft

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
)

// scratch returns a Kernel applier for a fresh namespace, and the namespace.
func scratch(t *testing.T) (*Kernel, *netlab.NS) {
	t.Helper()
	lab := netlab.ForTest(t, "pal-nft")
	ns, err := lab.NewNS("k")
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKernel(Config{NetNS: ns.Path()})
	if err != nil {
		t.Fatal(err)
	}
	return k, ns
}

const bodyA = `	set allowed4 {
		type ipv4_addr
		flags interval
		elements = { 198.18.0.0/24 }
	}
	chain in-a {
		ip saddr @allowed4 accept
	}
	chain filter-input {
		type filter hook input priority filter; policy accept;
		jump in-a
	}
`

const bodyB = `	chain in-b {
		tcp dport 22 accept
	}
	chain filter-input {
		type filter hook input priority filter; policy accept;
		jump in-b
	}
`

func TestKernelApplyReplacesTable(t *testing.T) {
	k, _ := scratch(t)
	ctx := context.Background()
	if _, err := k.Show(ctx); !errors.Is(err, ErrNoTable) {
		t.Fatalf("Show before any apply: %v, want ErrNoTable", err)
	}
	if err := k.ApplyText(ctx, bodyA); err != nil {
		t.Fatal(err)
	}
	got := show(t, k)
	if !strings.Contains(got, "chain in-a") || !strings.Contains(got, "set allowed4") {
		t.Fatalf("after apply A:\n%s", got)
	}
	// B replaces A entirely: A's chain and set are gone, not merged.
	if err := k.ApplyText(ctx, bodyB); err != nil {
		t.Fatal(err)
	}
	got = show(t, k)
	if strings.Contains(got, "in-a") || strings.Contains(got, "allowed4") || !strings.Contains(got, "chain in-b") {
		t.Fatalf("after apply B, A's objects remain or B is missing:\n%s", got)
	}
	// The whole-block form is accepted as well.
	if err := k.ApplyText(ctx, "table inet palisade {\n"+bodyA+"}\n"); err != nil {
		t.Fatal(err)
	}
	if got = show(t, k); !strings.Contains(got, "chain in-a") {
		t.Fatalf("after apply of the block form:\n%s", got)
	}
}

func show(t *testing.T, k *Kernel) string {
	t.Helper()
	s, err := k.Show(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKernelFailureNamesLineAndKeepsPrevious(t *testing.T) {
	k, _ := scratch(t)
	ctx := context.Background()
	if err := k.ApplyText(ctx, bodyA); err != nil {
		t.Fatal(err)
	}
	before := show(t, k)
	cases := []struct {
		name, body string
		line       int
		msg        string
	}{
		{"jump to a missing chain", bodyB + "\tchain bad {\n\t\tjump does-not-exist\n\t}\n", 9, "Error"},
		{"syntax error", bodyB + "\tchain bad {\n\t\tip saddr 198.18.0.0/99 accept\n\t}\n", 9, "Error"},
		{"keyword as a name", "\tchain policy {\n\t\taccept\n\t}\n", 1, "syntax error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := k.ApplyText(ctx, c.body)
			ae, ok := IsApplyError(err)
			if !ok {
				t.Fatalf("got %v, want an ApplyError", err)
			}
			if len(ae.Lines) == 0 || ae.Lines[0].Line != c.line || !strings.Contains(ae.Lines[0].Msg, c.msg) {
				t.Fatalf("got %+v (stderr %q), want line %d with %q", ae.Lines, ae.Stderr, c.line, c.msg)
			}
			want := strings.Split(c.body, "\n")[c.line-1]
			if ae.Lines[0].Source != want || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
				t.Errorf("error %q does not quote line %d %q", err, c.line, want)
			}
			if after := show(t, k); after != before {
				t.Errorf("a failed apply changed the table:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func TestKernelDeleteTouchesOnlyPalisade(t *testing.T) {
	k, ns := scratch(t)
	ctx := context.Background()
	if err := k.Delete(ctx); err != nil {
		t.Fatalf("Delete with no table: %v", err)
	}
	other := "table ip other {\n\tchain c {\n\t\ttype filter hook input priority 10; policy accept;\n\t}\n}\n"
	if _, err := ns.Run(ctx, strings.NewReader(other), "nft", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	if err := k.ApplyText(ctx, bodyA); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := ns.Run(ctx, nil, "nft", "list", "tables")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "table ip other" {
		t.Errorf("tables after Delete: %q, want only table ip other", got)
	}
}

func TestKernelTargetsItsNamespaceOnly(t *testing.T) {
	k, ns := scratch(t)
	other, err := netlab.ForTest(t, "pal-nft").NewNS("other")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.ApplyText(context.Background(), bodyB); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[*netlab.NS]string{ns: "table inet palisade", other: ""} {
		out, err := n.Run(context.Background(), nil, "nft", "list", "tables")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: tables %q, want %q", n.Name, got, want)
		}
	}
}

func TestKernelCheckDoesNotApply(t *testing.T) {
	k, _ := scratch(t)
	ctx := context.Background()
	if err := k.transact(ctx, "check", bodyA, true); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Show(ctx); !errors.Is(err, ErrNoTable) {
		t.Errorf("after a check: %v, want ErrNoTable", err)
	}
	err := k.transact(ctx, "check", "\tchain x {\n\t\tjump nowhere\n\t}\n", true)
	if ae, ok := IsApplyError(err); !ok || ae.Op != "check" {
		t.Errorf("check of a bad ruleset: %v", err)
	}
}

func TestKernelTimeout(t *testing.T) {
	k, _ := scratch(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	if err := k.ApplyText(ctx, bodyA); err == nil {
		t.Fatal("apply with an expired context succeeded")
	}
}

func TestNewKernelErrors(t *testing.T) {
	if _, err := NewKernel(Config{Binary: "nft-does-not-exist", NoNetlink: true}); err == nil {
		t.Error("a missing binary was accepted for nft scripts")
	}
	k, err := NewKernel(Config{Binary: "nft-does-not-exist"})
	if err != nil {
		t.Fatalf("without nft the netlink applier was refused: %v", err)
	}
	if _, err := k.Show(context.Background()); !errors.Is(err, ErrNoNft) {
		t.Errorf("Show without nft: %v, want ErrNoNft", err)
	}
	if _, err := NewKernel(Config{NetNS: "pal-nft-no-such-namespace"}); err == nil {
		t.Error("a missing namespace was accepted")
	}
}
