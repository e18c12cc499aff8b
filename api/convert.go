package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// converter turns a yaml.Node tree into JSON for a target Go type, checking
// the tree against the type on the way: unknown fields, wrong shapes and
// wrong scalar types are collected as FieldErrors with full JSON paths.
//
// Scalars are converted according to the target type, not to the YAML tag:
// a string field takes the literal text of any scalar (so `on`, `y`, `true`
// and `123` stay as written), numeric fields need YAML numbers, boolean
// fields need YAML booleans (YAML 1.1 spellings such as `yes` and `on` are
// accepted there too, as calicoctl's YAML 1.1 parser would). Types with their
// own UnmarshalJSON (Port, Protocol, IntOrString, Quantity, Time, Duration)
// get a tag-driven conversion and are then test-decoded so that their errors
// carry a path too.
type converter struct {
	errs   []FieldError
	budget int // node visits left; guards against alias expansion bombs
	over   bool
}

// MaxExpandedSize bounds the JSON a document may expand to once its YAML
// aliases are followed: aliases that repeat a large scalar would otherwise
// turn a small file into gigabytes.
const MaxExpandedSize = 32 << 20

// overBudget reports (once, naming the field) that the document's expansion
// went past its node or byte budget.
func (c *converter) overBudget(path string, buf *bytes.Buffer) bool {
	if c.budget >= 0 && buf.Len() <= MaxExpandedSize {
		return false
	}
	if !c.over {
		c.over = true
		rule := "document expands too many aliases"
		if buf.Len() > MaxExpandedSize {
			rule = "aliases expand the document beyond the limit of 32 MiB"
		}
		c.fail(path, nil, rule)
	}
	return true
}

// newConverter returns a converter for the tree under root. Its work is
// bounded by the size of the tree as written: aliases may repeat parts of
// it, but not blow it up (alias bombs).
func newConverter(root *yaml.Node) *converter {
	return &converter{budget: 10*countNodes(root) + 10_000}
}

// countNodes counts the nodes of the tree without following aliases.
func countNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	total := 1
	for _, c := range n.Content {
		total += countNodes(c)
	}
	return total
}

// decodeInt reads an integer scalar, fast for plain decimals.
func decodeInt(n *yaml.Node) (int64, error) {
	if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		return i, nil
	}
	var i int64
	err := n.Decode(&i)
	return i, err
}

func (c *converter) fail(path string, n *yaml.Node, rule string) {
	c.errs = append(c.errs, FieldError{Field: path, Value: scalarText(n), Rule: rule})
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	felixSpecType       = reflect.TypeFor[FelixConfigurationSpec]()
)

func hasCustomDecoding(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(jsonUnmarshalerType) || p.Implements(jsonUnmarshalerType) ||
		t.Implements(textUnmarshalerType) || p.Implements(textUnmarshalerType)
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") || n.Kind == 0 || n.Kind == yaml.AliasNode
}

// convert writes the JSON form of n, checked against t, to buf.
func (c *converter) convert(n *yaml.Node, t reflect.Type, path string, buf *bytes.Buffer) {
	c.budget--
	if c.overBudget(path, buf) {
		buf.WriteString("null")
		return
	}
	n = resolve(n)
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = resolve(n.Content[0])
	}
	if isNull(n) {
		buf.WriteString("null")
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == felixSpecType:
		c.felixSpec(n, path, buf)
		return
	case hasCustomDecoding(t):
		c.custom(n, t, path, buf)
		return
	}
	c.convertKind(n, t, path, buf)
}

func (c *converter) convertKind(n *yaml.Node, t reflect.Type, path string, buf *bytes.Buffer) {
	switch t.Kind() {
	case reflect.String:
		c.stringScalar(n, path, buf)
	case reflect.Bool:
		c.boolScalar(n, path, buf)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		c.intScalar(n, t, path, buf)
	case reflect.Float32, reflect.Float64:
		c.floatScalar(n, path, buf)
	case reflect.Struct:
		c.object(n, structFields(t), path, buf)
	case reflect.Map:
		c.mapping(n, t.Elem(), path, buf)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			c.stringScalar(n, path, buf) // []byte: base64 text
			return
		}
		c.sequence(n, t.Elem(), path, buf)
	default:
		c.generic(n, path, buf)
	}
}

func (c *converter) stringScalar(n *yaml.Node, path string, buf *bytes.Buffer) {
	if n.Kind != yaml.ScalarNode {
		c.fail(path, n, "expected a string")
		buf.WriteString("null")
		return
	}
	writeJSONString(buf, n.Value)
}

// yaml11Bools are the YAML 1.1 spellings calicoctl's parser reads as
// booleans; they are accepted for boolean fields only, and only unquoted.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func (c *converter) boolScalar(n *yaml.Node, path string, buf *bytes.Buffer) {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!bool" {
			var b bool
			if n.Decode(&b) == nil {
				buf.WriteString(strconv.FormatBool(b))
				return
			}
		}
		if b, ok := yaml11Bools[n.Value]; ok && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			buf.WriteString(strconv.FormatBool(b))
			return
		}
	}
	c.fail(path, n, "expected a boolean")
	buf.WriteString("null")
}

func (c *converter) intScalar(n *yaml.Node, t reflect.Type, path string, buf *bytes.Buffer) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		c.fail(path, n, "expected a number")
		buf.WriteString("null")
		return
	}
	if n.Tag == "!!float" {
		c.fail(path, n, "expected an integer")
		buf.WriteString("null")
		return
	}
	zero := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		if err := n.Decode(&u); err != nil || zero.OverflowUint(u) {
			c.fail(path, n, "number out of range")
			buf.WriteString("null")
			return
		}
		buf.WriteString(strconv.FormatUint(u, 10))
	default:
		i, err := decodeInt(n)
		if err != nil || zero.OverflowInt(i) {
			c.fail(path, n, "number out of range")
			buf.WriteString("null")
			return
		}
		buf.WriteString(strconv.FormatInt(i, 10))
	}
}

func (c *converter) floatScalar(n *yaml.Node, path string, buf *bytes.Buffer) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		c.fail(path, n, "expected a number")
		buf.WriteString("null")
		return
	}
	var f float64
	if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		c.fail(path, n, "expected a finite number")
		buf.WriteString("null")
		return
	}
	buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
}

// pair is one key/value of a mapping after merge keys are applied.
type pair struct{ key, val *yaml.Node }

// pairs returns the entries of mapping n: explicit keys in order (a repeated
// key is an error), then entries merged in with `<<` that are not already
// present.
func (c *converter) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	seen := map[string]bool{}
	var merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			c.fail(path, nil, "mapping keys must be strings")
			continue
		}
		if k.Tag == "!!merge" {
			merged = append(merged, c.mergeSource(v, path, 0)...)
			continue
		}
		if seen[k.Value] {
			c.fail(joinPath(path, k.Value), nil, RuleDuplicateField)
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k, v})
	}
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			out = append(out, p)
		}
	}
	return out
}

func (c *converter) mergeSource(v *yaml.Node, path string, depth int) []pair {
	v = resolve(v)
	c.budget--
	if v == nil || depth > 20 || c.budget < 0 {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return c.pairs(v, path)
	case yaml.SequenceNode:
		var out []pair
		for _, e := range v.Content {
			out = append(out, c.mergeSource(e, path, depth+1)...)
		}
		return out
	}
	c.fail(path, v, "merge key (<<) needs a mapping")
	return nil
}

// fieldInfo is one JSON-visible field of a struct.
type fieldInfo struct {
	typ reflect.Type
}

var fieldCache sync.Map // reflect.Type -> map[string]fieldInfo

// structFields returns the JSON field names of t the way encoding/json sees
// them: json tags, Go names when untagged, embedded structs flattened
// (shallower fields win), "-" skipped.
func structFields(t reflect.Type) map[string]fieldInfo {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]fieldInfo)
	}
	m := map[string]fieldInfo{}
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = fieldInfo{typ: f.Type}
	}
	for _, et := range embedded {
		for name, fi := range structFields(et) {
			if _, ok := m[name]; !ok {
				m[name] = fi
			}
		}
	}
	fieldCache.Store(t, m)
	return m
}

func (c *converter) object(n *yaml.Node, fields map[string]fieldInfo, path string, buf *bytes.Buffer) {
	if n.Kind != yaml.MappingNode {
		c.fail(path, n, "expected an object")
		buf.WriteString("null")
		return
	}
	buf.WriteByte('{')
	first := true
	for _, p := range c.pairs(n, path) {
		fpath := joinPath(path, p.key.Value)
		f, ok := fields[p.key.Value]
		if !ok {
			c.fail(fpath, nil, RuleUnknownField)
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeJSONString(buf, p.key.Value)
		buf.WriteByte(':')
		c.convert(p.val, f.typ, fpath, buf)
	}
	buf.WriteByte('}')
}

func (c *converter) mapping(n *yaml.Node, elem reflect.Type, path string, buf *bytes.Buffer) {
	if n.Kind != yaml.MappingNode {
		c.fail(path, n, "expected an object")
		buf.WriteString("null")
		return
	}
	buf.WriteByte('{')
	for i, p := range c.pairs(n, path) {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(buf, p.key.Value)
		buf.WriteByte(':')
		c.convert(p.val, elem, path+"["+p.key.Value+"]", buf)
	}
	buf.WriteByte('}')
}

func (c *converter) sequence(n *yaml.Node, elem reflect.Type, path string, buf *bytes.Buffer) {
	if n.Kind != yaml.SequenceNode {
		c.fail(path, n, "expected a list")
		buf.WriteString("null")
		return
	}
	buf.WriteByte('[')
	for i, e := range n.Content {
		if i > 0 {
			buf.WriteByte(',')
		}
		c.convert(e, elem, path+"["+strconv.Itoa(i)+"]", buf)
	}
	buf.WriteByte(']')
}

// generic converts by YAML tag, for untyped targets and custom decoders.
func (c *converter) generic(n *yaml.Node, path string, buf *bytes.Buffer) {
	c.budget--
	n = resolve(n)
	if c.overBudget(path, buf) || isNull(n) {
		buf.WriteString("null")
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i, p := range c.pairs(n, path) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, p.key.Value)
			buf.WriteByte(':')
			c.generic(p.val, joinPath(path, p.key.Value), buf)
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			c.generic(e, path+"["+strconv.Itoa(i)+"]", buf)
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		c.genericScalar(n, path, buf)
	default:
		buf.WriteString("null")
	}
}

func (c *converter) genericScalar(n *yaml.Node, path string, buf *bytes.Buffer) {
	switch n.Tag {
	case "!!bool":
		c.boolScalar(n, path, buf)
	case "!!int":
		if i, err := decodeInt(n); err == nil {
			buf.WriteString(strconv.FormatInt(i, 10))
			return
		}
		var u uint64
		if n.Decode(&u) == nil {
			buf.WriteString(strconv.FormatUint(u, 10))
			return
		}
		c.floatScalar(n, path, buf)
	case "!!float":
		c.floatScalar(n, path, buf)
	default:
		writeJSONString(buf, n.Value)
	}
}

// custom converts by tag and test-decodes into t so that the type's own
// errors are reported at path.
func (c *converter) custom(n *yaml.Node, t reflect.Type, path string, buf *bytes.Buffer) {
	var sub bytes.Buffer
	before := len(c.errs)
	if reflect.PointerTo(t).Implements(textUnmarshalerType) && !reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		c.stringScalar(n, path, &sub)
	} else {
		c.generic(n, path, &sub)
	}
	if len(c.errs) > before {
		buf.WriteString("null")
		return
	}
	if err := json.Unmarshal(sub.Bytes(), reflect.New(t).Interface()); err != nil {
		c.fail(path, n, cleanJSONError(err))
		buf.WriteString("null")
		return
	}
	buf.Write(sub.Bytes())
}

// cleanJSONError strips encoding/json's Go-type wording from an error.
func cleanJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if ok := asTypeError(err, &te); ok {
		return "expected " + jsonKindName(te.Type) + ", got " + te.Value
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func jsonKindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	if t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 {
		return "an integer"
	}
	return "a value of another type"
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// scalarText is the text of a scalar node for FieldError.Value.
func scalarText(n *yaml.Node) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	if len(n.Value) > 200 {
		return n.Value[:200] + "..."
	}
	return n.Value
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}
