package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/palisade-net/palisade/integrity"
	"github.com/palisade-net/palisade/rollback"
	"github.com/palisade-net/palisade/store"
)

func init() {
	register(newConfirmCmd)
	register(newChangesCmd)
}

// etcdClient is the etcd client under the session's store (nil for a
// store that is not etcd).
func (s *session) etcdClient() *clientv3.Client {
	st := s.st
	if w, ok := st.(*integrity.Store); ok {
		st = w.Store
	}
	if e, ok := st.(interface{ Client() *clientv3.Client }); ok {
		return e.Client()
	}
	return nil
}

// recordChange records, before a write with --confirm-within, what the
// keys hold now, so that the server can restore them at the deadline.
func (s *session) recordChange(st *streams, within time.Duration, verb string, keys []store.Key) error {
	if within <= 0 || len(keys) == 0 {
		return nil
	}
	cli := s.etcdClient()
	if cli == nil {
		return errors.New("--confirm-within needs an etcd datastore (the server rolls changes back)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	prior, err := rollback.Capture(ctx, s.st, keys)
	if err != nil {
		return err
	}
	c := rollback.Change{ID: rollback.NewID(), Created: time.Now(), Deadline: time.Now().Add(within), Command: verb, Prior: prior}
	if err := rollback.Record(ctx, cli, c); err != nil {
		return s.wrap(err)
	}
	fmt.Fprintf(st.err, "change %s: run `palisade confirm %s` within %v, or the server rolls it back\n", c.ID, c.ID, within)
	return nil
}

func newConfirmCmd(s *streams) *cobra.Command {
	o := &datastoreOpts{}
	c := &cobra.Command{
		Use:   "confirm ID...",
		Short: "Keep a change made with --confirm-within (else the server rolls it back at its deadline)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, ids []string) error {
			ss, err := openSession(o)
			if err != nil {
				return failErr(s, err)
			}
			defer ss.close()
			cli := ss.etcdClient()
			if cli == nil {
				return fail(s, "confirm needs an etcd datastore")
			}
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			for _, id := range ids {
				if err := rollback.Confirm(ctx, cli, id); err != nil {
					return fail(s, "%v", ss.wrap(err))
				}
				fmt.Fprintf(s.out, "change %s confirmed\n", id)
			}
			return nil
		},
	}
	addDatastoreFlags(c, o)
	return c
}

func newChangesCmd(s *streams) *cobra.Command {
	o := &datastoreOpts{}
	c := &cobra.Command{
		Use:   "changes",
		Short: "List the changes awaiting `palisade confirm`, with the time left before the server rolls them back",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ss, err := openSession(o)
			if err != nil {
				return failErr(s, err)
			}
			defer ss.close()
			cli := ss.etcdClient()
			if cli == nil {
				return fail(s, "changes needs an etcd datastore")
			}
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			changes, err := rollback.List(ctx, cli)
			if err != nil {
				return failErr(s, ss.wrap(err))
			}
			tw := tabwriter.NewWriter(s.out, 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "ID\tCOMMAND\tROLLBACK IN\tOBJECTS\t")
			for _, c := range changes {
				var keys []string
				for _, p := range c.Prior {
					keys = append(keys, p.Key.String())
				}
				left := time.Until(c.Deadline).Round(time.Second)
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t\n", c.ID, c.Command, max(left, 0), strings.Join(keys, ","))
			}
			return tw.Flush()
		},
	}
	addDatastoreFlags(c, o)
	return c
}
