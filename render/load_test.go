package render

import (
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/policy"
)

// loadExample builds a model from the embedded examples: each entry is a
// file or a directory (its .yaml files in name order), like -f.
func loadExample(t testing.TB, entries ...string) *policy.Model {
	t.Helper()
	var objs []api.Object
	for _, e := range entries {
		for _, f := range exampleFiles(t, e) {
			data, err := fs.ReadFile(examples.FS, f)
			if err != nil {
				t.Fatal(err)
			}
			docs, errs := api.Decode(f, data)
			if len(errs) > 0 {
				t.Fatalf("%s: %v", f, errs)
			}
			for _, d := range docs {
				objs = append(objs, d.Object)
			}
		}
	}
	m, err := policy.NewModel(objs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func exampleFiles(t testing.TB, p string) []string {
	st, err := fs.Stat(examples.FS, p)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() {
		return []string{p}
	}
	ents, err := fs.ReadDir(examples.FS, p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			out = append(out, path.Join(p, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}
