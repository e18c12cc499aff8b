package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

// StandIn is a minimal node agent for the lab, used with --enforcer standin
// (`palisade lab enforcer`): it watches the whole datastore and, after
// each burst of changes, renders the node's ruleset from the full model and
// applies it to the namespace it runs in. It registers nothing and serves
// no health endpoint; `palisade agent` is the real thing.
func StandIn(ctx context.Context, node string, endpoints []string, log io.Writer) error {
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: endpoints})
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := nft.NewKernel(nft.Config{})
	if err != nil {
		return err
	}
	var events <-chan store.Event
	for {
		if events, err = st.Watch(ctx, 0); err == nil {
			break
		}
		fmt.Fprintf(log, "watch: %v\n", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	objs := map[store.Key]api.Object{}
	synced, dirty, applied := false, false, ""
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return errors.New("the watch ended")
			}
			switch ev.Type {
			case store.Added, store.Modified:
				objs[ev.Key] = ev.Object
			case store.Deleted:
				delete(objs, ev.Key)
			default:
				synced = true
			}
			dirty = true
		case <-tick.C:
			if !synced || !dirty || len(events) > 0 {
				continue
			}
			dirty = false
			if text, err := standInApply(ctx, k, node, objs, applied); err != nil {
				fmt.Fprintf(log, "apply: %v\n", err)
				dirty = true
			} else {
				applied = text
			}
		}
	}
}

func standInApply(ctx context.Context, k *nft.Kernel, node string, objs map[store.Key]api.Object, applied string) (string, error) {
	keys := make([]store.Key, 0, len(objs))
	for key := range objs {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b store.Key) int { return strings.Compare(a.Path(), b.Path()) })
	list := make([]api.Object, len(keys))
	for i, key := range keys {
		list[i] = objs[key]
	}
	m, err := policy.NewModel(list)
	var be *policy.BuildError
	if err != nil && !errors.As(err, &be) {
		return applied, err
	}
	rs, err := render.Node(m, node)
	if err != nil {
		return applied, err
	}
	rs = render.Compile(rs) // the form the agent programs by default
	text := rs.Text()
	if text == applied {
		return applied, nil
	}
	return text, k.Apply(ctx, rs)
}
