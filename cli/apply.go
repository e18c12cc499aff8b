package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
)

func init() {
	register(newApply)
	register(newCreate)
	register(newReplace)
	register(newDelete)
}

// crudOpts are the flags of apply, create, replace and delete.
type crudOpts struct {
	ds         datastoreOpts
	files      []string
	recursive  bool
	skipEmpty  bool
	namespace  string
	skipExists bool          // create
	skipAbsent bool          // delete
	all        bool          // delete --all
	allNS      bool          // delete -A
	force      bool          // skip the lockout guard
	confirm    time.Duration // roll back unless confirmed within
}

func addCRUDFlags(c *cobra.Command, o *crudOpts) {
	addFileFlags(c, &o.files, &o.recursive)
	c.Flags().BoolVar(&o.skipEmpty, "skip-empty", false, "do not fail when a file or directory holds no resource")
	c.Flags().StringVarP(&o.namespace, "namespace", "n", "", "namespace of namespaced resources that name none (default \"default\")")
	c.Flags().DurationVar(&o.confirm, "confirm-within", 0, "roll the change back unless `palisade confirm ID` comes within this\n"+
		"long (the server rolls back, even if this connection is cut)")
	c.Flags().BoolVar(&o.force, "force", false, "write even if the change would cut this command's path to the datastore,\n"+
		"the SSH session it runs in, or a node's agent's path to the datastore")
	addDatastoreFlags(c, &o.ds)
}

// writeVerb describes one of the file-driven write commands.
type writeVerb struct {
	name, past string
	do         func(s *session, o api.Object) error
}

var (
	verbApply = writeVerb{"apply", "applied", func(s *session, o api.Object) error {
		_, err := s.applyObject(o)
		return err
	}}
	verbReplace = writeVerb{"replace", "replaced", func(s *session, o api.Object) error {
		_, err := s.updateObject(o, "apply or replace")
		return err
	}}
)

func verbCreate(skipExists bool) writeVerb {
	return writeVerb{"create", "created", func(s *session, o api.Object) error {
		_, err := s.createObject(o, "create or apply")
		if skipExists && store.IsAlreadyExists(err) {
			return nil
		}
		return err
	}}
}

func newApply(s *streams) *cobra.Command {
	o := &crudOpts{}
	c := &cobra.Command{
		Use:   "apply -f FILENAME",
		Short: "Create or replace resources from a file, a directory or standard input",
		Long: "apply creates each resource, or replaces it when it exists (as calicoctl apply does).\n" +
			"Every document is validated first; an invalid one is reported and never written.",
		Example: "  cat <<EOF | palisade apply -f -\n  ...\n  EOF",
		Args:    cobra.NoArgs,
		RunE:    func(*cobra.Command, []string) error { return runWrite(s, o, verbApply) },
	}
	addCRUDFlags(c, o)
	return c
}

func newCreate(s *streams) *cobra.Command {
	o := &crudOpts{}
	c := &cobra.Command{
		Use:   "create (-f FILENAME | namespace NAME) [--skip-exists]",
		Short: "Create resources from a file, a directory or standard input",
		Long: "create creates each resource of -f (failing for those that exist, unless --skip-exists).\n" +
			"As with kubectl, `create namespace NAME` creates a namespace without a file.",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return runCreateArgs(s, o, args)
			}
			return runWrite(s, o, verbCreate(o.skipExists))
		},
	}
	addCRUDFlags(c, o)
	c.Flags().BoolVar(&o.skipExists, "skip-exists", false, "treat resources that already exist as created")
	return c
}

// runCreateArgs is create with a kind on the command line: only
// `create namespace NAME` (kubectl's) makes sense without a file.
func runCreateArgs(s *streams, o *crudOpts, args []string) error {
	kind, err := lookupKind(args[0])
	if err != nil || kind != store.KindK8sNamespace || len(args) != 2 || len(o.files) > 0 {
		return fail(s, "create takes its resources from -f FILENAME (a file, a directory or - for standard input), "+
			"e.g. `cat <<EOF | palisade create -f -`; only `create namespace NAME` needs no file")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: args[1]}}
	api.SetTypeMeta(ns)
	if errs := api.Validate(ns); len(errs) > 0 {
		return fail(s, "namespace %q: %v", args[1], errs[0])
	}
	ss, err := openSession(&o.ds)
	if err != nil {
		return failErr(s, err)
	}
	defer ss.close()
	if _, err := ss.create(ns); err != nil && !(o.skipExists && store.IsAlreadyExists(err)) {
		return failErr(s, err)
	}
	fmt.Fprintf(s.out, "namespace/%s created\n", args[1])
	return nil
}

func newReplace(s *streams) *cobra.Command {
	o := &crudOpts{}
	c := &cobra.Command{
		Use:   "replace -f FILENAME",
		Short: "Replace existing resources from a file, a directory or standard input",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return runWrite(s, o, verbReplace) },
	}
	addCRUDFlags(c, o)
	return c
}

// tally counts what a command did, as calicoctl's CommandResults.
type tally struct {
	resources, handled int
	errs               []error
	kind               string // single kind, or ""
	unknown            bool   // the last write's outcome is unknown (the datastore went away)
}

// readForWrite reads -f and places every resource in its namespace; it
// prints and returns the failure when the input cannot be used at all.
func readForWrite(s *streams, o *crudOpts) ([]inputItem, error) {
	if len(o.files) == 0 {
		return nil, fail(s, "no resources specified: give -f FILENAME (a file, a directory or - for standard input)")
	}
	items, err := readInputs(o.files, o.recursive, o.skipEmpty, o.namespace != "", s.in)
	if err != nil {
		return nil, failErr(s, err)
	}
	for i := range items {
		if items[i].obj != nil {
			if err := placeItem(&items[i], o.namespace); err != nil {
				items[i].obj, items[i].err = nil, err
			}
		}
	}
	return items, nil
}

func runWrite(s *streams, o *crudOpts, v writeVerb) error {
	items, err := readForWrite(s, o)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		fmt.Fprintln(s.out, "No resources specified")
		return nil
	}
	t := tally{resources: len(items), kind: singleKind(items)}
	var ss *session
	if anyValid(items) { // with nothing to write, the datastore is not needed
		if ss, err = openSession(&o.ds); err != nil {
			return failErr(s, err)
		}
		defer ss.close()
		if err := ss.ensureInitialized(); err != nil {
			return failErr(s, err)
		}
		var writes []api.Object
		for _, it := range items {
			if it.err == nil {
				writes = append(writes, it.obj)
			}
		}
		if err := ss.guardWrite(writes, nil, o.force); err != nil {
			return fail(s, "%v", err)
		}
		keys := make([]store.Key, 0, len(writes))
		for _, w := range writes {
			keys = append(keys, store.KeyOf(w))
		}
		if err := ss.recordChange(s, o.confirm, v.name, keys); err != nil {
			return failErr(s, err)
		}
	}
	for _, it := range items {
		err := it.err
		if err == nil {
			err = v.do(ss, it.obj)
		}
		if store.IsUnavailable(err) {
			// The datastore went away during this write: it may have been
			// stored. Say so, with what did succeed, and stop.
			t.errs = append(t.errs, &OutcomeUnknownError{ID: api.ID(it.obj), Err: errors.New(unreachable(err))})
			t.unknown = true
			break
		}
		if err != nil {
			t.errs = append(t.errs, cliError(err))
			continue
		}
		t.handled++
	}
	return reportWrite(s, v, t)
}

// OutcomeUnknownError: the datastore became unreachable during a write, so
// the object may or may not have been stored.
type OutcomeUnknownError struct {
	ID  string
	Err error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s: the datastore became unreachable during the write, so it may or may not have been stored "+
		"(check with 'palisade get' when the datastore is back; later resources were not attempted): %v", e.ID, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

func anyValid(items []inputItem) bool {
	for _, it := range items {
		if it.err == nil {
			return true
		}
	}
	return false
}

// reportWrite prints calicoctl's summary (docs/api.md §8.3).
func reportWrite(s *streams, v writeVerb, t tally) error {
	kind := ""
	if t.kind != "" {
		kind = "'" + t.kind + "' "
	}
	switch {
	case t.unknown && t.handled == 0:
		return fail(s, "could not confirm that the %s of %sresources succeeded: %v", v.name, kind, errList(t.errs))
	case t.handled == 0 && t.resources == 1:
		return fail(s, "failed to %s %sresource: %v", v.name, kind, errList(t.errs))
	case t.handled == 0:
		return fail(s, "failed to %s any %sresources: %v", v.name, kind, errList(t.errs))
	case len(t.errs) == 0:
		fmt.Fprintf(s.out, "Successfully %s %d %sresource(s)\n", v.past, t.handled, kind)
		return nil
	}
	fmt.Fprintf(s.out, "Partial success: %s the first %d out of %d %sresources:\n", v.past, t.handled, t.resources, kind)
	return fail(s, "hit error: %v", errList(t.errs))
}

// errList renders errors as calicoctl does, as a Go slice: [e1 e2].
type errList []error

func (l errList) String() string { return fmt.Sprint([]error(l)) }

// cliError renders decoding and validation errors in calicoctl's words
// where scripts match them ("error with field", "field in document is not
// recognized"), keeping palisade's location prefix.
func cliError(err error) error {
	var de *api.DocumentError
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		return err
	}
	return &docError{de}
}

// docError is an *api.DocumentError printed in calicoctl's style.
type docError struct{ de *api.DocumentError }

func (e *docError) Unwrap() error { return e.de }

func (e *docError) Error() string {
	prefix := docPrefix(e.de)
	render := func(f api.FieldError) string {
		if f.Rule == api.RuleUnknownField {
			return api.RuleUnknownField + ": " + f.Field
		}
		return fmt.Sprintf("%s = '%s' (%s)", f.Field, f.Value, f.Rule)
	}
	if len(e.de.Fields) == 1 {
		f := e.de.Fields[0]
		if f.Rule == api.RuleUnknownField {
			return prefix + render(f)
		}
		return prefix + "error with field " + render(f)
	}
	msg := prefix + "error with the following fields:"
	for _, f := range e.de.Fields {
		msg += "\n-  " + render(f)
	}
	return msg
}

func docPrefix(de *api.DocumentError) string {
	p := ""
	if de.Source != "" {
		p += de.Source + ": "
	}
	if de.Index > 0 {
		p += fmt.Sprintf("document %d", de.Index)
		if de.Line > 0 {
			p += fmt.Sprintf(" (line %d)", de.Line)
		}
		p += ": "
	}
	if de.Kind != "" {
		p += de.Kind
		if de.Name != "" {
			p += fmt.Sprintf(" %q", de.Name)
		}
		p += ": "
	}
	return p
}
