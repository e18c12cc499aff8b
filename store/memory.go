package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/palisade-net/palisade/api"
)

// Memory is an in-memory Store with etcd's semantics: a revision counter
// bumped by every write, resourceVersion = the key's modification
// revision, values kept as JSON, watches from any revision not compacted.
// It is meant for unit tests, and has hooks to inject failures (FailNext),
// break watches (BreakWatches) and compact history (Compact).
type Memory struct {
	mu        sync.Mutex
	rev       int64
	compacted int64 // watches and lists below this revision fail
	kvs       map[string]memKV
	log       []rawEvent // changes after compacted, in revision order
	notify    chan struct{}
	gen       int64 // bumped by BreakWatches
	fail      map[string][]error
	done      chan struct{}
	closeOnce sync.Once
}

type memKV struct {
	value  []byte
	modRev int64
}

var _ Store = (*Memory)(nil)

// Operation names for FailNext.
var memoryOps = []string{"Get", "List", "Create", "Update", "Delete", "Watch"}

// NewMemory returns an empty in-memory store at revision 1.
func NewMemory() *Memory {
	return &Memory{rev: 1, kvs: map[string]memKV{}, notify: make(chan struct{}),
		fail: map[string][]error{}, done: make(chan struct{})}
}

// FailNext makes the next call of op ("Get", "List", "Create", "Update",
// "Delete" or "Watch") return err; calls queue up. "List" also covers the
// lists a watch makes (its start and its re-lists).
func (m *Memory) FailNext(op string, err error) {
	if !slices.Contains(memoryOps, op) {
		panic(fmt.Sprintf("store.Memory.FailNext: unknown operation %q", op))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail[op] = append(m.fail[op], err)
}

// BreakWatches ends every running watch stream with an error, as a lost
// etcd connection would; the watchers re-list.
func (m *Memory) BreakWatches() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.wake()
}

// Compact forgets history before rev, like etcd's compaction: watches
// behind it re-list.
func (m *Memory) Compact(rev int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rev = min(rev, m.rev)
	if rev <= m.compacted {
		return
	}
	m.compacted = rev
	i := sort.Search(len(m.log), func(i int) bool { return m.log[i].KV.ModRev >= rev })
	m.log = slices.Clone(m.log[i:])
	m.wake()
}

// Revision returns the current store revision.
func (m *Memory) Revision() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev
}

// Close ends every watch. Calls after Close fail.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() { close(m.done) })
	return nil
}

func (m *Memory) closed() <-chan struct{} { return m.done }

// begin locks m and returns the injected failure for op, if any.
func (m *Memory) begin(op string) error {
	m.mu.Lock()
	select {
	case <-m.done:
		return errors.New("memory store is closed")
	default:
	}
	if q := m.fail[op]; len(q) > 0 {
		m.fail[op] = q[1:]
		return q[0]
	}
	return nil
}

// wake tells watch streams that something changed. Callers hold mu.
// PutRaw stores value at k as it is, undecoded (RawPutter).
func (m *Memory) PutRaw(_ context.Context, k Key, value []byte) error {
	if err := checkKey(k); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	typ := Added
	if _, ok := m.kvs[k.Path()]; ok {
		typ = Modified
	}
	m.write(typ, k.Path(), value)
	return nil
}

func (m *Memory) wake() {
	close(m.notify)
	m.notify = make(chan struct{})
}

// write records a change at a new revision. Callers hold mu.
func (m *Memory) write(typ EventType, path string, value []byte) {
	m.rev++
	ev := rawEvent{Type: typ, KV: rawKV{Key: path, Value: value, ModRev: m.rev}}
	if old, ok := m.kvs[path]; ok {
		ev.Prev = &rawKV{Key: path, Value: old.value, ModRev: old.modRev}
	}
	if typ == Deleted {
		ev.KV.Value = nil
		delete(m.kvs, path)
	} else {
		m.kvs[path] = memKV{value: value, modRev: m.rev}
	}
	m.log = append(m.log, ev)
	m.wake()
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, k Key) (api.Object, error) {
	err := m.begin("Get")
	defer m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", k, err)
	}
	if err := checkKey(k); err != nil {
		return nil, err
	}
	kv, ok := m.kvs[k.Path()]
	if !ok {
		return nil, &NotFoundError{Key: k}
	}
	return getStored(k, kv.value, kv.modRev)
}

// List implements Store.
func (m *Memory) List(ctx context.Context, kind Kind, namespace string) ([]api.Object, int64, error) {
	if err := checkKind(kind); err != nil {
		return nil, 0, err
	}
	kvs, rev, err := m.listRaw(ctx, ListPrefix(kind, namespace), 0)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", kind, err)
	}
	return readList(kvs), rev, nil
}

// listRaw returns the keys under prefix at rev (0: current), rebuilding a
// past state by undoing the logged changes after it.
func (m *Memory) listRaw(_ context.Context, prefix string, rev int64) ([]rawKV, int64, error) {
	err := m.begin("List")
	defer m.mu.Unlock()
	switch {
	case err != nil:
		return nil, 0, err
	case rev == 0:
		rev = m.rev
	case rev < m.compacted:
		return nil, 0, fmt.Errorf("list at revision %d: %w (compacted to %d)", rev, errCompacted, m.compacted)
	case rev > m.rev:
		return nil, 0, fmt.Errorf("list at revision %d: future revision (current %d)", rev, m.rev)
	}
	state := map[string]rawKV{}
	for path, kv := range m.kvs {
		if strings.HasPrefix(path, prefix) {
			state[path] = rawKV{Key: path, Value: kv.value, ModRev: kv.modRev}
		}
	}
	for i := len(m.log) - 1; i >= 0 && m.log[i].KV.ModRev > rev; i-- {
		ev := m.log[i]
		if !strings.HasPrefix(ev.KV.Key, prefix) {
			continue
		}
		if ev.Prev != nil {
			state[ev.KV.Key] = *ev.Prev
		} else {
			delete(state, ev.KV.Key)
		}
	}
	out := make([]rawKV, 0, len(state))
	for _, kv := range state {
		out = append(out, kv)
	}
	slices.SortFunc(out, func(a, b rawKV) int { return strings.Compare(a.Key, b.Key) })
	return out, rev, nil
}

// Create implements Store.
func (m *Memory) Create(ctx context.Context, o api.Object) (api.Object, error) {
	k, err := checkObject(o)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	if o.GetResourceVersion() != "" {
		return nil, fmt.Errorf("create %s: metadata.resourceVersion must not be set", k)
	}
	value, err := encodeStored(o, stampNew)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	err = m.begin("Create")
	defer m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", k, err)
	}
	if _, ok := m.kvs[k.Path()]; ok {
		return nil, &AlreadyExistsError{Key: k}
	}
	m.write(Added, k.Path(), value)
	return decodeStored(k.Kind, value, m.rev)
}

// Update implements Store.
func (m *Memory) Update(ctx context.Context, o api.Object) (api.Object, error) {
	k, err := checkObject(o)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	want, err := parseRevision(k, o.GetResourceVersion())
	if err != nil {
		return nil, err
	}
	err = m.begin("Update")
	defer m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", k, err)
	}
	cur, ok := m.kvs[k.Path()]
	if !ok {
		return nil, &NotFoundError{Key: k}
	}
	if want != 0 && cur.modRev != want {
		return nil, staleError(k, want, cur.modRev)
	}
	value, err := encodeStored(o, stampStored(k, cur.value, cur.modRev))
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	m.write(Modified, k.Path(), value)
	return decodeStored(k.Kind, value, m.rev)
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, k Key, resourceVersion string) (api.Object, error) {
	if err := checkKey(k); err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	want, err := parseRevision(k, resourceVersion)
	if err != nil {
		return nil, err
	}
	err = m.begin("Delete")
	defer m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("delete %s: %w", k, err)
	}
	cur, ok := m.kvs[k.Path()]
	if !ok {
		return nil, &NotFoundError{Key: k}
	}
	if want != 0 && cur.modRev != want {
		return nil, staleError(k, want, cur.modRev)
	}
	m.write(Deleted, k.Path(), nil)
	return readStored(k, cur.value, cur.modRev), nil
}

// Watch implements Store.
func (m *Memory) Watch(ctx context.Context, fromRevision int64, kinds ...Kind) (<-chan Event, error) {
	err := m.begin("Watch")
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	ch, err := startWatch(ctx, m, fromRevision, kinds)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	return ch, nil
}

// watchRaw streams logged changes under prefix from revision from.
func (m *Memory) watchRaw(ctx context.Context, prefix string, from int64) <-chan rawBatch {
	out := make(chan rawBatch, 1)
	m.mu.Lock()
	gen := m.gen
	m.mu.Unlock()
	go func() {
		defer close(out)
		for {
			b, next, notify := m.pending(prefix, from, gen)
			from = next
			if b.Err != nil || len(b.Events) > 0 {
				select {
				case out <- b:
				case <-ctx.Done():
					return
				}
				if b.Err != nil {
					return
				}
			}
			select {
			case <-notify:
			case <-ctx.Done():
				return
			case <-m.done:
				return
			}
		}
	}()
	return out
}

// pending returns the changes under prefix from revision from, the next
// revision to read, and a channel closed on the next change.
func (m *Memory) pending(prefix string, from, gen int64) (rawBatch, int64, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.gen != gen:
		return rawBatch{Err: errors.New("watch broken (BreakWatches)")}, from, m.notify
	case from < m.compacted:
		return rawBatch{Err: fmt.Errorf("watch from %d: %w", from, errCompacted)}, from, m.notify
	}
	var b rawBatch
	i := sort.Search(len(m.log), func(i int) bool { return m.log[i].KV.ModRev >= from })
	for _, ev := range m.log[i:] {
		if strings.HasPrefix(ev.KV.Key, prefix) {
			b.Events = append(b.Events, ev)
		}
	}
	return b, m.rev + 1, m.notify
}
