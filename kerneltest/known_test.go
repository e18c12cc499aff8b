package kerneltest

import "os"

// knownIssue is a disagreement between the kernel and the evaluator that
// has been traced to a component this package does not own, reported, and
// not yet fixed. A disagreement that matches one is logged (with its id)
// instead of failing the test, unless KERNELTEST_STRICT=1. Remove an entry
// once the fix lands; keep matching narrow (the flow, the evaluator's
// deciding stage, the probe's failing step).
type knownIssue struct {
	id, summary string
	matches     func(o outcome) bool
}

// knownIssues is empty: the two found so far were fixed in 7d45950
// (render-ct-status-dnat: filter-output matched `ct status & dnat == 0`,
// which misses packets with no conntrack entry, so a one-way untracked
// allow leaked its SYN-ACK; evaluator-notrack-reply-breaks-tcp: the
// evaluator allowed TCP flows whose SYN-ACK an untracked allow NOTRACKs,
// which invalidates the handshake's ACK, §9.2). TestDoNotTrack covers both.
var knownIssues []knownIssue

// known returns the known issue a disagreement matches, if any.
func known(o outcome) *knownIssue {
	if os.Getenv("KERNELTEST_STRICT") == "1" || o.verdict == nil {
		return nil
	}
	for i := range knownIssues {
		if knownIssues[i].matches(o) {
			return &knownIssues[i]
		}
	}
	return nil
}
