package selector

import (
	"slices"
	"strings"
)

// Op is the kind of a syntax-tree node.
type Op uint8

// Node kinds.
const (
	OpAll        Op = iota + 1 // all()
	OpGlobal                   // global()
	OpHas                      // has(key)
	OpEq                       // key == value
	OpNe                       // key != value
	OpContains                 // key contains value
	OpStartsWith               // key starts with value
	OpEndsWith                 // key ends with value
	OpIn                       // key in {values}
	OpNotIn                    // key not in {values}
	OpNot                      // !operand
	OpAnd                      // (operand && operand ...)
	OpOr                       // (operand || operand ...)
)

var opText = [...]string{
	OpAll:        "all()",
	OpGlobal:     "global()",
	OpHas:        "has()",
	OpEq:         "==",
	OpNe:         "!=",
	OpContains:   "contains",
	OpStartsWith: "starts with",
	OpEndsWith:   "ends with",
	OpIn:         "in",
	OpNotIn:      "not in",
	OpNot:        "!",
	OpAnd:        "&&",
	OpOr:         "||",
}

// String returns the operator as written in canonical selectors.
func (o Op) String() string {
	if o > 0 && int(o) < len(opText) {
		return opText[o]
	}
	return "Op(?)"
}

// Node is a read-only node of a selector's syntax tree (see Selector.Root).
// Nodes are shared between selectors and must never be modified; the
// accessors hand out copies of any slices.
//
// Invariants: OpNot never has an OpNot operand (negations collapse by
// parity); OpAnd and OpOr have at least two operands; set values are sorted
// and de-duplicated.
type Node struct {
	op     Op
	key    string
	value  string
	values []string // OpIn, OpNotIn: sorted, unique
	kids   []*Node  // OpNot: exactly one; OpAnd, OpOr: two or more
}

// Op returns the node kind.
func (n *Node) Op() Op { return n.op }

// Key returns the label key of a has/comparison/set node, or "".
func (n *Node) Key() string { return n.key }

// Value returns the string operand of ==, !=, contains, starts with and
// ends with nodes, or "".
func (n *Node) Value() string { return n.value }

// Values returns a copy of the (sorted, de-duplicated) members of an in or
// not in node.
func (n *Node) Values() []string { return slices.Clone(n.values) }

// NumOperands returns the number of operands of a !, && or || node.
func (n *Node) NumOperands() int { return len(n.kids) }

// Operand returns operand i of a !, && or || node.
func (n *Node) Operand(i int) *Node { return n.kids[i] }

// Walk calls fn for n and its descendants in pre-order. If fn returns false
// the node's operands are skipped.
func (n *Node) Walk(fn func(*Node) bool) {
	if !fn(n) {
		return
	}
	for _, k := range n.kids {
		k.Walk(fn)
	}
}

// String returns the canonical text of the subtree.
func (n *Node) String() string {
	var b strings.Builder
	n.writeTo(&b)
	return b.String()
}

// eval evaluates the subtree against labels. It must not allocate.
func (n *Node) eval(l Labels) bool {
	switch n.op {
	case OpAll, OpGlobal:
		return true
	case OpNot:
		return !n.kids[0].eval(l)
	case OpAnd:
		for _, k := range n.kids {
			if !k.eval(l) {
				return false
			}
		}
		return true
	case OpOr:
		for _, k := range n.kids {
			if k.eval(l) {
				return true
			}
		}
		return false
	}
	v, ok := l.Get(n.key)
	switch n.op {
	case OpHas:
		return ok
	case OpEq:
		return ok && v == n.value
	case OpNe:
		return !ok || v != n.value
	case OpContains:
		return ok && strings.Contains(v, n.value)
	case OpStartsWith:
		return ok && strings.HasPrefix(v, n.value)
	case OpEndsWith:
		return ok && strings.HasSuffix(v, n.value)
	case OpIn:
		return ok && n.inSet(v)
	case OpNotIn:
		return !ok || !n.inSet(v)
	}
	return false
}

// linearSetMax is the set size up to which a linear scan beats binary
// search.
const linearSetMax = 8

func (n *Node) inSet(v string) bool {
	if len(n.values) <= linearSetMax {
		for _, m := range n.values {
			if m == v {
				return true
			}
		}
		return false
	}
	_, found := slices.BinarySearch(n.values, v)
	return found
}

// writeTo appends the canonical form of the subtree (§4.4).
func (n *Node) writeTo(b *strings.Builder) {
	switch n.op {
	case OpAll, OpGlobal:
		b.WriteString(opText[n.op])
	case OpHas:
		b.WriteString("has(")
		b.WriteString(n.key)
		b.WriteByte(')')
	case OpEq, OpNe, OpContains, OpStartsWith, OpEndsWith:
		b.WriteString(n.key)
		b.WriteByte(' ')
		b.WriteString(opText[n.op])
		b.WriteByte(' ')
		writeQuoted(b, n.value)
	case OpIn, OpNotIn:
		b.WriteString(n.key)
		b.WriteByte(' ')
		b.WriteString(opText[n.op])
		b.WriteString(" {")
		for i, v := range n.values {
			if i > 0 {
				b.WriteString(", ")
			}
			writeQuoted(b, v)
		}
		b.WriteByte('}')
	case OpNot:
		b.WriteByte('!')
		n.kids[0].writeTo(b)
	case OpAnd, OpOr:
		b.WriteByte('(')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteByte(' ')
				b.WriteString(opText[n.op])
				b.WriteByte(' ')
			}
			k.writeTo(b)
		}
		b.WriteByte(')')
	}
}

// writeQuoted quotes v with " unless it contains ", in which case ' is used.
// A parsed value can never contain both quote characters.
func writeQuoted(b *strings.Builder, v string) {
	q := byte('"')
	if strings.IndexByte(v, '"') >= 0 {
		q = '\''
	}
	b.WriteByte(q)
	b.WriteString(v)
	b.WriteByte(q)
}

// sortedSet sorts vals in place and removes duplicates.
func sortedSet(vals []string) []string {
	slices.Sort(vals)
	return slices.Compact(vals)
}

// negate returns !n, collapsing a double negation.
func negate(n *Node) *Node {
	if n.op == OpNot {
		return n.kids[0]
	}
	return &Node{op: OpNot, kids: []*Node{n}}
}
