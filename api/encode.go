package api

import (
	"bytes"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// List is the "<Kind>List" object calicoctl prints for a list (docs/api.md §8.4).
type List struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []Object `json:"items"`
}

// NewList wraps items of one kind in a "<kind>List" with the given
// resourceVersion. The list's apiVersion is that of its items (the first
// item's, or projectcalico.org/v3 for an empty list).
func NewList(kind, resourceVersion string, items []Object) *List {
	apiVersion := GroupVersionV3
	if len(items) > 0 {
		apiVersion = APIVersionOf(items[0])
	}
	if items == nil {
		items = []Object{}
	}
	return &List{
		TypeMeta: metav1.TypeMeta{Kind: kind + "List", APIVersion: apiVersion},
		ListMeta: metav1.ListMeta{ResourceVersion: resourceVersion},
		Items:    items,
	}
}

// EncodeJSON renders v (an Object, a []Object or a *List) as calicoctl's
// JSON output does: two-space indent, struct field order (kind, apiVersion,
// metadata, spec), no trailing newline. Empty kind/apiVersion are filled in
// on the objects first (see SetTypeMeta).
func EncodeJSON(v any) ([]byte, error) {
	fillTypeMeta(v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// EncodeYAML renders v (an Object, a []Object or a *List) as YAML with keys
// in alphabetical order (JSON converted to YAML, as calicoctl does).
func EncodeYAML(v any) ([]byte, error) {
	fillTypeMeta(v)
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}

func fillTypeMeta(v any) {
	switch v := v.(type) {
	case Object:
		SetTypeMeta(v)
	case []Object:
		for _, o := range v {
			SetTypeMeta(o)
		}
	case *List:
		for _, o := range v.Items {
			SetTypeMeta(o)
		}
	}
}
