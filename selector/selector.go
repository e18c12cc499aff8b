package selector

import (
	"slices"
	"strings"
)

// Labels is what a selector is matched against.
type Labels interface {
	Get(key string) (value string, ok bool)
}

// Map is a plain label map.
type Map map[string]string

// Get implements Labels.
func (m Map) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// Selector is a parsed, immutable selector. Safe for concurrent use.
type Selector struct {
	root   *Node
	str    string
	global bool
}

func newSelector(root *Node, sizeHint int, global bool) *Selector {
	var b strings.Builder
	b.Grow(sizeHint)
	root.writeTo(&b)
	return &Selector{root: root, str: b.String(), global: global}
}

// usesGlobal reports whether global() occurs in the subtree.
func usesGlobal(n *Node) bool {
	if n.op == OpGlobal {
		return true
	}
	for _, k := range n.kids {
		if usesGlobal(k) {
			return true
		}
	}
	return false
}

// String returns the canonical form (§4.4 of the API notes): binary nodes
// parenthesised (also at top level), set members sorted and de-duplicated,
// strings in double quotes unless they contain one.
func (s *Selector) String() string { return s.str }

// Root returns the syntax tree. It must be treated as read-only.
func (s *Selector) Root() *Node { return s.root }

// Matches reports whether labels satisfy the selector. A nil Labels is
// treated as an empty label set. Matches does not allocate.
func (s *Selector) Matches(labels Labels) bool {
	if labels == nil {
		labels = Map(nil)
	}
	return s.root.eval(labels)
}

// IsAll reports whether the selector is all() (which includes the empty
// selector).
func (s *Selector) IsAll() bool { return s.root.op == OpAll }

// UsesGlobal reports whether global() appears anywhere in the selector.
func (s *Selector) UsesGlobal() bool { return s.global }

// IsExactlyGlobal reports whether the whole selector is global().
func (s *Selector) IsExactlyGlobal() bool { return s.root.op == OpGlobal }

// LabelKeys returns the sorted, de-duplicated label keys the selector
// refers to (has, comparisons and sets; negated or not).
func (s *Selector) LabelKeys() []string {
	var keys []string
	s.root.Walk(func(n *Node) bool {
		if n.key != "" {
			keys = append(keys, n.key)
		}
		return true
	})
	slices.Sort(keys)
	return slices.Compact(keys)
}

// And returns a && b. The result is what parsing "(a) && (b)" would give:
// a two-operand && node, printed "(a && b)". Both arguments must be non-nil.
func And(a, b *Selector) *Selector {
	root := &Node{op: OpAnd, kids: []*Node{a.root, b.root}}
	return newSelector(root, len(a.str)+len(b.str)+6, a.global || b.global)
}

// Not returns !a, as parsing "!(a)" would: a double negation collapses.
func Not(a *Selector) *Selector {
	return newSelector(negate(a.root), len(a.str)+1, a.global)
}

// Rewrite returns a copy of s with every label key k replaced by f(k), for
// example to prefix namespace labels with "pcns.". f should return keys
// that are valid selector labels (see IsValidLabel) if the canonical form
// is to re-parse.
func Rewrite(s *Selector, f func(key string) string) *Selector {
	root := transform(s.root, func(n *Node) *Node {
		if n.key == "" {
			return n
		}
		c := *n
		c.key = f(n.key)
		return &c
	})
	return newSelector(root, len(s.str)+16, s.global)
}

// ReplaceAll returns s with every all() term replaced by with (Calico
// rewrites all() in a namespaceSelector to has(projectcalico.org/namespace)).
// The empty selector is all(), so ReplaceAll(MustParse(""), w) is w.
func ReplaceAll(s *Selector, with *Selector) *Selector {
	root := transform(s.root, func(n *Node) *Node {
		if n.op == OpAll {
			return with.root
		}
		return n
	})
	if root == s.root {
		return s
	}
	return newSelector(root, len(s.str)+len(with.str), usesGlobal(root))
}

// transform rebuilds the tree bottom-up, applying leaf to every leaf node.
// Unchanged subtrees are shared; negations are re-collapsed.
func transform(n *Node, leaf func(*Node) *Node) *Node {
	switch n.op {
	case OpNot:
		k := transform(n.kids[0], leaf)
		if k == n.kids[0] {
			return n
		}
		return negate(k)
	case OpAnd, OpOr:
		var kids []*Node
		for i, k := range n.kids {
			nk := transform(k, leaf)
			if nk != k && kids == nil {
				kids = slices.Clone(n.kids)
			}
			if kids != nil {
				kids[i] = nk
			}
		}
		if kids == nil {
			return n
		}
		return &Node{op: n.op, kids: kids}
	}
	return leaf(n)
}
