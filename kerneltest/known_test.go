package kerneltest

import (
	"errors"
	"os"
	"strings"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/policy"
)

// knownIssue is a disagreement between the kernel and the evaluator that
// has been traced to a component this package does not own, reported, and
// not yet fixed. A disagreement that matches one is logged (with its id)
// instead of failing the test, unless KERNELTEST_STRICT=1. Remove an entry
// once the fix lands; matching is deliberately narrow.
type knownIssue struct {
	id, summary string
	matches     func(o outcome) bool
}

var knownIssues = []knownIssue{{
	id: "render-ct-status-dnat",
	summary: "render: filter-output guards the HEP egress dispatch with `ct status & dnat == 0`, " +
		"which does not match packets without a conntrack entry (invalid or untracked), so they skip " +
		"host endpoint egress policy and its `ct state invalid drop`; e.g. the SYN-ACK of a one-way " +
		"doNotTrack ingress allow leaks (semantics.md §3.3 F-OUT step 4, §9.2, decision 6). " +
		"Fix: `ct status dnat return` then an unconditional `jump dispatch-hep-egress`.",
	matches: func(o outcome) bool {
		return o.kernelAllowed() && !o.evalAllowed() && deniedAt(o, "filter-output", "conntrack: invalid")
	},
}, {
	id: "evaluator-notrack-reply-breaks-tcp",
	summary: "policy evaluator: when an untracked (doNotTrack) allow NOTRACKs the reply of a tracked TCP " +
		"connection, conntrack never sees the SYN-ACK, so the client's next packet (the handshake's ACK) is " +
		"INVALID on the node and the first tracked endpoint chain drops it: the connection opens on the " +
		"client but no data passes (semantics.md §9.2: such an allow 'can break the tracked flow'). The " +
		"evaluator judges only the first packet and its reply and says allow; it also keeps ct state " +
		"'established' for the NOTRACKed reply in later stages of the same hop (it is 'untracked').",
	matches: func(o outcome) bool {
		var pe *netlab.ProbeError
		return !o.kernelAllowed() && o.evalAllowed() && o.pf.Proto == 6 &&
			errors.As(o.kernel, &pe) && pe.Stage == "exchange" &&
			untrackedAllow(o.verdict, true) && !untrackedAllow(o.verdict, false)
	},
}}

// untrackedAllow reports whether an untracked stage allowed the reply
// (reply true) or the request of some path.
func untrackedAllow(v *policy.Verdict, reply bool) bool {
	for _, p := range v.Paths {
		steps := p.Request
		if reply {
			steps = p.Reply
		}
		for _, s := range steps {
			if s.Kind == "untracked" && s.Result == policy.ResultAllow {
				return true
			}
		}
	}
	return false
}

// deniedAt reports whether some path of the verdict was denied at stage
// with a reason containing reason.
func deniedAt(o outcome, stage, reason string) bool {
	for _, p := range o.verdict.Paths {
		for _, steps := range [][]policy.Step{p.Request, p.Reply} {
			for _, s := range steps {
				if s.Stage == stage && s.Result == "deny" && strings.Contains(s.Reason, reason) {
					return true
				}
			}
		}
	}
	return false
}

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
