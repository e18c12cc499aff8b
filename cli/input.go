package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/palisade-net/palisade/api"
	yaml "go.yaml.in/yaml/v3"
)

// inputItem is one resource of the -f input, in input order: a decoded,
// validated object or the error that stopped it.
type inputItem struct {
	obj   api.Object
	err   error  // a *api.DocumentError when obj is nil
	kind  string // the kind, when it could be read
	nsSet bool   // the document gave metadata.namespace itself
	src   string
	index int
	line  int
}

// InputError: an -f argument could not be read; nothing is attempted.
type InputError struct{ Err error }

func (e *InputError) Error() string { return "failed to execute command: " + e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

// NoResourcesError: an -f argument held no resource.
type NoResourcesError struct {
	Where string // "file F" or "directory D"
}

func (e *NoResourcesError) Error() string { return "no resources specified in " + e.Where }

// readInputs reads every -f argument in order (a file, a directory's
// .yaml/.yml/.json files, or - for standard input) into resources in input
// order. Documents that do not decode or validate become items with an
// error; they are never written. A path that cannot be read, or that holds
// no resource (unless skipEmpty), fails the whole input. scanNS asks which
// documents name their namespace (needed only with -n or -A; without, a
// decoded namespace counts as given).
func readInputs(paths []string, recursive, skipEmpty, scanNS bool, stdin io.Reader) ([]inputItem, error) {
	var out []inputItem
	for _, p := range paths {
		if p == "-" {
			if stdin == nil {
				stdin = strings.NewReader("")
			}
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, &InputError{Err: fmt.Errorf("reading standard input: %w", err)}
			}
			items := decodeInput("<stdin>", data, scanNS)
			if len(items) == 0 && !skipEmpty {
				return nil, &NoResourcesError{Where: "file -"}
			}
			out = append(out, items...)
			continue
		}
		files, err := expand(p, recursive)
		if err != nil {
			return nil, &InputError{Err: err}
		}
		n := len(out)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, &InputError{Err: err}
			}
			items := decodeInput(f, data, scanNS)
			if len(items) == 0 && !skipEmpty {
				return nil, &NoResourcesError{Where: "file " + f}
			}
			out = append(out, items...)
		}
		if len(out) == n && !skipEmpty {
			return nil, &NoResourcesError{Where: "directory " + p}
		}
	}
	return out, nil
}

// decodeInput decodes one source and puts documents and document errors
// back in input order.
func decodeInput(src string, data []byte, scanNS bool) []inputItem {
	docs, errs := api.Decode(src, data)
	var nsByLine nsLines
	if scanNS {
		nsByLine = namespaceLines(data)
	}
	var items []inputItem
	for _, d := range docs {
		it := inputItem{obj: d.Object, kind: api.KindOf(d.Object), src: src, index: d.Index, line: d.Line}
		if scanNS {
			it.nsSet = nsByLine.take(d.Line)
		} else {
			it.nsSet = d.Object.GetNamespace() != ""
		}
		items = append(items, it)
	}
	for _, e := range errs {
		it := inputItem{err: e, src: src}
		var de *api.DocumentError
		if errors.As(e, &de) {
			it.kind, it.index, it.line = de.Kind, de.Index, de.Line
		}
		items = append(items, it)
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].index != items[j].index {
			return items[i].index < items[j].index
		}
		return items[i].line < items[j].line
	})
	return items
}

// nsLines records, per line where a resource starts, whether each resource
// starting there names its namespace (api.Decode fills in "default", so the
// decoded object cannot tell; -n needs to know, docs/api.md §8.2).
type nsLines map[int][]bool

// take pops the answer for the next resource starting at line; unknown
// lines count as "not given".
func (m nsLines) take(line int) bool {
	q := m[line]
	if len(q) == 0 {
		return false
	}
	m[line] = q[1:]
	return q[0]
}

// namespaceLines scans data the way api.Decode splits it: chunks between
// lines starting with "---", YAML (or JSON) documents in each, a document
// being a resource, a list of resources or a List object with items.
func namespaceLines(data []byte) nsLines {
	out := nsLines{}
	start, startLine, line := 0, 1, 1
	flush := func(end int) {
		scanChunk(data[start:end], startLine-1, out)
	}
	for pos := 0; pos <= len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		if bytes.HasPrefix(data[pos:end], []byte("---")) {
			flush(pos)
			start, startLine = min(end+1, len(data)), line+1
		}
		pos = end + 1
		line++
	}
	flush(len(data))
	return out
}

func scanChunk(chunk []byte, off int, out nsLines) {
	dec := yaml.NewDecoder(bytes.NewReader(chunk))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return
		}
		root := &doc
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			root = doc.Content[0]
		}
		scanNode(root, off, out)
	}
}

func scanNode(n *yaml.Node, off int, out nsLines) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, it := range n.Content {
			scanResource(it, off, out)
		}
	case yaml.MappingNode:
		if items := mapValue(n, "items"); items != nil && isListKindName(scalarValue(mapValue(n, "kind"))) {
			if items.Kind == yaml.SequenceNode {
				for _, it := range items.Content {
					scanResource(it, off, out)
				}
			}
			return
		}
		scanResource(n, off, out)
	}
}

func isListKindName(kind string) bool {
	return len(kind) > 4 && kind[len(kind)-4:] == "List" || kind == "List"
}

func scanResource(n *yaml.Node, off int, out nsLines) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return
	}
	given := scalarValue(mapValue(mapValue(n, "metadata"), "namespace")) != ""
	out[n.Line+off] = append(out[n.Line+off], given)
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			for v != nil && v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}
