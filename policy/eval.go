package policy

import (
	"fmt"
)

// StageKind is the stage family an endpoint evaluation runs in (§3.1).
type StageKind uint8

const (
	StageNormal StageKind = iota
	StageForward
	StagePreDNAT
	StageUntracked
)

func (k StageKind) String() string {
	return [...]string{"normal", "forward", "preDNAT", "untracked"}[k]
}

// endpoint is what EVAL runs on: a workload or a host endpoint.
type endpoint struct {
	wl  *Workload
	hep *HostEndpoint
	ifc string // the interface this evaluation is for (explanations)
}

func (e endpoint) labels() labelMap {
	if e.wl != nil {
		return e.wl.Labels
	}
	return e.hep.Labels
}

func (e endpoint) unresolved() string {
	if e.wl != nil {
		return e.wl.Unresolved
	}
	return e.hep.Unresolved
}

func (e endpoint) profiles() []*Profile {
	if e.wl != nil {
		return e.wl.Profiles
	}
	return e.hep.Profiles
}

func (e endpoint) String() string {
	if e.wl != nil {
		ifc := e.ifc
		if ifc == "" {
			ifc = e.wl.Interface
		}
		return "WorkloadEndpoint " + e.wl.Key() + " (interface " + ifc + ")"
	}
	return "HostEndpoint " + e.hep.Name + " (interface " + e.ifc + ")"
}

// outcome of one endpoint evaluation.
type outcome struct {
	res Result
	// failsafe is set when a failsafe rule accepted the packet: it is
	// accepted in this stage without the accept mark (§3.1 step 3).
	failsafe bool
}

// policyClassFor says which policies take part in a stage kind (§7.1).
func (p *Policy) inKind(k StageKind) bool {
	switch k {
	case StageNormal:
		return p.Class == ClassNormal
	case StageForward:
		return p.Class == ClassNormal && p.ApplyOnForward
	case StagePreDNAT:
		return p.Class == ClassPreDNAT
	}
	return p.Class == ClassUntracked
}

// applies reports whether p takes part in evaluating ep for kind and dir.
func (p *Policy) applies(ep endpoint, k StageKind, d Direction) bool {
	if !p.inKind(k) || !p.governs(d) {
		return false
	}
	if ep.hep != nil && !p.global {
		return false // only global policy reaches host endpoints (§7.1)
	}
	return p.Selector.Matches(ep.labels())
}

// hasPolicy reports whether any policy of kind selects ep in dir.
func (m *Model) hasPolicy(ep endpoint, k StageKind, d Direction) bool {
	return len(m.applicableTiers(ep, k, d)) > 0
}

// evalEndpoint is EVAL(ep, dir, kind) of §3.1, recording its steps.
func (e *evaluator) evalEndpoint(ep endpoint, d Direction, k StageKind, pkt packet, st ctState) outcome {
	var base Step
	if !e.quiet {
		base = Step{Kind: k.String(), Endpoint: ep.String(), Direction: d.String()}
	}
	if k != StageUntracked {
		switch {
		case st == ctEstablished:
			return e.emit(base, ResultAllow, "conntrack: established or related (§11)")
		case st == ctInvalid && !e.node.Felix.InvalidCheckOff:
			return e.emit(base, ResultDeny, "conntrack: invalid (no connection state) (§11)")
		}
	}
	if ep.hep != nil && k != StageForward {
		if f, ok := e.failsafe(d, k, pkt); ok {
			o := e.emit(base, ResultAllow, "failsafe "+f+" (§5)")
			o.failsafe = true
			return o
		}
	}
	if ep.wl != nil && d == Egress && (pkt.proto == 4 || pkt.proto == protoUDP && pkt.dport == 4789) {
		return e.emit(base, ResultDeny, "IPIP or VXLAN from a workload is dropped (§3.1 step 5)")
	}
	if o, done := e.failClosed(ep, d, k, pkt, base); done {
		return o
	}
	if o, done := e.evalTiers(ep, d, k, pkt, base); done {
		return o
	}
	return e.afterTiers(ep, d, k, pkt, base)
}

// failClosed denies for an unresolved endpoint and for a quarantined peer
// (failclosed.go), in normal and forward policy; an unresolved endpoint's
// preDNAT and untracked policies give no verdict.
func (e *evaluator) failClosed(ep endpoint, d Direction, k StageKind, pkt packet, base Step) (outcome, bool) {
	normal := k == StageNormal || k == StageForward
	if u := ep.unresolved(); u != "" {
		if !normal {
			return e.emit(base, ResultNone, "the endpoint cannot be resolved ("+u+"): its "+k.String()+" policy gives no verdict"), true
		}
		return e.emit(base, ResultDeny, "the endpoint cannot be resolved ("+u+"): denied, failing closed"), true
	}
	if !normal {
		return outcome{}, false
	}
	if r := e.m.quarantineRules[d]; r != nil && e.m.matchRule(r, pkt) {
		peer := pkt.src
		if d == Egress {
			peer = pkt.dst
		}
		return e.emit(base, ResultDeny, "the peer "+peer.String()+" belongs to an endpoint that cannot be resolved: denied, failing closed"), true
	}
	return outcome{}, false
}

// evalTiers runs the applicable tiers in order (§3.1 step 6, §7).
func (e *evaluator) evalTiers(ep endpoint, d Direction, k StageKind, pkt packet, base Step) (outcome, bool) {
	for _, tp := range e.m.applicableTiers(ep, k, d) {
		t := tp.tier
		passed := false
		for _, p := range tp.policies {
			act, idx := e.evalPolicy(p, d, pkt, base, t.Name)
			switch act {
			case ActionAllow:
				return e.emitRule(base, t.Name, p, idx, act, ResultAllow), true
			case ActionDeny:
				return e.emitRule(base, t.Name, p, idx, act, ResultDeny), true
			case ActionPass:
				e.emitRule(base, t.Name, p, idx, act, ResultNone)
				passed = true
			}
			if passed {
				break
			}
		}
		if passed {
			continue
		}
		if (k == StageNormal || k == StageForward) && t.DefaultAction == ActionDeny {
			s := base
			s.Tier = t.Name
			s.Tried = e.m.triedRules(tp.policies, d, pkt)
			return e.emit(s, ResultDeny, fmt.Sprintf("end of tier %s: policies selected the endpoint but no rule matched; the tier's default action is Deny (§3.1 step 6c)", t.Name)), true
		}
		// preDNAT and untracked tiers never end in a drop; a Pass tier goes on.
	}
	return outcome{}, false
}

// evalPolicy returns the first non-Log action of p's rules that match, and
// its index; 0 when no rule decides. Log rules are recorded and skipped.
func (e *evaluator) evalPolicy(p *Policy, d Direction, pkt packet, base Step, tier string) (Action, int) {
	rules := p.rules(d)
	for i := range rules {
		r := &rules[i]
		if !e.m.matchRule(r, pkt) {
			continue
		}
		if r.Action == ActionLog {
			e.emitRule(base, tier, p, r.Index, ActionLog, ResultNone)
			continue
		}
		return r.Action, r.Index
	}
	return 0, -1
}

// afterTiers is §3.1 step 7: profiles for normal, the forward default, and
// no verdict for preDNAT and untracked.
func (e *evaluator) afterTiers(ep endpoint, d Direction, k StageKind, pkt packet, base Step) outcome {
	switch k {
	case StageForward:
		// Decision 2: forwarded traffic is allowed per direction unless an
		// AOF policy decided; an AOF tier ending in Pass also allows.
		if !e.m.hasPolicy(ep, StageForward, d) {
			return e.emit(base, ResultAllow, "no applyOnForward policy selects this endpoint in this direction: forwarded traffic is allowed (§9.1)")
		}
		return e.emit(base, ResultAllow, "applyOnForward tiers passed with no verdict: allowed on the forward path (decision 2)")
	case StagePreDNAT, StageUntracked:
		return e.emit(base, ResultNone, "no "+k.String()+" rule matched: no verdict, the packet continues (§12 item 6)")
	}
	for _, p := range ep.profiles() {
		if p == nil {
			continue
		}
		rules := p.Ingress
		if d == Egress {
			rules = p.Egress
		}
		for i := range rules {
			r := &rules[i]
			if !e.m.matchRule(r, pkt) {
				continue
			}
			switch r.Action {
			case ActionAllow:
				return e.emitProfile(base, p.Name, i, ResultAllow)
			case ActionDeny:
				return e.emitProfile(base, p.Name, i, ResultDeny)
			}
		}
	}
	reason := "no policy decided and no profile allowed: denied (§3.1 step 7)"
	if len(ep.profiles()) == 0 {
		reason = "no policy decided and the endpoint has no profiles: denied (§6 item 1)"
	}
	return e.emit(base, ResultDeny, reason)
}

func (e *evaluator) emit(s Step, r Result, reason string) outcome {
	if e.quiet {
		return outcome{res: r}
	}
	s.Node = e.node.Name
	s.Stage = e.stage
	s.Result = r
	s.Reason = reason
	e.steps = append(e.steps, s)
	return outcome{res: r}
}

func (e *evaluator) emitRule(base Step, tier string, p *Policy, idx int, a Action, r Result) outcome {
	if e.quiet {
		return outcome{res: r}
	}
	s := base
	s.Tier = tier
	s.Policy = p.Kind + " " + p.Key()
	i := idx
	s.Rule = &i
	s.Action = a.String()
	reason := fmt.Sprintf("rule %d of %s %s (tier %s): %s", idx, p.Kind, p.Key(), tier, a)
	if a == ActionPass {
		reason += ": skip the rest of the tier"
	}
	if a == ActionLog {
		reason += ": logged, evaluation continues"
	}
	return e.emit(s, r, reason)
}

func (e *evaluator) emitProfile(base Step, name string, idx int, r Result) outcome {
	if e.quiet {
		return outcome{res: r}
	}
	s := base
	s.Policy = "Profile " + name
	i := idx
	s.Rule = &i
	if r == ResultAllow {
		s.Action = "Allow"
	} else {
		s.Action = "Deny"
	}
	return e.emit(s, r, fmt.Sprintf("no policy decided; rule %d of profile %s: %s", idx, name, s.Action))
}
