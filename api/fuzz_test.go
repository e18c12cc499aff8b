package api

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every document yields
// either an object or an error, and that what it accepts survives encoding
// and decoding again.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"testdata/seeds", "testdata/defaults", "testdata/misc"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"", "---", "[]", "{}", "null", "- a\n- b", "kind: List\napiVersion: v1\nitems: [{}]",
		"apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: a}\nspec: &a {order: *a}",
		`[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","ports":[{"containerPort":1}]}]}}]`,
		"apiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata: {name: default.a, annotations: {projectcalico.org/metadata: '{}'}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, errs := Decode("fuzz", data)
		for _, e := range errs {
			if e == nil || e.Error() == "" {
				t.Fatalf("empty error in %v", errs)
			}
		}
		for _, d := range docs {
			if d.Object == nil {
				t.Fatal("document without object")
			}
			if fe := Validate(d.Object); len(fe) > 0 {
				t.Fatalf("decoded object fails validation: %v", fe)
			}
			out, err := EncodeYAML(d.Object)
			if err != nil {
				t.Fatalf("encode %s: %v", ID(d.Object), err)
			}
			if _, err := DecodeOne("again", out); err != nil {
				t.Fatalf("re-decode of %s failed: %v\n%s", ID(d.Object), err, out)
			}
		}
	})
}
