package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// The watch engine is shared by the etcd and in-memory stores. A source
// provides raw key/values and raw change streams for one key prefix; the
// engine decodes, filters by kind, remembers what it has sent and re-lists
// when the stream breaks (docs/api.md §9.3, done inside the store so that every
// consumer gets it).

// rawKV is one stored key and value.
type rawKV struct {
	Key    string
	Value  []byte
	ModRev int64
}

// rawEvent is one change. For Deleted, KV carries the key and the deletion
// revision; Prev the value before the change when known.
type rawEvent struct {
	Type EventType
	KV   rawKV
	Prev *rawKV
}

// rawBatch is what a source's stream delivers: events, or an error after
// which the stream is finished.
type rawBatch struct {
	Events []rawEvent
	Err    error
}

// errCompacted is returned by sources when the revision asked for is gone.
var errCompacted = errors.New("required revision has been compacted")

// watchSource is the part of a store the engine needs.
type watchSource interface {
	// listRaw returns the key/values under prefix in key order, at rev
	// (0: current), and the revision read. errCompacted (wrapped) when rev
	// was compacted.
	listRaw(ctx context.Context, prefix string, rev int64) ([]rawKV, int64, error)
	// watchRaw streams changes under prefix from revision from on. The
	// channel is closed after an error batch or when ctx is done.
	watchRaw(ctx context.Context, prefix string, from int64) <-chan rawBatch
	// closed is closed when the store is closed.
	closed() <-chan struct{}
}

// Re-list pacing after a broken watch (variables for tests).
var (
	minResyncInterval = 500 * time.Millisecond
	maxResyncBackoff  = 5 * time.Second
)

const watchBuffer = 128

// watcher is one Watch call.
type watcher struct {
	src        watchSource
	prefix     string
	kinds      map[Kind]bool // nil: every kind
	out        chan Event
	sent       map[string]int64 // key -> mod revision of what was sent (values are not kept)
	rev        int64            // revision everything sent is current at
	lastResync time.Time
	needResync bool
}

// watchPrefix picks the etcd prefix for a set of kinds: the kind's own
// prefix for one kind, all resources otherwise (filtered client-side).
func watchPrefix(kinds []Kind) (string, map[Kind]bool, error) {
	if len(kinds) == 0 {
		return Prefix + "resources/", nil, nil
	}
	set := map[Kind]bool{}
	for _, k := range kinds {
		if err := checkKind(k); err != nil {
			return "", nil, err
		}
		set[k] = true
	}
	if len(set) == 1 {
		return kinds[0].prefix(), set, nil
	}
	return Prefix + "resources/", set, nil
}

// startWatch implements Store.Watch on top of a source. The initial list
// (or, for fromRevision > 0, the state at fromRevision that the caller is
// assumed to hold) is read before returning so that an unreachable
// datastore is reported as an error.
func startWatch(ctx context.Context, src watchSource, fromRevision int64, kinds []Kind) (<-chan Event, error) {
	if fromRevision < 0 {
		return nil, errors.New("watch: negative revision")
	}
	prefix, set, err := watchPrefix(kinds)
	if err != nil {
		return nil, err
	}
	w := &watcher{src: src, prefix: prefix, kinds: set, out: make(chan Event, watchBuffer),
		sent: map[string]int64{}}
	var initial []rawKV
	if fromRevision == 0 {
		initial, w.rev, err = src.listRaw(ctx, prefix, 0)
		w.lastResync = time.Now()
	} else {
		w.rev = fromRevision
		err = w.seed(ctx)
	}
	if err != nil {
		return nil, err
	}
	go w.run(ctx, initial, fromRevision == 0)
	return w.out, nil
}

// seed records the state at w.rev as already sent. If that revision is
// compacted the watcher starts with a re-list instead (every object then
// arrives as Added; deletions before the re-list cannot be reported).
func (w *watcher) seed(ctx context.Context) error {
	kvs, _, err := w.src.listRaw(ctx, w.prefix, w.rev)
	if errors.Is(err, errCompacted) {
		w.needResync = true
		return nil
	}
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		if _, ok := w.parse(kv.Key); ok {
			w.sent[kv.Key] = kv.ModRev
		}
	}
	return nil
}

// parse returns the key of a path if the watcher reports it.
func (w *watcher) parse(path string) (Key, bool) {
	k, ok := ParsePath(path)
	if !ok || (w.kinds != nil && !w.kinds[k.Kind]) {
		return Key{}, false
	}
	return k, true
}

func (w *watcher) run(ctx context.Context, initial []rawKV, synced bool) {
	defer close(w.out)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.src.closed():
			cancel()
		case <-ctx.Done():
		}
	}()
	if synced && !w.sendDiff(ctx, initial, w.rev) {
		return
	}
	for ctx.Err() == nil {
		if w.needResync && !w.resync(ctx) {
			return
		}
		w.needResync = true
		wctx, wcancel := context.WithCancel(ctx)
		w.consume(ctx, w.src.watchRaw(wctx, w.prefix, w.rev+1))
		wcancel()
	}
}

// consume forwards a stream until it breaks or ctx is done.
func (w *watcher) consume(ctx context.Context, stream <-chan rawBatch) {
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-stream:
			if !ok || b.Err != nil {
				return
			}
			for _, ev := range b.Events {
				if !w.forward(ctx, ev) {
					return
				}
			}
		}
	}
}

// forward turns one raw event into an Event, remembers it and sends it.
func (w *watcher) forward(ctx context.Context, ev rawEvent) bool {
	if ev.KV.ModRev > w.rev {
		w.rev = ev.KV.ModRev
	}
	k, ok := w.parse(ev.KV.Key)
	if !ok {
		return true
	}
	// Old is what the datastore reports as the previous value (etcd's
	// prev_kv); the watcher keeps only revisions of what it sent, not the
	// values: a watch of the whole datastore would otherwise hold a copy
	// of it (an agent at 250k pods: about 150 MB).
	prev := ev.Prev
	out := Event{Type: ev.Type, Key: k, Revision: ev.KV.ModRev}
	if prev != nil && ev.Type != Added {
		out.Old = readStored(k, prev.Value, prev.ModRev)
	}
	if ev.Type == Deleted {
		delete(w.sent, ev.KV.Key)
	} else {
		// An undecodable value is sent as an *api.Unreadable, so that a
		// running consumer and one that starts later see the same thing.
		out.Object = readStored(k, ev.KV.Value, ev.KV.ModRev)
		w.sent[ev.KV.Key] = ev.KV.ModRev
	}
	return w.send(ctx, out)
}

func (w *watcher) send(ctx context.Context, ev Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// resync re-lists (at least minResyncInterval after the previous list,
// backing off while the datastore fails) and sends the differences.
func (w *watcher) resync(ctx context.Context) bool {
	backoff := minResyncInterval
	for {
		if !sleepCtx(ctx, time.Until(w.lastResync.Add(backoff))) {
			return false
		}
		w.lastResync = time.Now()
		kvs, rev, err := w.src.listRaw(ctx, w.prefix, 0)
		if err == nil {
			w.needResync = false
			return w.sendDiff(ctx, kvs, rev)
		}
		backoff = min(backoff*2, maxResyncBackoff)
	}
}

// sendDiff sends what changed between the sent set and a list read at rev,
// in key order (Added and Modified, then Deleted), then Synced.
func (w *watcher) sendDiff(ctx context.Context, kvs []rawKV, rev int64) bool {
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		if _, ok := w.parse(kv.Key); !ok {
			continue
		}
		seen[kv.Key] = true
		modRev, had := w.sent[kv.Key]
		if had && modRev == kv.ModRev {
			continue
		}
		ev := rawEvent{Type: Added, KV: kv}
		if had {
			ev = rawEvent{Type: Modified, KV: kv} // the old value is gone: no Old
		}
		if !w.forward(ctx, ev) {
			return false
		}
	}
	var gone []string
	for key := range w.sent {
		if !seen[key] {
			gone = append(gone, key)
		}
	}
	slices.SortFunc(gone, strings.Compare)
	for _, key := range gone {
		if !w.forward(ctx, rawEvent{Type: Deleted, KV: rawKV{Key: key, ModRev: rev}}) {
			return false
		}
	}
	w.rev = rev
	return w.send(ctx, Event{Type: Synced, Revision: rev})
}

// sleepCtx waits d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
