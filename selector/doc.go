// Package selector implements the Calico label-selector language.
//
// The package owns three things and nothing else:
//
//   - the grammar: a hand-written tokenizer and recursive-descent parser that
//     accept exactly the selectors Calico accepts and reject the others with
//     Calico's error texts (see ParseError);
//   - the canonical form: Selector.String renders a parsed selector the way
//     Calico does, so that the text can be used for de-duplication and
//     hashing (binary nodes always parenthesised, set members sorted and
//     de-duplicated, strings double-quoted unless they contain a double
//     quote);
//   - matching: Selector.Matches evaluates a selector against a set of labels
//     without allocating.
//
// It also offers a few tree-level helpers used by policy compilation (And,
// Not, Rewrite, ReplaceAll) and a read-only view of the syntax tree (Node).
//
// The package performs no I/O and has no dependencies outside the standard
// library. A *Selector is immutable and safe for concurrent use, so Parse
// shares one per text while it is in use (shared.go: a map of weak
// pointers, the package's only global state, guarded by a mutex).
//
// # Language summary
//
//	selector   = [ or_expr ] EOF ;             (* empty = all() *)
//	or_expr    = and_expr { "||" and_expr } ;
//	and_expr   = unary { "&&" unary } ;
//	unary      = { "!" } primary ;
//	primary    = "has(" label ")" | "all()" | "global()" | "(" or_expr ")"
//	           | label ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
//	           | label ( "in" | "not in" ) "{" [ string { "," string } [ "," ] ] "}" ;
//
// Labels are runs of [a-zA-Z0-9_./-] of at most 512 bytes; strings are
// single- or double-quoted with no escapes. Only space and tab count as
// whitespace.
package selector
