package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/palisade-net/palisade/store"
)

// TestEmbeddedCloseEndsWatches: a member with clients watching stops
// without waiting for them. etcd alone waits up to its request timeout (7
// s) per listener for open watch streams; Close ends them first. The bound
// below is that timeout less a second: passing it at all means the streams
// were ended, not waited for.
func TestEmbeddedCloseEndsWatches(t *testing.T) {
	srv := startEtcd(t, func(c *store.EmbedConfig) {})
	for range 3 {
		s := newEtcd(t, store.EtcdConfig{Endpoints: srv.ClientEndpoints()})
		ch, err := s.Watch(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for range ch {
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the watches are established
	start := time.Now()
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
		t.Logf("closed in %v with 3 clients watching", time.Since(start).Round(time.Millisecond))
	case <-time.After(6 * time.Second):
		t.Fatal("Close waited for the clients' watch streams")
	}
}
