package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func init() { register(newGet) }

type getOpts struct {
	ds        datastoreOpts
	files     []string
	recursive bool
	skipEmpty bool
	output    string
	namespace string
	all       bool
	export    bool
	selector  string
}

func newGet(s *streams) *cobra.Command {
	o := &getOpts{}
	c := &cobra.Command{
		Use:   "get (KIND [NAME...] | -f FILENAME) [-o ps|wide|yaml|json|name|custom-columns=...|jsonpath=...]",
		Short: "Print resources from the datastore",
		Long: "get prints the named resources, or every resource of KIND, as calicoctl get does. KIND is a\n" +
			"Calico kind or one of its aliases (heps, gnp, policy, ...), case-insensitive.\n\n" + kindsHelp(),
		Example: "  palisade get heps -o wide\n  palisade get felixconfiguration default --export -o yaml",
		RunE:    func(_ *cobra.Command, args []string) error { return runGet(s, o, args) },
	}
	addFileFlags(c, &o.files, &o.recursive)
	f := c.Flags()
	f.BoolVar(&o.skipEmpty, "skip-empty", false, "do not fail when a file or directory holds no resource")
	f.StringVarP(&o.output, "output", "o", "ps", "output format: ps, wide, yaml, json, name, custom-columns=COL,... (or HEADER:.path,...), jsonpath=..., jsonpath-file=..., go-template=..., go-template-file=...")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of namespaced kinds (default \"default\")")
	f.BoolVarP(&o.all, "all-namespaces", "A", false, "list namespaced kinds across every namespace")
	f.BoolVar(&o.export, "export", false, "strip cluster-specific metadata (with NAME only)")
	f.StringVarP(&o.selector, "selector", "l", "", "only resources whose labels match, as kubectl's -l: k=v, k!=v, k in (a,b), k, !k")
	addDatastoreFlags(c, &o.ds)
	c.ValidArgsFunction = completeNames(&o.ds, &o.namespace, &o.all)
	// -a is calicoctl's old spelling of -A.
	f.BoolVarP(&o.all, "all-namespaces-compat", "a", false, "same as -A")
	_ = f.MarkHidden("all-namespaces-compat")
	return c
}

// getQuery is one Get or List to run.
type getQuery struct {
	key  store.Key // Name "" means list Kind in Namespace ("" for all)
	err  error     // a per-resource failure found before asking
	list bool
}

// getResult is what one query printed: an object, or a list of one kind.
type getResult struct {
	kind store.Kind
	objs []api.Object
	rev  int64
	list bool
}

func runGet(s *streams, o *getOpts, args []string) error {
	format, err := parseOutput(o.output)
	if err != nil {
		return fail(s, "%v", err)
	}
	sel := labels.Everything()
	if o.selector != "" {
		if sel, err = labels.Parse(o.selector); err != nil {
			return fail(s, "--selector %q: %v", o.selector, err)
		}
	}
	queries, err := getQueries(s, o, args)
	if err != nil {
		return err
	}
	if err := checkHeadings(format, queries, o); err != nil {
		return fail(s, "%v", err)
	}
	ss, err := openSession(&o.ds)
	if err != nil {
		return failErr(s, err)
	}
	defer ss.close()
	var results []getResult
	var errs []string
	for _, q := range queries {
		r, err := runQuery(ss, q)
		if store.IsUnavailable(err) {
			return fail(s, "failed to get resources: %s", unreachable(err))
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		r.objs, errs = dropUnreadable(r.objs, errs)
		if r.objs = selectLabels(r.objs, sel); !r.list && len(r.objs) == 0 {
			continue // a named resource the selector leaves out
		}
		if o.export && len(args) > 1 {
			exportStrip(r.objs)
		}
		results = append(results, r)
	}
	if err := printResults(s, format, results, o.namespace != "" || o.all); err != nil {
		return fail(s, "%v", err)
	}
	if len(errs) > 0 {
		return fail(s, "%s", strings.Join(errs, "\n"))
	}
	return nil
}

func getQueries(s *streams, o *getOpts, args []string) ([]getQuery, error) {
	if len(o.files) > 0 {
		if len(args) > 0 {
			return nil, fail(s, "give either KIND [NAME...] or -f FILENAME, not both")
		}
		items, err := readInputs(o.files, o.recursive, o.skipEmpty, o.namespace != "" || o.all, s.in)
		if err != nil {
			return nil, failErr(s, err)
		}
		var qs []getQuery
		for i := range items {
			it := &items[i]
			if it.err != nil {
				qs = append(qs, getQuery{err: cliError(it.err)})
				continue
			}
			if err := placeGetItem(it, o); err != nil {
				qs = append(qs, getQuery{err: err})
				continue
			}
			qs = append(qs, getQuery{key: store.KeyOf(it.obj)})
		}
		return qs, nil
	}
	if len(args) == 0 {
		return nil, fail(s, "no resources specified: give KIND [NAME...] or -f FILENAME")
	}
	kind, err := lookupKind(args[0])
	if err != nil {
		return nil, fail(s, "failed to get resources: %v", err)
	}
	ns, nsErr := resolveNamespace(kind, "", o.namespace, o.all)
	if len(args) == 1 {
		return []getQuery{{key: store.Key{Kind: kind, Namespace: ns}, list: true, err: nsErr}}, nil
	}
	var qs []getQuery
	for _, name := range args[1:] {
		if name == "" {
			return nil, fail(s, "failed to get resources: resource name may not be empty")
		}
		q := getQuery{key: store.Key{Kind: kind, Namespace: ns, Name: name}, err: nsErr}
		if nsErr == nil && o.all && kind.Namespaced() {
			q.err = errors.New("cannot use --all-namespace flag for getting a single resource")
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// placeGetItem resolves the namespace of a resource read with -f.
func placeGetItem(it *inputItem, o *getOpts) error {
	kind := store.KindOf(it.obj)
	resNS := it.obj.GetNamespace()
	if !it.nsSet {
		resNS = ""
	}
	ns, err := resolveNamespace(kind, resNS, o.namespace, o.all)
	if err != nil {
		return err
	}
	if ns == "" && kind.Namespaced() {
		return errors.New("cannot use --all-namespace flag for getting a single resource")
	}
	it.obj.SetNamespace(ns)
	return nil
}

// checkHeadings rejects unknown custom columns before the datastore is
// asked.
func checkHeadings(f outputFormat, qs []getQuery, o *getOpts) error {
	if f.kind != "custom" {
		return nil
	}
	for _, q := range qs {
		if q.err != nil || q.key.Kind == "" {
			continue
		}
		if _, err := specFor(q.key.Kind).headings(q.key.Kind, f.columns, false, o.namespace != "" || o.all); err != nil {
			return err
		}
	}
	return nil
}

func runQuery(ss *session, q getQuery) (getResult, error) {
	if q.err != nil {
		return getResult{}, q.err
	}
	if q.list {
		objs, rev, err := ss.listKind(q.key.Kind, q.key.Namespace)
		return getResult{kind: q.key.Kind, objs: objs, rev: rev, list: true}, err
	}
	obj, err := ss.getKey(q.key)
	if err != nil {
		return getResult{}, err
	}
	return getResult{kind: q.key.Kind, objs: []api.Object{obj}}, nil
}

// exportStrip removes what ties an object to one cluster (docs/api.md §8.4).
func exportStrip(objs []api.Object) {
	for _, o := range objs {
		o.SetNamespace("")
		o.SetUID("")
		o.SetResourceVersion("")
		o.SetCreationTimestamp(metav1.Time{})
		o.SetDeletionTimestamp(nil)
		o.SetDeletionGracePeriodSeconds(nil)
	}
}

func printResults(s *streams, f outputFormat, results []getResult, printNS bool) error {
	switch f.kind {
	case "jsonpath":
		return runJSONPath(s.out, f.tmpl, results)
	case "kubecolumns":
		return writeKubeColumns(s.out, f.kubeCols, results)
	case "name":
		for _, r := range results {
			for _, o := range r.objs {
				fmt.Fprintf(s.out, "%s/%s\n", resourceName(o), o.GetName())
			}
		}
		return nil
	case "yaml", "json", "template":
		var vs []any
		for _, r := range results {
			if r.list {
				vs = append(vs, api.NewList(kindName(r.kind), strconv.FormatInt(r.rev, 10), r.objs))
				continue
			}
			vs = append(vs, r.objs[0])
		}
		if len(vs) == 0 {
			return nil
		}
		if f.kind == "template" {
			return runTemplate(s.out, f.tmpl, vs)
		}
		return encodeResults(s.out, f.kind, vs)
	}
	for _, r := range results {
		hs, err := specFor(r.kind).headings(r.kind, f.columns, f.kind == "wide", printNS)
		if err != nil {
			return err
		}
		writeTable(s.out, r.kind, hs, r.objs)
	}
	return nil
}

// resourceName is kubectl's name of an object's resource in -o name:
// "pod", "networkpolicy.networking.k8s.io", "globalnetworkpolicy.projectcalico.org".
func resourceName(o api.Object) string {
	api.SetTypeMeta(o)
	gvk := o.GetObjectKind().GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group == "" {
		return kind
	}
	return kind + "." + gvk.Group
}

// selectLabels keeps the objects whose labels the selector (kubectl's -l
// syntax) matches.
func selectLabels(objs []api.Object, sel labels.Selector) []api.Object {
	out := objs[:0]
	for _, o := range objs {
		if sel.Matches(labels.Set(o.GetLabels())) {
			out = append(out, o)
		}
	}
	return out
}

// dropUnreadable takes the stand-ins for undecodable stored values out of a
// listing and reports each by its key: the rest is still printed.
func dropUnreadable(objs []api.Object, errs []string) ([]api.Object, []string) {
	out := objs[:0]
	for _, o := range objs {
		if u, ok := o.(*api.Unreadable); ok {
			k := store.KeyOf(u)
			errs = append(errs, fmt.Sprintf("cannot read %s (key %s): %s; "+
				"replace it with 'palisade apply' or remove it with 'palisade delete'", k, k.Path(), u.Err))
			continue
		}
		out = append(out, o)
	}
	return out, errs
}
