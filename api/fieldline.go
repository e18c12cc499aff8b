package api

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// lineOf finds the line of a field path ("spec.ingress[0].destination.ports[1]",
// "metadata.labels[app]") in a resource's node: the line of the deepest
// key or item of the path present in the source (0 when not even the
// first step is).
func lineOf(n *yaml.Node, path string) int {
	line := 0
	cur := n
	for _, step := range splitPath(path) {
		if cur == nil {
			break
		}
		cur = resolveAlias(cur)
		switch cur.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == step {
					line, next = cur.Content[i].Line, cur.Content[i+1]
					break
				}
			}
			cur = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(cur.Content) {
				return line
			}
			cur = cur.Content[i]
			line = cur.Line
		default:
			return line
		}
	}
	return line
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// splitPath splits "a.b[0].c[key]" into a, b, 0, c, key.
func splitPath(path string) []string {
	var out []string
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				out = append(out, part)
				break
			}
			if i > 0 {
				out = append(out, part[:i])
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				out = append(out, part[i+1:])
				break
			}
			out = append(out, part[i+1:i+j])
			part = part[i+j+1:]
		}
	}
	return out
}
