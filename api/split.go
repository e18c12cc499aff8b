package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// MaxDocumentSize is the largest document Decode accepts (calicoctl's limit).
const MaxDocumentSize = 10 << 20

// chunk is the text between two "---" separator lines.
type chunk struct {
	data      []byte
	startLine int // 1-based line of data[0] in the source
}

// splitDocuments splits data on lines that start with "---"; the rest of a
// separator line is discarded (docs/api.md §8.2).
func splitDocuments(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 1, 1
	for pos := 0; pos <= len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		if bytes.HasPrefix(data[pos:end], []byte("---")) {
			out = append(out, chunk{data: data[start:pos], startLine: startLine})
			start, startLine = min(end+1, len(data)), line+1
		}
		pos = end + 1
		line++
	}
	return append(out, chunk{data: data[start:], startLine: startLine})
}

// parsedDoc is one YAML (or JSON) document of a chunk.
type parsedDoc struct {
	root *yaml.Node // nil for an empty document
	err  error      // syntax error
	line int        // line of the root, or of the error
}

// parseChunk parses every YAML document in c. JSON text is read with a JSON
// tokenizer (YAML does not accept all JSON escapes) into the same node form.
func parseChunk(c chunk) []parsedDoc {
	if len(c.data) > MaxDocumentSize {
		return []parsedDoc{{err: ErrDocumentTooLarge, line: c.startLine}}
	}
	if looksLikeJSON(c.data) && json.Valid(c.data) {
		root, err := jsonToNode(c.data)
		if err != nil {
			return []parsedDoc{{err: err, line: c.startLine}}
		}
		shiftLines(root, c.startLine-1)
		return []parsedDoc{{root: root, line: root.Line}}
	}
	var out []parsedDoc
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			line, msg := yamlErrorLine(err, c.startLine-1)
			if line == 0 {
				line = c.startLine
			}
			return append(out, parsedDoc{err: errors.New(msg), line: line})
		}
		root := &doc
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			root = doc.Content[0]
		}
		if isNull(root) || root.Kind == yaml.DocumentNode {
			continue
		}
		shiftLines(root, c.startLine-1)
		out = append(out, parsedDoc{root: root, line: root.Line})
	}
}

func looksLikeJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// shiftLines makes node lines absolute. Aliased subtrees are shared, so a
// node is shifted once (its Line is only ever increased from a small value;
// the visited set keeps that exact).
func shiftLines(n *yaml.Node, off int) {
	if off == 0 {
		return
	}
	seen := map[*yaml.Node]bool{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		n.Line += off
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlErrorLine makes the line numbers in a yaml error absolute and returns
// the first one.
func yamlErrorLine(err error, off int) (int, string) {
	first := 0
	msg := yamlLineRE.ReplaceAllStringFunc(err.Error(), func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
		if first == 0 {
			first = n + off
		}
		return "line " + strconv.Itoa(n+off)
	})
	return first, msg
}

// jsonToNode builds a yaml.Node tree from JSON text, with line numbers.
func jsonToNode(data []byte) (*yaml.Node, error) {
	b := &jsonBuilder{dec: json.NewDecoder(bytes.NewReader(data)), data: data, lines: newLineIndex(data)}
	b.dec.UseNumber()
	n, err := b.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := b.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("line %d: unexpected content after the JSON value", b.line())
	}
	return n, nil
}

const maxJSONDepth = 10000

type jsonBuilder struct {
	dec   *json.Decoder
	data  []byte
	lines lineIndex
}

// line is the line of the next token: InputOffset points just after the
// previous one, so skip separators first.
func (b *jsonBuilder) line() int {
	off := int(b.dec.InputOffset())
	for off < len(b.data) && strings.IndexByte(" \t\r\n,:", b.data[off]) >= 0 {
		off++
	}
	return b.lines.at(int64(off))
}

func (b *jsonBuilder) value(depth int) (*yaml.Node, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("JSON nesting is too deep")
	}
	line := b.line()
	tok, err := b.dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		return b.collection(v, line, depth)
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle, Line: line}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(v), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v), Line: line}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v), Line: line}, nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line}, nil
}

func (b *jsonBuilder) collection(open json.Delim, line, depth int) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
	if open == '{' {
		n.Kind, n.Tag = yaml.MappingNode, "!!map"
	}
	for b.dec.More() {
		if n.Kind == yaml.MappingNode {
			kline := b.line()
			kt, err := b.dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str",
				Value: k, Style: yaml.DoubleQuotedStyle, Line: kline})
		}
		c, err := b.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, c)
	}
	if _, err := b.dec.Token(); err != nil { // the closing delimiter
		return nil, err
	}
	return n, nil
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) at(off int64) int {
	lo, hi := 0, len(l)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if int64(l[mid]) <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}
