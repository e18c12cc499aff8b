package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/palisade-net/palisade/api"
	"k8s.io/client-go/util/jsonpath"
)

// kubectl's output formats: -o jsonpath=TEMPLATE (jsonpath-file=PATH) and
// -o custom-columns=HEADER:.path,... (told apart from calicoctl's
// custom-columns=COL,... by the colon).

// generic turns an object into the plain JSON value jsonpath walks.
func generic(v any) (any, error) {
	data, err := api.EncodeJSON(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// parseJSONPath checks a template as kubectl does (braces optional).
func parseJSONPath(name, tmpl string) (*jsonpath.JSONPath, error) {
	jp := jsonpath.New(name).AllowMissingKeys(true)
	if !strings.Contains(tmpl, "{") {
		tmpl = "{" + tmpl + "}"
	}
	if err := jp.Parse(tmpl); err != nil {
		return nil, &OutputFormatError{fmt.Sprintf("error parsing jsonpath %s, %v", tmpl, err)}
	}
	return jp, nil
}

// runJSONPath prints the template over the results: one object as
// itself, a list as kubectl's {"kind": "List", "items": [...]}.
func runJSONPath(w io.Writer, tmpl string, results []getResult) error {
	jp, err := parseJSONPath("out", tmpl)
	if err != nil {
		return err
	}
	var data any
	if len(results) == 1 && !results[0].list && len(results[0].objs) == 1 {
		if data, err = generic(results[0].objs[0]); err != nil {
			return err
		}
	} else {
		var items []any
		for _, r := range results {
			for _, o := range r.objs {
				g, err := generic(o)
				if err != nil {
					return err
				}
				items = append(items, g)
			}
		}
		data = map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
	}
	return jp.Execute(w, data)
}

// kubeColumn is one HEADER:.path column.
type kubeColumn struct {
	header string
	path   *jsonpath.JSONPath
}

// parseKubeColumns reads kubectl's custom-columns spec.
func parseKubeColumns(spec string) ([]kubeColumn, error) {
	var cols []kubeColumn
	for _, part := range strings.Split(spec, ",") {
		header, path, ok := strings.Cut(part, ":")
		if !ok || header == "" || path == "" {
			return nil, &OutputFormatError{fmt.Sprintf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)}
		}
		jp, err := parseJSONPath(header, path)
		if err != nil {
			return nil, err
		}
		cols = append(cols, kubeColumn{header: header, path: jp})
	}
	return cols, nil
}

// writeKubeColumns prints one row per object, kubectl's way (<none> for
// a missing value).
func writeKubeColumns(w io.Writer, cols []kubeColumn, results []getResult) error {
	tw := tabwriter.NewWriter(w, 5, 8, 3, ' ', 0)
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	for _, r := range results {
		for _, o := range r.objs {
			g, err := generic(o)
			if err != nil {
				return err
			}
			cells := make([]string, len(cols))
			for i, c := range cols {
				vals, err := c.path.FindResults(g)
				if err != nil || len(vals) == 0 || len(vals[0]) == 0 {
					cells[i] = "<none>"
					continue
				}
				var parts []string
				for _, v := range vals[0] {
					parts = append(parts, fmt.Sprint(v.Interface()))
				}
				cells[i] = strings.Join(parts, ",")
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	return tw.Flush()
}
