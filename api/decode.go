package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Document is one resource read by Decode.
type Document struct {
	Source string // the source name given to Decode
	Index  int    // 1-based index of the (non-empty) document in Source
	Line   int    // first line of the object in Source
	Object Object
}

// Decode splits data (YAML or JSON, several documents separated by lines
// starting with "---") into resources, and decodes each strictly, normalises,
// defaults and validates it (docs/api.md §8.2).
//
// A document may hold one resource, a YAML or JSON list of resources, or a
// "List" / "<Kind>List" object with items; empty documents are skipped. Each
// resource stands alone: it yields either a Document or one *DocumentError,
// and the others are still returned. Namespaced resources without a
// namespace get "default", as calicoctl and kubectl do.
func Decode(source string, data []byte) ([]Document, []error) {
	d := &decoder{source: source}
	for _, ch := range splitDocuments(data) {
		for _, pd := range parseChunk(ch) {
			d.index++
			if pd.err != nil {
				d.errs = append(d.errs, &DocumentError{Source: source, Index: d.index, Line: pd.line, Err: pd.err})
				continue
			}
			d.root(pd.root)
		}
	}
	return d.docs, d.errs
}

// DecodeOne decodes data that must hold exactly one resource.
func DecodeOne(source string, data []byte) (Object, error) {
	docs, errs := Decode(source, data)
	switch {
	case len(errs) == 1:
		return nil, errs[0]
	case len(errs) > 1:
		return nil, errors.Join(errs...)
	case len(docs) == 0:
		return nil, ErrNoResources
	case len(docs) > 1:
		return nil, ErrMultipleResources
	}
	return docs[0].Object, nil
}

type decoder struct {
	source string
	index  int
	docs   []Document
	errs   []error
}

func (d *decoder) fail(line int, kind, name string, fields []FieldError, err error) {
	d.errs = append(d.errs, &DocumentError{Source: d.source, Index: d.index, Line: line,
		Kind: kind, Name: name, Fields: fields, Err: err})
}

// root handles one parsed document.
func (d *decoder) root(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			d.item(resolve(item), "", "")
		}
	case yaml.MappingNode:
		kind, apiVersion := scalarField(n, "kind"), scalarField(n, "apiVersion")
		if isListKind(kind) {
			d.list(n, kind, apiVersion)
			return
		}
		d.item(n, "", "")
	default:
		d.fail(n.Line, "", "", nil, errors.New("document is not a resource (expected an object or a list of objects)"))
	}
}

func isListKind(kind string) bool {
	return kind == "List" || (strings.HasSuffix(kind, "List") && isKnownKind(strings.TrimSuffix(kind, "List")))
}

// list handles a "List" or "<Kind>List" object; items without kind or
// apiVersion inherit them from a "<Kind>List".
func (d *decoder) list(n *yaml.Node, kind, apiVersion string) {
	var items *yaml.Node
	var fields []FieldError
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := resolve(n.Content[i]).Value; k {
		case "apiVersion", "kind", "metadata":
		case "items":
			items = resolve(n.Content[i+1])
		default:
			fields = append(fields, FieldError{Field: k, Rule: RuleUnknownField})
		}
	}
	if items != nil && !isNull(items) && items.Kind != yaml.SequenceNode {
		fields = append(fields, FieldError{Field: "items", Rule: "expected a list"})
	}
	if len(fields) > 0 {
		d.fail(n.Line, kind, "", fields, nil)
		return
	}
	itemKind, itemVersion := "", ""
	if kind != "List" {
		itemKind, itemVersion = strings.TrimSuffix(kind, "List"), apiVersion
	}
	if items == nil {
		return
	}
	for _, it := range items.Content {
		d.item(resolve(it), itemKind, itemVersion)
	}
}

// item decodes one resource.
func (d *decoder) item(n *yaml.Node, defKind, defVersion string) {
	if n == nil || n.Kind != yaml.MappingNode {
		line := 0
		if n != nil {
			line = n.Line
		}
		d.fail(line, "", "", nil, errors.New("resource must be an object"))
		return
	}
	kind, apiVersion := scalarField(n, "kind"), scalarField(n, "apiVersion")
	if kind == "" {
		kind = defKind
	}
	if apiVersion == "" {
		apiVersion = defVersion
	}
	name := ""
	if md := mappingField(n, "metadata"); md != nil {
		name = scalarField(md, "name")
	}
	o, err := decodeResource(n, kind, apiVersion)
	if err != nil {
		var de *DocumentError
		if errors.As(err, &de) {
			de.Source, de.Index, de.Line = d.source, d.index, n.Line
			for i := range de.Fields {
				if de.Fields[i].Line == 0 {
					de.Fields[i].Line = lineOf(n, de.Fields[i].Field)
				}
			}
			if de.Kind == "" {
				de.Kind = kind
			}
			if de.Name == "" {
				de.Name = name
			}
			d.errs = append(d.errs, de)
			return
		}
		d.fail(n.Line, kind, name, nil, err)
		return
	}
	d.docs = append(d.docs, Document{Source: d.source, Index: d.index, Line: n.Line, Object: o})
}

// decodeResource turns one resource node into a defaulted, validated object.
func decodeResource(n *yaml.Node, kind, apiVersion string) (Object, error) {
	var missing []FieldError
	if kind == "" {
		missing = append(missing, FieldError{Field: "kind", Rule: "kind is required"})
	}
	if apiVersion == "" {
		missing = append(missing, FieldError{Field: "apiVersion", Rule: "apiVersion is required"})
	}
	if len(missing) > 0 {
		return nil, &DocumentError{Fields: missing}
	}
	o, err := New(kind, apiVersion)
	if err != nil {
		return nil, err
	}
	c := newConverter(n)
	var buf bytes.Buffer
	c.convert(n, reflect.TypeOf(o).Elem(), "", &buf)
	if len(c.errs) > 0 {
		return nil, &DocumentError{Fields: c.errs}
	}
	if err := json.Unmarshal(buf.Bytes(), o); err != nil {
		return nil, fmt.Errorf("cannot decode: %s", cleanJSONError(err))
	}
	if apiVersion == GroupVersionCRDV1 {
		setTypeMeta(o, kind, GroupVersionV3)
		if fe := normaliseCRDV1(o); len(fe) > 0 {
			return nil, &DocumentError{Kind: kind, Name: o.GetName(), Fields: fe}
		}
	}
	DefaultNamespace(o, "default")
	Default(o)
	if fe := Validate(o); len(fe) > 0 {
		return nil, &DocumentError{Kind: kind, Name: o.GetName(), Fields: fe}
	}
	return o, nil
}

// scalarField returns the text of the scalar value of key in mapping n.
func scalarField(n *yaml.Node, key string) string {
	v := fieldNode(n, key)
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return ""
	}
	return v.Value
}

func mappingField(n *yaml.Node, key string) *yaml.Node {
	v := fieldNode(n, key)
	if v == nil || v.Kind != yaml.MappingNode {
		return nil
	}
	return v
}

func fieldNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}
