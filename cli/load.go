package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/api"
)

// manifestExts are the file types read from directories (docs/api.md §8.2).
var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// loadManifests reads every -f argument in order: a file, a directory (its
// .yaml, .yml and .json files in name order; recursively with recursive) or
// "-" for standard input. It returns the decoded documents and one error per
// bad document or unreadable path.
func loadManifests(paths []string, recursive bool, stdin io.Reader) ([]api.Document, []error) {
	var docs []api.Document
	var errs []error
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading standard input: %w", err))
				continue
			}
			d, e := api.Decode("<stdin>", data)
			docs, errs = append(docs, d...), append(errs, e...)
			continue
		}
		files, err := expand(p, recursive)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(files) == 0 {
			errs = append(errs, fmt.Errorf("no resources specified in directory %s", p))
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading %s: %w", f, err))
				continue
			}
			d, e := api.Decode(f, data)
			if len(d) == 0 && len(e) == 0 {
				e = []error{fmt.Errorf("no resources specified in file %s", f)}
			}
			docs, errs = append(docs, d...), append(errs, e...)
		}
	}
	return docs, errs
}

func expand(p string, recursive bool) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var out []string
	err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != p && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		if manifestExts[strings.ToLower(filepath.Ext(path))] {
			out = append(out, path)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func objects(docs []api.Document) []api.Object {
	out := make([]api.Object, len(docs))
	for i, d := range docs {
		out[i] = d.Object
	}
	return out
}

// loadFS reads manifests from a file system (the embedded examples): each
// path is a file or a directory whose manifests are read recursively in
// name order.
func loadFS(fsys fs.FS, paths []string) ([]api.Document, []error) {
	var docs []api.Document
	var errs []error
	for _, p := range paths {
		err := fs.WalkDir(fsys, p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !manifestExts[strings.ToLower(filepath.Ext(path))] {
				return err
			}
			data, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			ds, es := api.Decode(path, data)
			docs, errs = append(docs, ds...), append(errs, es...)
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return docs, errs
}
