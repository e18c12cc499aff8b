package cli

import (
	"fmt"
	"strings"

	"github.com/palisade-net/palisade/store"
	"github.com/spf13/cobra"
)

func newDelete(s *streams) *cobra.Command {
	o := &crudOpts{}
	c := &cobra.Command{
		Use:   "delete (KIND NAME... | KIND --all [-n NS | -A] | -f FILENAME) [-s]",
		Short: "Delete resources named on the command line or in a file",
		Long: "delete removes each resource in turn. A resourceVersion in the input is a precondition.\n" +
			"With --skip-not-exists, resources that do not exist count as deleted.",
		Example: "  palisade delete gnp default-node-policy\n  palisade delete -f policy.yaml\n  palisade delete networkpolicy --all -n staging",
		RunE:    func(_ *cobra.Command, args []string) error { return runDelete(s, o, args) },
	}
	c.ValidArgsFunction = completeNames(&o.ds, &o.namespace, &o.allNS)
	addCRUDFlags(c, o)
	c.Flags().BoolVarP(&o.skipAbsent, "skip-not-exists", "s", false, "treat resources that do not exist as deleted")
	c.Flags().BoolVar(&o.all, "all", false, "delete every resource of KIND (in the namespace, or with -A in all)")
	c.Flags().BoolVarP(&o.allNS, "all-namespaces", "A", false, "with --all: in every namespace")
	return c
}

// deleteTarget is one resource to delete: its key, or why it cannot be.
type deleteTarget struct {
	key store.Key
	rv  string
	err error
}

func deleteTargets(s *streams, o *crudOpts, args []string) ([]deleteTarget, string, error) {
	if len(o.files) > 0 {
		if len(args) > 0 {
			return nil, "", fail(s, "give either KIND NAME... or -f FILENAME, not both")
		}
		items, err := readForWrite(s, o)
		if err != nil {
			return nil, "", err
		}
		var out []deleteTarget
		for _, it := range items {
			if it.err != nil {
				out = append(out, deleteTarget{err: cliError(it.err)})
				continue
			}
			out = append(out, deleteTarget{key: store.KeyOf(it.obj), rv: it.obj.GetResourceVersion()})
		}
		return out, singleKind(items), nil
	}
	if len(args) == 0 {
		return nil, "", fail(s, "no resources specified: give KIND NAME... or -f FILENAME")
	}
	kind, err := lookupKind(args[0])
	if err != nil {
		return nil, "", fail(s, "%v", err)
	}
	names := args[1:]
	if o.all {
		if len(names) > 0 {
			return nil, "", fail(s, "give either NAME... or --all, not both")
		}
		targets, err := allTargets(o, kind)
		if err != nil {
			return nil, "", failErr(s, err)
		}
		return targets, kindName(kind), nil
	}
	if len(names) == 0 {
		return nil, "", fail(s, "resource name may not be empty")
	}
	var out []deleteTarget
	for _, n := range names {
		if n == "" {
			return nil, "", fail(s, "resource name may not be empty")
		}
		ns, err := resolveNamespace(kind, "", o.namespace, false)
		out = append(out, deleteTarget{key: store.Key{Kind: kind, Namespace: ns, Name: n}, err: err})
	}
	return out, kindName(kind), nil
}

// allTargets lists every resource of kind in the namespace (or all of
// them with -A), as delete --all removes them.
func allTargets(o *crudOpts, kind store.Kind) ([]deleteTarget, error) {
	ns, err := resolveNamespace(kind, "", o.namespace, o.allNS)
	if err != nil {
		return nil, err
	}
	ss, err := openSession(&o.ds)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	objs, _, err := ss.list(kind, ns)
	if err != nil {
		return nil, err
	}
	out := make([]deleteTarget, 0, len(objs))
	for _, obj := range objs {
		out = append(out, deleteTarget{key: store.KeyOf(obj)})
	}
	return out, nil
}

func runDelete(s *streams, o *crudOpts, args []string) error {
	targets, kind, err := deleteTargets(s, o, args)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintln(s.out, "No resources specified")
		return nil
	}
	ss, err := openSession(&o.ds)
	if err != nil {
		return failErr(s, err)
	}
	defer ss.close()
	if err := ss.probe(); err != nil {
		return failErr(s, err)
	}
	var keys []store.Key
	for _, tg := range targets {
		if tg.err == nil {
			keys = append(keys, tg.key)
		}
	}
	if err := ss.guardWrite(nil, keys, o.force); err != nil {
		return fail(s, "%v", err)
	}
	if err := ss.recordChange(s, o.confirm, "delete", keys); err != nil {
		return failErr(s, err)
	}
	t := tally{resources: len(targets), kind: kind}
	for _, tg := range targets {
		err := tg.err
		if err == nil {
			_, err = ss.deleteObject(tg.key, tg.rv)
			if o.skipAbsent && store.IsNotFound(err) {
				err = nil
			}
		}
		if store.IsUnavailable(err) {
			return failErr(s, err)
		}
		if err != nil {
			t.errs = append(t.errs, err)
			continue
		}
		t.handled++
	}
	return reportDelete(s, t)
}

// reportDelete prints calicoctl's delete summary: the count deleted, then
// one line per failure (docs/api.md §8.3).
func reportDelete(s *streams, t tally) error {
	kind := ""
	if t.kind != "" {
		kind = "'" + t.kind + "' "
	}
	if t.handled > 0 {
		fmt.Fprintf(s.out, "Successfully deleted %d %sresource(s)\n", t.handled, kind)
	}
	if len(t.errs) == 0 {
		return nil
	}
	var b strings.Builder
	for _, e := range t.errs {
		fmt.Fprintf(&b, "Failed to delete %sresource: %v\n", kind, e)
	}
	return fail(s, "%s", strings.TrimSuffix(b.String(), "\n"))
}
