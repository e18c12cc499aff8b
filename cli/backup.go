package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/kube/convert"
	"github.com/palisade-net/palisade/server"
	"github.com/palisade-net/palisade/store"
)

func init() { register(newDatastoreCmd) }

func newDatastoreCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "datastore",
		Short: "Back up and restore the datastore: export, import, snapshot",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newExportCmd(s), newImportCmd(s), newSnapshotCmd(s))
	return c
}

// backupOrder lists the stored kinds so that what an object refers to
// comes before it (namespaces, tiers and profiles before what names them).
func backupOrder() []store.Kind {
	first := []store.Kind{store.KindK8sNamespace, store.KindK8sServiceAcct, store.Kind(api.KindTier), store.Kind(api.KindProfile),
		store.Kind(api.KindFelixConfiguration), store.Kind(api.KindKubeControllersConfiguration),
		store.Kind(api.KindNode), store.KindK8sNode}
	out := append([]store.Kind(nil), first...)
	for _, k := range store.AllKinds() {
		if !slices.Contains(first, k) {
			out = append(out, k)
		}
	}
	return out
}

func newExportCmd(s *streams) *cobra.Command {
	o := &datastoreOpts{}
	c := &cobra.Command{
		Use:   "export",
		Short: "Print every stored resource as YAML, ready to import: no resourceVersion, uid or timestamps",
		Long: "export prints every resource of every kind, in an order `datastore import` (and `apply`) can write them\n" +
			"back in: namespaces, tiers and profiles before what refers to them. Objects the server mirrors from\n" +
			"Kubernetes are left out (the server mirrors them again), and so are stored values that cannot be\n" +
			"read (each is named on standard error, and the exit status is 1).",
		Example: "  palisade datastore export > backup.yaml",
		Args:    cobra.NoArgs,
		RunE:    func(*cobra.Command, []string) error { return runExport(s, o) },
	}
	addDatastoreFlags(c, o)
	return c
}

func runExport(s *streams, o *datastoreOpts) error {
	sess, err := openSession(o)
	if err != nil {
		return err
	}
	defer sess.close()
	var objs []api.Object
	mirrored, bad := 0, 0
	for _, kind := range backupOrder() {
		list, _, err := sess.list(kind, "")
		if err != nil {
			return failErr(s, err)
		}
		for _, obj := range list {
			if u, ok := obj.(*api.Unreadable); ok {
				fmt.Fprintf(s.err, "left out: %s cannot be read: %s\n", store.KeyOf(u), u.Err)
				bad++
				continue
			}
			if _, ok := obj.GetAnnotations()[convert.SourceAnnotation]; ok {
				mirrored++
				continue
			}
			stripForBackup(obj)
			objs = append(objs, obj)
		}
	}
	fmt.Fprintf(s.out, "# palisade datastore export: %d resources", len(objs))
	if mirrored > 0 {
		fmt.Fprintf(s.out, "; %d mirrored from Kubernetes left out (the server mirrors them again)", mirrored)
	}
	fmt.Fprintln(s.out)
	for _, obj := range objs {
		data, err := api.EncodeYAML(obj)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "---\n%s", data)
	}
	if bad > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// stripForBackup removes what ties an object to this datastore.
func stripForBackup(o api.Object) {
	o.SetUID("")
	o.SetResourceVersion("")
	o.SetCreationTimestamp(metav1.Time{})
	o.SetGeneration(0)
	o.SetManagedFields(nil)
}

func newImportCmd(s *streams) *cobra.Command {
	o := &datastoreOpts{}
	var files []string
	c := &cobra.Command{
		Use:   "import -f FILE",
		Short: "Write an export into an empty datastore (one holding only the default resources)",
		Long: "import reads an export (or any manifests), validates all of it first (nothing is written if anything\n" +
			"is invalid), refuses a datastore that holds more than the default resources, then writes every\n" +
			"object in dependency order; the default resources are replaced by the export's.",
		Example: "  palisade datastore import -f backup.yaml",
		Args:    cobra.NoArgs,
		RunE:    func(*cobra.Command, []string) error { return runImport(s, o, files) },
	}
	c.Flags().StringSliceVarP(&files, "filename", "f", nil, "the export to import (- for standard input)")
	addDatastoreFlags(c, o)
	return c
}

func runImport(s *streams, o *datastoreOpts, files []string) error {
	if len(files) == 0 {
		return errors.New("datastore import needs -f FILE")
	}
	items, err := readInputs(files, false, false, false, s.in)
	if err != nil {
		return failErr(s, err)
	}
	var objs []api.Object
	var bad []string
	for _, it := range items {
		if it.err != nil {
			bad = append(bad, it.err.Error())
			continue
		}
		objs = append(objs, it.obj)
	}
	if len(bad) > 0 {
		return fmt.Errorf("nothing imported: %d document(s) are invalid:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	sess, err := openSession(o)
	if err != nil {
		return err
	}
	defer sess.close()
	defaults := map[store.Key]bool{}
	for _, d := range server.DefaultResources() {
		defaults[store.KeyOf(d)] = true
	}
	for _, kind := range store.AllKinds() {
		list, _, err := sess.list(kind, "")
		if err != nil {
			return failErr(s, err)
		}
		for _, obj := range list {
			if k := store.KeyOf(obj); !defaults[k] {
				return fmt.Errorf("the datastore is not empty (it holds %s): import writes into an empty datastore only", k)
			}
		}
	}
	rank := map[store.Kind]int{}
	for i, k := range backupOrder() {
		rank[k] = i
	}
	slices.SortStableFunc(objs, func(a, b api.Object) int { return rank[store.KindOf(a)] - rank[store.KindOf(b)] })
	written := 0
	for _, obj := range objs {
		k := store.KeyOf(obj)
		if defaults[k] {
			cur, err := sess.get(k)
			if err == nil {
				obj.SetResourceVersion(cur.GetResourceVersion())
				_, err = sess.update(obj)
			}
			if err != nil {
				return fmt.Errorf("importing %s (%d of %d written): %w", k, written, len(objs), err)
			}
		} else if _, err := sess.create(obj); err != nil {
			return fmt.Errorf("importing %s (%d of %d written): %w", k, written, len(objs), err)
		}
		written++
	}
	fmt.Fprintf(s.out, "Successfully imported %d resource(s)\n", written)
	return nil
}

func newSnapshotCmd(s *streams) *cobra.Command {
	c := &cobra.Command{Use: "snapshot", Short: "etcd snapshots of the datastore", Args: cobra.NoArgs}
	o := &datastoreOpts{}
	save := &cobra.Command{
		Use:   "save FILE",
		Short: "Save an etcd snapshot of the whole datastore (every key, with its history) to FILE",
		Long: "snapshot save streams an etcd v3 snapshot from the datastore's member to FILE. Restore it with etcd's\n" +
			"own tools (etcdutl snapshot restore) into a new data directory; `datastore export` is the portable\n" +
			"backup that `datastore import` restores.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return runSnapshot(s, o, args[0]) },
	}
	addDatastoreFlags(save, o)
	c.AddCommand(save)
	return c
}

func runSnapshot(s *streams, o *datastoreOpts, path string) error {
	cfg, err := resolveDatastore(o)
	if err != nil {
		return err
	}
	st, err := newStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	e, ok := st.(interface{ Client() *clientv3.Client })
	if !ok {
		return errors.New("snapshot needs an etcd datastore")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*opTimeout)
	defer cancel()
	rc, err := e.Client().Snapshot(ctx)
	if err != nil {
		return failErr(s, err)
	}
	defer rc.Close()
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "Snapshot saved to %s (%d bytes)\n", path, n)
	return nil
}
