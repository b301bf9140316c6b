// Package yamlpath locates a place in a parsed YAML file, so that the
// loaders of envelope's rule files (the policy, the clock rules) can name
// the line and field of each problem.
package yamlpath

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// String writes a path of map keys (any) and list indexes (int) as
// rules[1].period.
func String(path []any) string {
	var b strings.Builder
	for _, e := range path {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, e)
		}
	}
	return b.String()
}

// Line returns the line of the deepest node of path that exists under
// root: a key's own line for a section, an entry's line for a list item.
func Line(root *yaml.Node, path []any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, e := range path {
		var next *yaml.Node
		switch e := e.(type) {
		case int:
			if n.Kind == yaml.SequenceNode && e < len(n.Content) {
				next = n.Content[e]
			}
		default:
			key := fmt.Sprint(e)
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == key {
						// The key's line: where a reader looks for a section.
						line, next = n.Content[i].Line, n.Content[i+1]
						break
					}
				}
			}
			if next != nil {
				n = next
				continue
			}
		}
		if next == nil {
			return line
		}
		n, line = next, next.Line
	}
	return line
}
