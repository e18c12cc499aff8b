package selector

import (
	"strconv"
	"strings"
)

// MaxLabelLength is the longest label key the parser accepts, in bytes.
const MaxLabelLength = 512

// tokKind identifies a token. The order and the names in tokNames follow
// Calico's tokenizer because they appear in error messages
// ("unexpected token: TokEOF()").
type tokKind uint8

const (
	tokNone tokKind = iota
	tokLabel
	tokString
	tokLBrace
	tokRBrace
	tokComma
	tokEq
	tokNe
	tokIn
	tokNot
	tokNotIn
	tokContains
	tokStartsWith
	tokEndsWith
	tokAll
	tokHas
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokGlobal
	tokEOF
)

var tokNames = [...]string{
	tokNone:       "TokNone",
	tokLabel:      "TokLabel",
	tokString:     "TokStringLiteral",
	tokLBrace:     "TokLBrace",
	tokRBrace:     "TokRBrace",
	tokComma:      "TokComma",
	tokEq:         "TokEq",
	tokNe:         "TokNe",
	tokIn:         "TokIn",
	tokNot:        "TokNot",
	tokNotIn:      "TokNotIn",
	tokContains:   "TokContains",
	tokStartsWith: "TokStartsWith",
	tokEndsWith:   "TokEndsWith",
	tokAll:        "TokAll",
	tokHas:        "TokHas",
	tokLParen:     "TokLParen",
	tokRParen:     "TokRParen",
	tokAnd:        "TokAnd",
	tokOr:         "TokOr",
	tokGlobal:     "TokGlobal",
	tokEOF:        "TokEOF",
}

func (k tokKind) String() string {
	if int(k) < len(tokNames) {
		return tokNames[k]
	}
	return "tokKind(" + strconv.Itoa(int(k)) + ")"
}

// token is one lexical token. val is a substring of the input: the label for
// tokLabel and tokHas, the unquoted text for tokString, empty otherwise.
type token struct {
	kind tokKind
	pos  int
	val  string
}

// String renders the token as Calico does: Kind(value).
func (t token) String() string {
	return t.kind.String() + "(" + t.val + ")"
}

// identChar reports which bytes may appear in a label key.
var identChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_./-" {
		t[c] = true
	}
	return t
}()

// IsValidLabel reports whether key would be accepted as a label key by the
// selector parser (which is more permissive than Kubernetes label-key
// validation).
func IsValidLabel(key string) bool {
	if key == "" || len(key) > MaxLabelLength {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !identChar[key[i]] {
			return false
		}
	}
	return true
}

func skipSpace(in string, i int) int {
	for i < len(in) && (in[i] == ' ' || in[i] == '\t') {
		i++
	}
	return i
}

// atBoundary reports whether position i ends a keyword: end of input or a
// byte that cannot continue an identifier.
func atBoundary(in string, i int) bool {
	return i >= len(in) || !identChar[in[i]]
}

// tokenize appends the tokens of in to toks, always ending with tokEOF. On
// error the tokens read so far are returned with it.
// As in Calico, the whole input is tokenized before parsing, so a lexical
// error anywhere wins over a syntax error earlier in the input.
func tokenize(in string, toks []token) ([]token, *ParseError) {
	i := 0
	for {
		i = skipSpace(in, i)
		if i >= len(in) {
			return append(toks, token{kind: tokEOF, pos: i}), nil
		}
		tok := token{pos: i}
		var err *ParseError
		tok.kind, i, err = scanPunct(in, i)
		if err != nil {
			return toks, err
		}
		switch {
		case tok.kind == tokString:
			tok.val = in[tok.pos+1 : i-1]
		case tok.kind != tokNone:
		case len(toks) > 0 && toks[len(toks)-1].kind == tokLabel:
			tok.kind, i, err = scanOperator(in, i, toks[len(toks)-1].val)
		default:
			tok.kind, tok.val, i, err = scanTerm(in, i)
		}
		if err != nil {
			return toks, err
		}
		toks = append(toks, tok)
	}
}

// scanPunct recognises the single- and double-character tokens and string
// literals at in[i]. It returns tokNone (and i unchanged) for anything else.
func scanPunct(in string, i int) (tokKind, int, *ParseError) {
	c := in[i]
	switch c {
	case '(':
		return tokLParen, i + 1, nil
	case ')':
		return tokRParen, i + 1, nil
	case '{':
		return tokLBrace, i + 1, nil
	case '}':
		return tokRBrace, i + 1, nil
	case ',':
		return tokComma, i + 1, nil
	case '"', '\'':
		end := strings.IndexByte(in[i+1:], c)
		if end < 0 {
			return tokNone, i, newParseError(in, i, msgUnterminated)
		}
		return tokString, i + end + 2, nil
	case '!':
		if i+1 < len(in) && in[i+1] == '=' {
			return tokNe, i + 2, nil
		}
		return tokNot, i + 1, nil
	case '=', '&', '|':
		if i+1 < len(in) && in[i+1] == c {
			return doubled(c), i + 2, nil
		}
		return tokNone, i, newParseError(in, i, "expected "+string([]byte{c, c}))
	}
	return tokNone, i, nil
}

func doubled(c byte) tokKind {
	switch c {
	case '=':
		return tokEq
	case '&':
		return tokAnd
	}
	return tokOr
}

// scanOperator recognises a keyword operator directly after a label.
func scanOperator(in string, i int, label string) (tokKind, int, *ParseError) {
	if j := cutWord(in, i, "contains"); j >= 0 {
		return tokContains, j, nil
	}
	if j := cutTwoWords(in, i, "starts", "with"); j >= 0 {
		return tokStartsWith, j, nil
	}
	if j := cutTwoWords(in, i, "ends", "with"); j >= 0 {
		return tokEndsWith, j, nil
	}
	if j := cutTwoWords(in, i, "not", "in"); j >= 0 {
		return tokNotIn, j, nil
	}
	if j := cutWord(in, i, "in"); j >= 0 {
		return tokIn, j, nil
	}
	return tokNone, i, newParseError(in, i, msgExpectedOpAfter+strconv.Quote(label))
}

// cutWord returns the index after word if in[i:] starts with word followed
// by a keyword boundary, else -1.
func cutWord(in string, i int, word string) int {
	if !strings.HasPrefix(in[i:], word) {
		return -1
	}
	j := i + len(word)
	if !atBoundary(in, j) {
		return -1
	}
	return j
}

// cutTwoWords matches w1, optional blanks, w2, optional blanks and then a
// keyword boundary (Calico checks the boundary after the trailing blanks,
// so "a starts with x" is not an operator).
func cutTwoWords(in string, i int, w1, w2 string) int {
	if !strings.HasPrefix(in[i:], w1) {
		return -1
	}
	j := skipSpace(in, i+len(w1))
	if !strings.HasPrefix(in[j:], w2) {
		return -1
	}
	j = skipSpace(in, j+len(w2))
	if !atBoundary(in, j) {
		return -1
	}
	return j
}

// scanTerm recognises has(label), all(), global() or a bare label.
func scanTerm(in string, i int) (tokKind, string, int, *ParseError) {
	rest := in[i:]
	switch {
	case strings.HasPrefix(rest, "has("):
		key, j, err := scanIdent(in, skipSpace(in, i+len("has(")))
		if err != nil {
			return tokNone, "", i, err
		}
		j = skipSpace(in, j)
		if j >= len(in) || in[j] != ')' {
			return tokNone, "", i, newParseError(in, j, msgNoCloseHas)
		}
		return tokHas, key, j + 1, nil
	case strings.HasPrefix(rest, "all("):
		j := skipSpace(in, i+len("all("))
		if j >= len(in) || in[j] != ')' {
			return tokNone, "", i, newParseError(in, j, msgNoCloseAll)
		}
		return tokAll, "", j + 1, nil
	case strings.HasPrefix(rest, "global("):
		j := skipSpace(in, i+len("global("))
		if j >= len(in) || in[j] != ')' {
			return tokNone, "", i, newParseError(in, j, msgNoCloseGlobal)
		}
		return tokGlobal, "", j + 1, nil
	}
	key, j, err := scanIdent(in, i)
	return tokLabel, key, j, err
}

// scanIdent reads a label key starting at in[i].
func scanIdent(in string, i int) (string, int, *ParseError) {
	j := i
	for j < len(in) && identChar[in[j]] {
		j++
	}
	switch {
	case j == i:
		return "", i, newParseError(in, i, msgExpectedIdent)
	case j-i > MaxLabelLength:
		return "", i, newParseError(in, i, msgLabelTooLong+in[i:j])
	}
	return in[i:j], j, nil
}
