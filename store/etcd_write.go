package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/palisade-net/palisade/api"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Create implements Store: txn If(version==0) Then(Put) Else(Get).
func (e *Etcd) Create(ctx context.Context, o api.Object) (api.Object, error) {
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
	var out api.Object
	err = e.call(ctx, "create "+k.String(), func(ctx context.Context) error {
		path := k.Path()
		resp, err := e.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Version(path), "=", 0)).
			Then(clientv3.OpPut(path, string(value))).
			Else(clientv3.OpGet(path, clientv3.WithKeysOnly())).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return &AlreadyExistsError{Key: k}
		}
		out, err = decodeStored(k.Kind, value, resp.Header.Revision)
		return err
	})
	return out, err
}

// Update implements Store. It reads the stored object (for its uid and
// creationTimestamp, and to tell a missing object from a stale version),
// then writes with txn If(mod_revision==read revision). Without a
// resourceVersion in o, a write that loses a race is retried on the new
// value: the caller asked for last-writer-wins.
func (e *Etcd) Update(ctx context.Context, o api.Object) (api.Object, error) {
	k, err := checkObject(o)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	want, err := parseRevision(k, o.GetResourceVersion())
	if err != nil {
		return nil, err
	}
	var out api.Object
	err = e.call(ctx, "update "+k.String(), func(ctx context.Context) error {
		for range maxUpdateAttempts {
			var retry bool
			out, retry, err = e.updateOnce(ctx, k, o, want)
			if !retry {
				return err
			}
		}
		return &ConflictError{Key: k, Detail: "too many concurrent writers"}
	})
	return out, err
}

// maxUpdateAttempts bounds the retries of an Update without
// resourceVersion that keeps losing races.
const maxUpdateAttempts = 20

func (e *Etcd) updateOnce(ctx context.Context, k Key, o api.Object, want int64) (api.Object, bool, error) {
	path := k.Path()
	cur, err := e.cli.Get(ctx, path)
	if err != nil {
		return nil, false, err
	}
	if len(cur.Kvs) == 0 {
		return nil, false, &NotFoundError{Key: k}
	}
	kv := cur.Kvs[0]
	if want != 0 && kv.ModRevision != want {
		return nil, false, staleError(k, want, kv.ModRevision)
	}
	value, err := encodeStored(o, stampStored(k, kv.Value, kv.ModRevision))
	if err != nil {
		return nil, false, err
	}
	resp, err := e.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(path), "=", kv.ModRevision)).
		Then(clientv3.OpPut(path, string(value))).
		Else(clientv3.OpGet(path, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return nil, false, err
	}
	if !resp.Succeeded {
		if rr := resp.Responses[0].GetResponseRange(); rr == nil || len(rr.Kvs) == 0 {
			return nil, false, &NotFoundError{Key: k}
		} else if want != 0 {
			return nil, false, staleError(k, want, rr.Kvs[0].ModRevision)
		}
		return nil, true, nil
	}
	out, err := decodeStored(k.Kind, value, resp.Header.Revision)
	return out, false, err
}

func staleError(k Key, want, have int64) error {
	return &ConflictError{Key: k, Detail: fmt.Sprintf("resourceVersion %d is out of date (current %d)", want, have)}
}

// Delete implements Store: Delete(WithPrevKV), guarded by
// If(mod_revision==resourceVersion) when one is given.
func (e *Etcd) Delete(ctx context.Context, k Key, resourceVersion string) (api.Object, error) {
	if err := checkKey(k); err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	want, err := parseRevision(k, resourceVersion)
	if err != nil {
		return nil, err
	}
	var out api.Object
	err = e.call(ctx, "delete "+k.String(), func(ctx context.Context) error {
		path := k.Path()
		txn := e.cli.Txn(ctx)
		if want != 0 {
			txn = txn.If(clientv3.Compare(clientv3.ModRevision(path), "=", want))
		}
		resp, err := txn.Then(clientv3.OpDelete(path, clientv3.WithPrevKV())).
			Else(clientv3.OpGet(path, clientv3.WithKeysOnly())).Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
				return staleError(k, want, rr.Kvs[0].ModRevision)
			}
			return &NotFoundError{Key: k}
		}
		dr := resp.Responses[0].GetResponseDeleteRange()
		if dr == nil || len(dr.PrevKvs) == 0 {
			return &NotFoundError{Key: k}
		}
		out = readStored(k, dr.PrevKvs[0].Value, dr.PrevKvs[0].ModRevision)
		return nil
	})
	return out, err
}

// Watch implements Store. One etcd watch serves the call: on the kind's
// prefix for a single kind, otherwise on the whole resources prefix with
// the kinds filtered in the client.
func (e *Etcd) Watch(ctx context.Context, fromRevision int64, kinds ...Kind) (<-chan Event, error) {
	ch, err := startWatch(ctx, e, fromRevision, kinds)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	return ch, nil
}

// watchRaw runs one etcd watch. WithRequireLeader makes a member cut off
// from its cluster end the watch (so the watcher re-lists elsewhere)
// instead of going silent.
func (e *Etcd) watchRaw(ctx context.Context, prefix string, from int64) <-chan rawBatch {
	out := make(chan rawBatch, 1)
	wch := e.cli.Watch(clientv3.WithRequireLeader(ctx), prefix,
		clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithPrevKV())
	go func() {
		defer close(out)
		for resp := range wch {
			var b rawBatch
			if err := resp.Err(); err != nil {
				b.Err = err
			} else if resp.Canceled {
				b.Err = errors.New("watch canceled by the server")
			}
			for _, ev := range resp.Events {
				b.Events = append(b.Events, convertEvent(ev))
			}
			if b.Err == nil && len(b.Events) == 0 {
				continue // progress notification
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
			if b.Err != nil {
				return
			}
		}
	}()
	return out
}

func convertEvent(ev *clientv3.Event) rawEvent {
	r := rawEvent{KV: rawKV{Key: string(ev.Kv.Key), Value: ev.Kv.Value, ModRev: ev.Kv.ModRevision}}
	switch {
	case ev.Type == mvccpb.DELETE:
		r.Type = Deleted
	case ev.IsCreate():
		r.Type = Added
	default:
		r.Type = Modified
	}
	if ev.PrevKv != nil {
		r.Prev = &rawKV{Key: string(ev.PrevKv.Key), Value: ev.PrevKv.Value, ModRev: ev.PrevKv.ModRevision}
	}
	return r
}

// PutRaw stores value at k as it is, undecoded (RawPutter).
func (e *Etcd) PutRaw(ctx context.Context, k Key, value []byte) error {
	if err := checkKey(k); err != nil {
		return err
	}
	return e.call(ctx, "put "+k.String(), func(ctx context.Context) error {
		_, err := e.cli.Put(ctx, k.Path(), string(value))
		return err
	})
}
