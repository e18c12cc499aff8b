package selector

import (
	"runtime"
	"strings"
	"sync"
	"weak"
)

// shared maps selector texts to the selectors Parse made of them while
// those are in use. A Selector is immutable, so one parse serves every
// policy that writes the same text: a cluster's policies repeat a few
// thousand selectors tens of thousands of times (10,000 policies with
// 60,000 selectors held 16 MB of parsed trees, most of them copies). An
// entry is weak: it does not keep its selector alive, and goes when the
// selector is collected.
var shared = struct {
	sync.Mutex
	m map[string]weak.Pointer[Selector]
}{m: map[string]weak.Pointer[Selector]{}}

// sharedParse returns the selector parsed from s: the one in use for the
// same text, or a new one.
func sharedParse(s string) (*Selector, *ParseError) {
	shared.Lock()
	wp, ok := shared.m[s]
	shared.Unlock()
	if ok {
		if sel := wp.Value(); sel != nil {
			return sel, nil
		}
	}
	sel, err := parse(s)
	if err != nil {
		return nil, err
	}
	key := strings.Clone(s) // not the caller's buffer
	shared.Lock()
	if old, ok := shared.m[key]; ok {
		if other := old.Value(); other != nil { // parsed meanwhile
			shared.Unlock()
			return other, nil
		}
	}
	shared.m[key] = weak.Make(sel)
	shared.Unlock()
	runtime.AddCleanup(sel, forget, key)
	return sel, nil
}

// forget drops the entry of text key once its selector is gone (unless a
// new one took its place).
func forget(key string) {
	shared.Lock()
	defer shared.Unlock()
	if wp, ok := shared.m[key]; ok && wp.Value() == nil {
		delete(shared.m, key)
	}
}
