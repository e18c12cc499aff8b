package selector

// ParseError is the error returned by Parse for a malformed selector.
//
// Msg is the Calico error text (for example "expected ==",
// "unterminated string" or `expected operator after label "a"`); Error
// returns it unchanged so that callers can reproduce Calico's messages
// verbatim. Pos is the byte offset in Input at which the problem was
// detected.
type ParseError struct {
	Input string
	Pos   int
	Msg   string
}

// Error returns Msg.
func (e *ParseError) Error() string { return e.Msg }

func newParseError(input string, pos int, msg string) *ParseError {
	return &ParseError{Input: input, Pos: pos, Msg: msg}
}

// Calico's fixed parser error texts.
const (
	msgExpectedEq      = "expected =="
	msgExpectedAnd     = "expected &&"
	msgExpectedOr      = "expected ||"
	msgUnterminated    = "unterminated string"
	msgExpectedIdent   = "expected identifier"
	msgLabelTooLong    = "label too long: "
	msgNoCloseHas      = "no closing ')' after has("
	msgNoCloseAll      = "no closing ')' after all("
	msgNoCloseGlobal   = "no closing ')' after global("
	msgExpectedOpAfter = "expected operator after label "
	msgUnexpectedEOF   = "unexpected end of string looking for op"
	msgExpectedString  = "expected string"
	msgExpectedSetLit  = "expected set literal"
	msgExpectedRBrace  = "expected }"
	msgExpectedRParen  = "expected )"
	msgExpectedEqOrNe  = "expected == or != not: "
	msgUnexpectedToken = "unexpected token: "
	msgTrailing        = "unexpected content at end of selector "
	msgTooDeep         = "selector nested too deeply"
)
