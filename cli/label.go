package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
)

func init() { register(newLabel) }

type labelOpts struct {
	ds        datastoreOpts
	overwrite bool
	remove    bool
	all       bool
	namespace string
}

func newLabel(s *streams) *cobra.Command {
	o := &labelOpts{}
	c := &cobra.Command{
		Use:   "label KIND (NAME | --all) (key=value [--overwrite] | key --remove)",
		Short: "Set or remove a label on resources",
		Long: "label sets or removes one label, as calicoctl label does. For nodes it works like kubectl label\n" +
			"nodes: a node may exist as a Calico Node and as a Kubernetes Node, and both are labelled.",
		Example: "  palisade label nodes node1 environment=dev\n  palisade label nodes --all kubernetes-host=\n" +
			"  palisade label nodes node1 environment --remove",
		RunE: func(_ *cobra.Command, args []string) error { return runLabel(s, o, args) },
	}
	f := c.Flags()
	f.BoolVar(&o.overwrite, "overwrite", false, "replace the value of a label that is already set")
	f.BoolVar(&o.remove, "remove", false, "remove the label instead of setting it")
	f.BoolVar(&o.all, "all", false, "label every resource of KIND (in the namespace, for namespaced kinds)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of a namespaced kind (default \"default\")")
	addDatastoreFlags(c, &o.ds)
	return c
}

// labelChange is the requested change.
type labelChange struct {
	kindArg    string
	key, value string
	remove     bool
	overwrite  bool
}

// LabelError is one of label's refusals, in calicoctl's words.
type LabelError struct{ Msg string }

func (e *LabelError) Error() string { return e.Msg }

func parseLabelArgs(o *labelOpts, args []string) (labelChange, []string, error) {
	want := 3
	if o.all {
		want = 2
	}
	if len(args) != want {
		return labelChange{}, nil, &LabelError{"usage: palisade label KIND (NAME | --all) (key=value [--overwrite] | key --remove)"}
	}
	if o.remove && o.overwrite {
		return labelChange{}, nil, &LabelError{"--overwrite and --remove cannot be used together"}
	}
	ch := labelChange{kindArg: args[0], remove: o.remove, overwrite: o.overwrite}
	arg := args[len(args)-1]
	if o.remove {
		ch.key = arg
	} else {
		kv := strings.Split(arg, "=")
		if len(kv) != 2 {
			return ch, nil, &LabelError{"invalid label " + arg}
		}
		ch.key, ch.value = kv[0], kv[1]
		if errs := validation.IsValidLabelValue(ch.value); len(errs) > 0 {
			return ch, nil, &LabelError{fmt.Sprintf("invalid label %s: %s", arg, strings.Join(errs, "; "))}
		}
	}
	if errs := validation.IsQualifiedName(ch.key); len(errs) > 0 {
		return ch, nil, &LabelError{fmt.Sprintf("invalid label %s: %s", arg, strings.Join(errs, "; "))}
	}
	var names []string
	if !o.all {
		names = []string{args[1]}
	}
	return ch, names, nil
}

// labelKinds is what a KIND argument labels: nodes are Calico Nodes and
// Kubernetes Nodes.
func labelKinds(kind store.Kind) []store.Kind {
	if kind == api.KindNode || kind == store.KindK8sNode {
		return []store.Kind{api.KindNode, store.KindK8sNode}
	}
	return []store.Kind{kind}
}

func runLabel(s *streams, o *labelOpts, args []string) error {
	ch, names, err := parseLabelArgs(o, args)
	if err != nil {
		return fail(s, "%v", err)
	}
	kind, err := lookupKind(ch.kindArg)
	if err != nil {
		return fail(s, "%v", err)
	}
	ns, err := resolveNamespace(kind, "", o.namespace, false)
	if err != nil {
		return fail(s, "%v", err)
	}
	ss, err := openSession(&o.ds)
	if err != nil {
		return failErr(s, err)
	}
	defer ss.close()
	kinds := labelKinds(kind)
	if o.all {
		if names, err = allNames(ss, kinds, ns); err != nil {
			return failErr(s, err)
		}
	}
	var errs []string
	for _, name := range names {
		msg, err := labelOne(ss, kinds, ns, name, ch)
		if store.IsUnavailable(err) {
			return failErr(s, err)
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprintln(s.out, msg)
	}
	if len(errs) > 0 {
		return fail(s, "%s", strings.Join(errs, "\n"))
	}
	return nil
}

// allNames lists the names of every object of the kinds, sorted, once each.
func allNames(ss *session, kinds []store.Kind, ns string) ([]string, error) {
	seen := map[string]bool{}
	for _, k := range kinds {
		objs, _, err := ss.list(k, ns)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			seen[o.GetName()] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// labelOne changes the label on every existing object named name and
// returns the success message. A conflict (someone else wrote the object
// meanwhile) re-reads and retries, so concurrent labels are never lost.
func labelOne(ss *session, kinds []store.Kind, ns, name string, ch labelChange) (string, error) {
	overwritten := false
	for attempt := 0; ; attempt++ {
		objs, err := fetchAll(ss, kinds, ns, name, ch.kindArg)
		if err != nil {
			return "", err
		}
		ow, err := changeLabels(objs, name, ch)
		if err != nil {
			return "", err
		}
		if attempt == 0 {
			overwritten = ow
		}
		err = updateAll(ss, objs)
		if store.IsConflict(err) && attempt+1 < updateAttempts {
			time.Sleep(retryPause())
			continue
		}
		if err != nil {
			if store.IsUnavailable(err) {
				return "", err
			}
			return "", &LabelError{fmt.Sprintf("failed to update %s %s, label not changed: %v", ch.kindArg, name, err)}
		}
		break
	}
	switch {
	case ch.remove:
		return fmt.Sprintf("Successfully removed label %s from %s %s", ch.key, ch.kindArg, name), nil
	case overwritten:
		return fmt.Sprintf("Successfully updated label %s on %s %s", ch.key, ch.kindArg, name), nil
	}
	return fmt.Sprintf("Successfully set label %s on %s %s", ch.key, ch.kindArg, name), nil
}

func fetchAll(ss *session, kinds []store.Kind, ns, name, kindArg string) ([]api.Object, error) {
	var objs []api.Object
	for _, k := range kinds {
		o, err := ss.get(store.Key{Kind: k, Namespace: ns, Name: name})
		switch {
		case store.IsNotFound(err):
			continue
		case store.IsUnavailable(err):
			return nil, err
		case err != nil:
			return nil, &LabelError{fmt.Sprintf("failed to get %s %s, error %v", kindArg, name, err)}
		}
		objs = append(objs, o)
	}
	if len(objs) == 0 {
		return nil, &LabelError{fmt.Sprintf("%s %s not found", kindArg, name)}
	}
	return objs, nil
}

// changeLabels applies the change to each object's labels and reports
// whether the key was already there.
func changeLabels(objs []api.Object, name string, ch labelChange) (bool, error) {
	overwritten, found := false, false
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		old, ok := labels[ch.key]
		found = found || ok
		switch {
		case ch.remove:
			delete(labels, ch.key)
		case ok && old != ch.value && !ch.overwrite:
			return false, &LabelError{fmt.Sprintf(
				"failed to update label of %s %s, key %s is already present. please use '--overwrite' to set a new value.",
				ch.kindArg, name, ch.key)}
		default:
			overwritten = overwritten || ok
			labels[ch.key] = ch.value
		}
		o.SetLabels(labels)
	}
	if ch.remove && !found {
		return false, &LabelError{fmt.Sprintf("cannot remove label of %s %s, key %s does not exist", ch.kindArg, name, ch.key)}
	}
	return overwritten, nil
}

// updateAll writes each object with the resourceVersion it was read at.
func updateAll(ss *session, objs []api.Object) error {
	for _, o := range objs {
		if _, err := ss.update(o); err != nil {
			return err
		}
	}
	return nil
}
