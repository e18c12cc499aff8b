package calc

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/examples"
	"github.com/palisade-net/palisade/policy"
)

// TestEngineExamples applies each seed walkthrough of examples/ file by
// file, on top of the lab topology, and checks after every file that an
// engine per node renders what the model renders.
func TestEngineExamples(t *testing.T) {
	topology := exampleManifests(t, "topology")
	for _, seed := range []string{"seed000", "seed001", "seed002", "seed003", "seed004"} {
		t.Run(seed, func(t *testing.T) {
			files := append(slices.Clone(topology), exampleManifests(t, seed)...)
			var objs []api.Object
			engines := map[string]*Engine{}
			for _, f := range files {
				for _, o := range decodeExample(t, f) {
					objs = append(objs, o)
					for _, e := range engines {
						e.OnUpdate(o)
					}
				}
				m, err := policy.NewModel(objs)
				var be *policy.BuildError
				if err != nil && !asBuildError(err, &be) {
					t.Fatal(err)
				}
				for _, n := range m.NodeNames() {
					e := engines[n]
					if e == nil {
						e = NewEngine(n)
						for _, o := range objs {
							e.OnUpdate(o)
						}
						engines[n] = e
					}
					if got, want := renderText(e.Source(), n), renderText(m, n); got != want {
						t.Fatalf("after %s, node %s: %s", f, n, firstDiff(got, want))
					}
					if got, want := problemsText(e.Problems()), modelProblems(be, n); got != want {
						t.Fatalf("after %s, node %s: problems\nengine: %s\nmodel:  %s", f, n, got, want)
					}
				}
			}
		})
	}
}

func asBuildError(err error, be **policy.BuildError) bool {
	b, ok := err.(*policy.BuildError)
	*be = b
	return ok
}

// exampleManifests lists the YAML files under dir, in name order.
func exampleManifests(t *testing.T, dir string) []string {
	var out []string
	err := fs.WalkDir(examples.FS, dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func decodeExample(t *testing.T, f string) []api.Object {
	data, err := fs.ReadFile(examples.FS, f)
	if err != nil {
		t.Fatal(err)
	}
	docs, errs := api.Decode(f, data)
	if len(errs) > 0 {
		return nil // a seed's deliberately broken manifest, which apply refuses
	}
	var out []api.Object
	for _, d := range docs {
		out = append(out, d.Object)
	}
	return out
}
