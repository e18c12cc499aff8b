package selector

import (
	"strconv"
	"strings"
	"sync"
)

// maxDepth bounds parenthesis nesting so that hostile input cannot exhaust
// the stack (Calico has no such limit; no real selector comes close).
const maxDepth = 1000

// parser is a recursive-descent parser over a fully tokenized input. Nodes,
// operand lists and set members are carved out of three slabs sized from
// the token counts, so a parse costs a handful of allocations regardless of
// the selector's size.
type parser struct {
	in    string
	toks  []token
	i     int
	depth int

	nodes []Node
	kids  []*Node
	vals  []string
	stack []*Node // operands of the && / || lists being built
}

// Parse parses a selector. Errors are of type *ParseError and carry
// Calico's error texts. Selectors parsed from the same text are one
// (Selector is immutable) while any is in use.
func Parse(s string) (*Selector, error) {
	sel, err := sharedParse(s)
	if err != nil {
		return nil, err
	}
	return sel, nil
}

// MustParse is Parse that panics on error; for constants and tests.
func MustParse(s string) *Selector {
	sel, err := parse(s)
	if err != nil {
		panic("selector: MustParse(" + strconv.Quote(s) + "): " + err.Error())
	}
	return sel
}

// Validate reports whether s is a valid selector (Calico's parser.Validate).
func Validate(s string) error {
	if _, err := parse(s); err != nil {
		return err
	}
	return nil
}

// scratch holds the per-parse buffers that do not outlive the parse.
type scratch struct {
	toks  []token
	stack []*Node
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{toks: make([]token, 0, 64), stack: make([]*Node, 0, 16)}
}}

// maxPooledTokens stops one huge selector from pinning a huge buffer.
const maxPooledTokens = 4096

// release clears references to the input and returns reasonably sized
// buffers to the pool.
func (sc *scratch) release() {
	clear(sc.toks)
	clear(sc.stack[:cap(sc.stack)])
	if cap(sc.toks) <= maxPooledTokens && cap(sc.stack) <= maxPooledTokens {
		sc.toks, sc.stack = sc.toks[:0], sc.stack[:0]
		scratchPool.Put(sc)
	}
}

func parse(s string) (*Selector, *ParseError) {
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	toks, err := tokenize(s, sc.toks[:0])
	sc.toks = toks
	if err != nil {
		return nil, err
	}
	p := parser{in: s, toks: toks, stack: sc.stack[:0]}
	global := p.allocate()
	root, err := p.parseRoot()
	sc.stack = p.stack
	if err != nil {
		return nil, err
	}
	return newSelector(root, len(s)+8, global), nil
}

// allocate sizes the slabs from the token counts. Every node consumes at
// least one distinct token of the counted kinds (a leaf its first token, a !
// node a "!", an && / || node one of its operators). Operand slots: one per
// ! node plus, per list, one more than its separators (at most two per
// separator).
// It reports whether global() occurs (each tokGlobal becomes a node).
func (p *parser) allocate() (global bool) {
	nLeaves, nNots, nSeps, nStrings, nSets := 0, 0, 0, 0, 0
	for _, t := range p.toks {
		switch t.kind {
		case tokGlobal:
			global = true
			nLeaves++
		case tokHas, tokAll, tokLabel:
			nLeaves++
		case tokNot:
			nNots++
		case tokAnd, tokOr:
			nSeps++
		case tokString:
			nStrings++
		case tokIn, tokNotIn:
			nSets++
		}
	}
	p.nodes = make([]Node, 0, 1+nLeaves+nNots+nSeps)
	if nKids := nNots + 2*nSeps; nKids > 0 {
		p.kids = make([]*Node, 0, nKids)
	}
	if nSets > 0 && nStrings > 0 {
		p.vals = make([]string, 0, nStrings)
	}
	return global
}

func (p *parser) newNode(n Node) *Node {
	p.nodes = append(p.nodes, n)
	return &p.nodes[len(p.nodes)-1]
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) errAt(t token, msg string) *ParseError {
	return newParseError(p.in, t.pos, msg)
}

func (p *parser) parseRoot() (*Node, *ParseError) {
	if p.peek().kind == tokEOF {
		return p.newNode(Node{op: OpAll}), nil
	}
	root, err := p.parseList(tokOr)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		var b strings.Builder
		b.WriteString(msgTrailing)
		b.WriteByte('[')
		for i, rt := range p.toks[p.i:] {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(rt.String())
		}
		b.WriteByte(']')
		return nil, p.errAt(t, b.String())
	}
	return root, nil
}

// parseList parses an n-ary, left-associative list of operands separated
// by sep: tokOr lists contain tokAnd lists, which contain unary terms.
func (p *parser) parseList(sep tokKind) (*Node, *ParseError) {
	first, err := p.parseOperand(sep)
	if err != nil || p.peek().kind != sep {
		return first, err
	}
	mark := len(p.stack)
	p.stack = append(p.stack, first)
	for p.peek().kind == sep {
		p.i++
		n, err := p.parseOperand(sep)
		if err != nil {
			return nil, err
		}
		p.stack = append(p.stack, n)
	}
	start := len(p.kids)
	p.kids = append(p.kids, p.stack[mark:]...)
	p.stack = p.stack[:mark]
	op := OpAnd
	if sep == tokOr {
		op = OpOr
	}
	return p.newNode(Node{op: op, kids: p.kids[start:len(p.kids):len(p.kids)]}), nil
}

func (p *parser) parseOperand(sep tokKind) (*Node, *ParseError) {
	if sep == tokOr {
		return p.parseList(tokAnd)
	}
	return p.parseUnary()
}

// parseUnary parses { "!" } primary, collapsing the negations by parity.
func (p *parser) parseUnary() (*Node, *ParseError) {
	negated := false
	for p.peek().kind == tokNot {
		negated = !negated
		p.i++
	}
	n, err := p.parsePrimary()
	if err != nil || !negated {
		return n, err
	}
	if n.op == OpNot {
		return n.kids[0], nil
	}
	p.kids = append(p.kids, n)
	return p.newNode(Node{op: OpNot, kids: p.kids[len(p.kids)-1 : len(p.kids) : len(p.kids)]}), nil
}

func (p *parser) parsePrimary() (*Node, *ParseError) {
	t := p.peek()
	switch t.kind {
	case tokHas:
		p.i++
		return p.newNode(Node{op: OpHas, key: t.val}), nil
	case tokAll:
		p.i++
		return p.newNode(Node{op: OpAll}), nil
	case tokGlobal:
		p.i++
		return p.newNode(Node{op: OpGlobal}), nil
	case tokLabel:
		return p.parseComparison()
	case tokLParen:
		return p.parseParens()
	}
	return nil, p.errAt(t, msgUnexpectedToken+t.String())
}

func (p *parser) parseParens() (*Node, *ParseError) {
	if p.depth >= maxDepth {
		return nil, p.errAt(p.peek(), msgTooDeep)
	}
	p.depth++
	p.i++ // (
	n, err := p.parseList(tokOr)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokRParen {
		return nil, p.errAt(t, msgExpectedRParen)
	}
	p.i++
	p.depth--
	return n, nil
}

// parseComparison parses label op string and label (not) in {set}.
func (p *parser) parseComparison() (*Node, *ParseError) {
	label, opTok := p.toks[p.i], p.toks[p.i+1]
	if opTok.kind == tokEOF {
		return nil, p.errAt(opTok, msgUnexpectedEOF)
	}
	var op Op
	switch opTok.kind {
	case tokEq:
		op = OpEq
	case tokNe:
		op = OpNe
	case tokContains:
		op = OpContains
	case tokStartsWith:
		op = OpStartsWith
	case tokEndsWith:
		op = OpEndsWith
	case tokIn:
		return p.parseSet(OpIn)
	case tokNotIn:
		return p.parseSet(OpNotIn)
	default:
		return nil, p.errAt(opTok, msgExpectedEqOrNe+opTok.String())
	}
	val := p.toks[p.i+2]
	if val.kind != tokString {
		return nil, p.errAt(val, msgExpectedString)
	}
	p.i += 3
	return p.newNode(Node{op: op, key: label.val, value: val.val}), nil
}

// parseSet parses label (not) in { "a", "b", } with the cursor on the label.
func (p *parser) parseSet(op Op) (*Node, *ParseError) {
	label := p.toks[p.i]
	if t := p.toks[p.i+2]; t.kind != tokLBrace {
		return nil, p.errAt(t, msgExpectedSetLit)
	}
	p.i += 3
	start := len(p.vals)
	for p.peek().kind == tokString {
		p.vals = append(p.vals, p.peek().val)
		p.i++
		if p.peek().kind != tokComma {
			break
		}
		p.i++
	}
	if t := p.peek(); t.kind != tokRBrace {
		return nil, p.errAt(t, msgExpectedRBrace)
	}
	p.i++
	var vals []string
	if len(p.vals) > start {
		vals = sortedSet(p.vals[start:len(p.vals):len(p.vals)])
	}
	return p.newNode(Node{op: op, key: label.val, values: vals}), nil
}
