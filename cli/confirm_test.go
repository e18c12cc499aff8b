package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/rollback"
	"github.com/palisade-net/palisade/store"
)

// TestConfirmWithin: a change made with --confirm-within is listed until
// confirmed, and one left unconfirmed is rolled back at its deadline by
// the rollback loop the server runs (here in the test) — new objects
// removed, changed ones restored.
func TestConfirmWithin(t *testing.T) {
	srv := startEtcd(t, "http://127.0.0.1:0")
	st := etcdCLI(t, srv.ClientEndpoints())
	put(t, st, serverDefaults)
	put(t, st, gnp("keep", "  order: 1\n"))
	cli, err := store.NewEtcd(store.EtcdConfig{Endpoints: srv.ClientEndpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rollback.Run(ctx, cli.Client(), cli, 50*time.Millisecond, slog.New(slog.DiscardHandler))

	// Confirmed: it stays.
	_, errOut := wantContains(t, gnp("a", ""), 0, "Successfully applied", "run `palisade confirm",
		"apply", "-f", "-", "--confirm-within", "1h")
	id := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(errOut, "change "))[0], ":")
	wantContains(t, "", 0, id+"   apply ", "", "changes")
	want(t, "", 0, "change "+id+" confirmed\n", "", "confirm", id)
	wantContains(t, "", 1, "", "no pending change", "confirm", id)

	// Unconfirmed: the new policy goes, the changed one comes back.
	in := gnp("b", "") + "---\n" + gnp("keep", "  order: 99\n")
	wantContains(t, in, 0, "Successfully applied 2", "", "apply", "-f", "-", "--confirm-within", "300ms")
	eventuallyT(t, 5*time.Second, func() bool {
		_, errB := st.Get(ctx, store.Key{Kind: store.Kind(api.KindGlobalNetworkPolicy), Name: "b"})
		k, errK := st.Get(ctx, store.Key{Kind: store.Kind(api.KindGlobalNetworkPolicy), Name: "keep"})
		return store.IsNotFound(errB) && errK == nil && *k.(*api.GlobalNetworkPolicy).Spec.Order == 1
	})
	if !exists(t, st, store.Kind(api.KindGlobalNetworkPolicy), "", "a") {
		t.Error("the confirmed change was rolled back too")
	}
}

func eventuallyT(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("not rolled back in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
