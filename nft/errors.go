package nft

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ApplyError is a failed nft invocation. When nft named a location, Lines
// says where, as a line of the ruleset text given to Apply (1-based), with
// that line's text.
type ApplyError struct {
	Op     string      // "apply", "check", "delete" or "show"
	Lines  []LineError // nft's located errors, first first; may be empty
	Stderr string      // nft's whole standard error
	Err    error       // the exec error (exit status, timeout)
}

// LineError is one error nft reported at a location.
type LineError struct {
	Line   int    // line in the ruleset text; 0 = in the transaction header
	Column int    // 1-based column nft reported
	Source string // the text of that line
	Msg    string // e.g. "Error: Could not process rule: No such file or directory"
}

func (e *ApplyError) Error() string {
	if len(e.Lines) > 0 {
		l := e.Lines[0]
		s := fmt.Sprintf("nft %s: ruleset line %d:%d: %s: %q", e.Op, l.Line, l.Column, l.Msg, strings.TrimSpace(l.Source))
		if len(e.Lines) > 1 {
			s += fmt.Sprintf(" (and %d more errors)", len(e.Lines)-1)
		}
		return s
	}
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("nft %s: %s", e.Op, msg)
}

func (e *ApplyError) Unwrap() error { return e.Err }

// IsApplyError reports whether err is (or wraps) an ApplyError, and returns it.
func IsApplyError(err error) (*ApplyError, bool) {
	var ae *ApplyError
	ok := errors.As(err, &ae)
	return ae, ok
}

// nftLocation matches nft's "FILE:LINE:COL-COL: Error: MSG" (also the
// multi-line form "FILE:LINE:COL-LINE:COL:").
var nftLocation = regexp.MustCompile(`^[^:]*:(\d+):(\d+)(?:-\d+)?(?::\d+)?: ((?:Error|Warning): .*)$`)

// parseErrors finds nft's located errors in stderr and maps script lines
// to lines of text (the ruleset text starts at script line bodyLine).
func parseErrors(stderr, text string, bodyLine int) []LineError {
	src := strings.Split(text, "\n")
	var out []LineError
	for _, ln := range strings.Split(stderr, "\n") {
		m := nftLocation.FindStringSubmatch(ln)
		if m == nil || !strings.HasPrefix(m[3], "Error") {
			continue
		}
		sl, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		le := LineError{Column: col, Msg: m[3]}
		if i := sl - bodyLine; i >= 0 && i < len(src) {
			le.Line, le.Source = i+1, src[i]
		}
		out = append(out, le)
	}
	return out
}
