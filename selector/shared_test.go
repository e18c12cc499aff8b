package selector

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestParseShares: one text parses to one selector while it is in use,
// different texts to different ones, errors are not kept, and the entry of
// a selector no one holds goes.
func TestParseShares(t *testing.T) {
	a, err := Parse("app == 'shared-test' && tier in {'a', 'b'}")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse("app == 'shared-test' && tier in {'a', 'b'}")
	c, _ := Parse("app == 'shared-test'")
	if a != b || a == c {
		t.Fatalf("same text: %p and %p; another text: %p", a, b, c)
	}
	if !a.Matches(Map{"app": "shared-test", "tier": "b"}) || a.String() != b.String() {
		t.Fatalf("shared selector %s does not match as parsed", a)
	}
	if _, err := Parse("app == "); err == nil {
		t.Fatal("a bad selector parsed")
	}
	if _, err := Parse("app == "); err == nil {
		t.Fatal("a bad selector parsed the second time")
	}

	before := sharedLen()
	func() {
		for i := range 100 {
			if _, err := Parse(fmt.Sprintf("gone == '%d'", i)); err != nil {
				t.Fatal(err)
			}
		}
	}()
	if sharedLen() < before+100 {
		t.Fatalf("%d entries after 100 new texts, %d before", sharedLen(), before)
	}
	for i := 0; i < 50 && sharedLen() >= before+100; i++ {
		runtime.GC() // cleanups run after the selectors are collected
		runtime.Gosched()
	}
	if n := sharedLen(); n >= before+100 {
		t.Fatalf("%d entries kept for selectors no one holds (%d before)", n, before)
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(c)
}

// TestParseSharedConcurrent: goroutines parsing the same texts at once get
// one selector per text.
func TestParseSharedConcurrent(t *testing.T) {
	const texts, workers = 50, 8
	got := make([][texts]*Selector, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range texts {
				s, err := Parse(fmt.Sprintf("concurrent == '%d'", i))
				if err != nil {
					t.Error(err)
					return
				}
				got[w][i] = s
			}
		}()
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		for i := range texts {
			if got[w][i] != got[0][i] {
				t.Fatalf("text %d: worker %d got %p, worker 0 %p", i, w, got[w][i], got[0][i])
			}
		}
	}
}

// sharedLen is the number of entries (tests).
func sharedLen() int {
	shared.Lock()
	defer shared.Unlock()
	return len(shared.m)
}
