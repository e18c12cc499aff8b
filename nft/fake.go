package nft

import (
	"context"
	"sync"

	"github.com/palisade-net/palisade/render"
)

// Fake is an in-memory Applier for unit tests. It keeps the last ruleset
// applied and its text, counts calls, and fails on demand; a failed Apply
// leaves the previous state in place, as the kernel does.
type Fake struct {
	mu      sync.Mutex
	rs      *render.Ruleset
	text    string
	present bool
	applies int // successful applies
	deletes int
	calls   int // Apply calls, failed ones included
	fail    []error
	hook    func(call int, rs *render.Ruleset) error
	counts  map[string][2]uint64 // SetCounter's values: packets, bytes
}

var _ Applier = (*Fake)(nil)

// NewFake returns an empty fake: no table.
func NewFake() *Fake { return &Fake{} }

// FailNext makes the next len(errs) Apply calls return these errors in
// order (a nil entry lets that call succeed).
func (f *Fake) FailNext(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, errs...)
}

// OnApply installs a hook called for every Apply (call counts from 1, failed
// calls included); a non-nil return fails that Apply. Queued FailNext errors
// are consumed first.
func (f *Fake) OnApply(hook func(call int, rs *render.Ruleset) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

// Apply records rs unless an injected failure or ctx says otherwise.
func (f *Fake) Apply(ctx context.Context, rs *render.Ruleset) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		if err != nil {
			return err
		}
	}
	if f.hook != nil {
		if err := f.hook(f.calls, rs); err != nil {
			return err
		}
	}
	text, err := rulesetText(rs)
	if err != nil {
		return err
	}
	f.rs, f.text, f.present = rs, text, true
	f.applies++
	return nil
}

// Delete forgets the table.
func (f *Fake) Delete(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	f.rs, f.text, f.present = nil, "", false
	f.deletes++
	return nil
}

// Show returns the last applied text wrapped in the table block (not nft's
// normalised listing), or ErrNoTable.
func (f *Fake) Show(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !f.present {
		return "", ErrNoTable
	}
	return TableText(f.text), nil
}

// Ruleset is the last successfully applied ruleset (nil if none or deleted).
func (f *Fake) Ruleset() *render.Ruleset {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rs
}

// Text is the text of the last successfully applied ruleset.
func (f *Fake) Text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.text
}

// Counts returns successful applies, all Apply calls, and deletes.
func (f *Fake) Counts() (applies, calls, deletes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applies, f.calls, f.deletes
}
