package rollback

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

// Prefix is where pending changes are recorded.
const Prefix = "/palisade/changes/"

// Prior is what one object was before the change: its value (as YAML
// apply reads), or empty when it did not exist.
type Prior struct {
	Key    store.Key `json:"key"`
	Object string    `json:"object,omitempty"`
}

// Change is one pending, unconfirmed change.
type Change struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	Deadline time.Time `json:"deadline"`
	Command  string    `json:"command,omitempty"`
	Prior    []Prior   `json:"prior"`
}

// NewID returns a fresh change ID.
func NewID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Capture reads the current value of every key (for the record).
func Capture(ctx context.Context, st store.Store, keys []store.Key) ([]Prior, error) {
	out := make([]Prior, 0, len(keys))
	for _, k := range keys {
		o, err := st.Get(ctx, k)
		switch {
		case store.IsNotFound(err):
			out = append(out, Prior{Key: k})
		case err != nil:
			return nil, fmt.Errorf("reading %s before the change: %w", k, err)
		default:
			data, err := api.EncodeYAML(o)
			if err != nil {
				return nil, err
			}
			out = append(out, Prior{Key: k, Object: string(data)})
		}
	}
	return out, nil
}

// Record stores a pending change.
func Record(ctx context.Context, cli *clientv3.Client, c Change) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = cli.Put(ctx, Prefix+c.ID, string(data))
	return err
}

// ErrNoChange: nothing pending under that ID (confirmed, rolled back, or
// never made).
var ErrNoChange = errors.New("no pending change")

// Confirm removes a pending change's record: it stays as made.
func Confirm(ctx context.Context, cli *clientv3.Client, id string) error {
	resp, err := cli.Delete(ctx, Prefix+id)
	if err != nil {
		return err
	}
	if resp.Deleted == 0 {
		return fmt.Errorf("%w %s (already confirmed, or rolled back at its deadline)", ErrNoChange, id)
	}
	return nil
}

// List returns the pending changes, oldest first.
func List(ctx context.Context, cli *clientv3.Client) ([]Change, error) {
	resp, err := cli.Get(ctx, Prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, kv := range resp.Kvs {
		var c Change
		if json.Unmarshal(kv.Value, &c) == nil {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Restore puts every object of c back as it was, newest first on a key
// touched twice (the order recorded).
func Restore(ctx context.Context, st store.Store, c Change) error {
	var errs []error
	for i := len(c.Prior) - 1; i >= 0; i-- {
		p := c.Prior[i]
		if err := restoreOne(ctx, st, p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Key, err))
		}
	}
	return errors.Join(errs...)
}

func restoreOne(ctx context.Context, st store.Store, p Prior) error {
	cur, err := st.Get(ctx, p.Key)
	exists := err == nil
	if err != nil && !store.IsNotFound(err) {
		var u *store.UnreadableError
		if !errors.As(err, &u) {
			return err
		}
		exists = true
	}
	if p.Object == "" {
		if !exists {
			return nil
		}
		_, err := st.Delete(ctx, p.Key, "")
		if store.IsNotFound(err) {
			return nil
		}
		return err
	}
	docs, errs := api.Decode("rollback", []byte(p.Object))
	if len(errs) > 0 || len(docs) != 1 {
		return fmt.Errorf("the recorded value does not decode: %v", errs)
	}
	o := docs[0].Object
	o.SetResourceVersion("")
	if !exists {
		_, err := st.Create(ctx, o)
		return err
	}
	if cur != nil {
		o.SetResourceVersion(cur.GetResourceVersion())
	}
	_, err = st.Update(ctx, o)
	return err
}

// Run rolls back, until ctx ends, every change whose deadline passed
// (checking every interval): the elected server runs it.
func Run(ctx context.Context, cli *clientv3.Client, st store.Store, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changes, err := List(ctx, cli)
		if err != nil {
			continue
		}
		for _, c := range changes {
			if time.Now().Before(c.Deadline) {
				continue
			}
			// Claim it first: a confirm that races wins or loses as a whole.
			resp, err := cli.Delete(ctx, Prefix+c.ID)
			if err != nil || resp.Deleted == 0 {
				continue
			}
			keys := make([]string, 0, len(c.Prior))
			for _, p := range c.Prior {
				keys = append(keys, p.Key.String())
			}
			if err := Restore(ctx, st, c); err != nil {
				log.Error("rolling back an unconfirmed change failed in part", "change", c.ID, "error", err)
				continue
			}
			log.Warn("rolled back an unconfirmed change at its deadline", "change", c.ID, "command", c.Command,
				"objects", strings.Join(keys, ", "))
		}
	}
}
