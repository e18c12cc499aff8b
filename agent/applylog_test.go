package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestApplyLog: every transaction is logged with what changed and why; a
// burst of changes gives few Info lines, the rest counted in the next.
func TestApplyLog(t *testing.T) {
	var logs syncBuf
	cfg := testConfig(t)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st := store.NewMemory()
	defer st.Close()
	put(t, st, objects(t, hepYAML)...)
	f := nft.NewFake()
	a := startAgent(t, cfg, st, f, NewStaticInterfaces(testIfaces()...))
	eventually(t, 5*time.Second, a.Ready)
	time.Sleep(1100 * time.Millisecond) // past the first line's second
	put(t, st, objects(t, policyYAML("p80", 80))...)
	eventually(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "why=GlobalNetworkPolicy:1") || !strings.Contains(logs.String(), `changed="chains +`) {
			return fmt.Errorf("no line says what changed and why:\n%s", logs.String())
		}
		return nil
	})
	before, _, _ := f.Counts()
	for i := range 30 {
		put(t, st, objects(t, policyYAML(fmt.Sprintf("q%d", i), 1000+i))...)
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, 5*time.Second, func() error {
		if n, _, _ := f.Counts(); n-before < 5 {
			return fmt.Errorf("only %d transactions for the burst", n-before)
		}
		return nil
	})
	applied, _, _ := f.Counts()
	lines := strings.Count(logs.String(), `msg="applied the ruleset"`)
	if lines >= applied-before {
		t.Errorf("%d Info lines for %d transactions: the burst was not summarised", lines, applied-before)
	}
}
