package policy

import "fmt"

// evaluator walks one packet through the stages of each node it crosses.
type evaluator struct {
	m     *Model
	node  *Node
	stage string
	steps []Step
	quiet bool // record no steps (matrix)
}

// Stage names, after the Calico base chains they stand for (§2).
const (
	stageRawPre     = "raw-prerouting"
	stageManglePre  = "mangle-prerouting"
	stageNAT        = "nat (kube-proxy)"
	stageInput      = "filter-input"
	stageForward    = "filter-forward"
	stageRawOut     = "raw-output"
	stageOutput     = "filter-output"
	stageManglePost = "mangle-postrouting"
)

func (e *evaluator) note(stage string, r Result, reason string) {
	e.stage = stage
	e.emit(Step{}, r, reason)
}

// processHop runs every stage of §3.3 that h meets at its node; false means
// the packet was dropped.
func (e *evaluator) processHop(h *hop, st ctState) bool {
	e.node = h.node
	if h.in == "" {
		return e.localOrigin(h, st)
	}
	return e.arrive(h, st)
}

// arrive: stages R1, M1, DNAT, then F-IN or F-FWD (§3.3).
func (e *evaluator) arrive(h *hop, st ctState) bool {
	n, m := h.node, e.m
	inWL := n.IsWorkloadInterface(h.in)
	mark := false
	e.stage = stageRawPre
	if hep := m.untrackedHEP(n, h.in, Ingress); hep != nil {
		switch o := e.evalEndpoint(endpoint{hep: hep, ifc: h.in}, Ingress, StageUntracked, h.pre, st); {
		case o.res == ResultDeny:
			return false
		case o.res == ResultAllow && !o.failsafe:
			// NOTRACKed: later stages see no conntrack state (ct state
			// "untracked" is neither established nor invalid), so an
			// established packet is judged afresh by them (§9.2).
			mark, h.untracked, st = true, true, ctNew
		}
	}
	e.stage = stageManglePre
	if hep := m.preDNATHEP(n, h.in); hep != nil && !mark {
		o := e.evalEndpoint(endpoint{hep: hep, ifc: h.in}, Ingress, StagePreDNAT, h.pre, st)
		if o.res == ResultDeny {
			return false
		}
		mark = o.res == ResultAllow && !o.failsafe && st != ctEstablished
	}
	if h.noBackend != "" {
		e.note(stageNAT, ResultDeny, h.noBackend+": kube-proxy drops it")
		return false
	}
	if h.dnat != "" {
		e.note(stageNAT, ResultNone, "DNAT: "+h.dnat)
	}
	if h.out == "" {
		return e.input(h, st, inWL, mark)
	}
	return e.forward(h, st, inWL, mark)
}

// input is stage F-IN.
func (e *evaluator) input(h *hop, st ctState, inWL, mark bool) bool {
	n, m := h.node, e.m
	e.stage = stageInput
	if inWL {
		// Workload to its own host (§10, §4 path 7): the pod's egress
		// policy, then DefaultEndpointToHostAction; HEP policy never applies.
		w := m.workloadOn(n, h.in)
		if isNeighbourDiscovery(h.post) {
			e.note(stageInput, ResultAllow, "ICMPv6 router or neighbour discovery from a workload to its host is always allowed (§3.3 F-IN step 2)")
			return true
		}
		if o := e.evalEndpoint(endpoint{wl: w, ifc: h.in}, Egress, StageNormal, h.post, st); o.res == ResultDeny {
			return false
		}
		if st == ctEstablished {
			return true
		}
		switch n.Felix.EndpointToHost {
		case EndpointToHostDrop:
			e.note(stageInput, ResultDeny, "workload to its own host: DefaultEndpointToHostAction is Drop (§10)")
			return false
		case EndpointToHostAccept:
			e.note(stageInput, ResultAllow, "workload to its own host: DefaultEndpointToHostAction is Accept (§10)")
		default:
			e.note(stageInput, ResultNone, "workload to its own host: DefaultEndpointToHostAction is Return: the host's other rules decide (accept) (§10)")
		}
		return true
	}
	if mark {
		e.note(stageInput, ResultAllow, "accept mark set by an untracked or preDNAT allow: normal ingress policy is skipped (§3.3 F-IN step 3)")
		return true
	}
	if hep := m.hepFor(n, h.in, false); hep != nil {
		o := e.evalEndpoint(endpoint{hep: hep, ifc: h.in}, Ingress, StageNormal, h.post, st)
		return o.res != ResultDeny
	}
	e.note(stageInput, ResultNone, fmt.Sprintf("no host endpoint covers interface %s: not policed (§1.1 item 3)", h.in))
	return true
}

// forward is stage F-FWD.
func (e *evaluator) forward(h *hop, st ctState, inWL, mark bool) bool {
	n, m := h.node, e.m
	e.stage = stageForward
	outWL := n.IsWorkloadInterface(h.out)
	evaluated := false
	check := func(ep endpoint, d Direction, k StageKind) bool {
		evaluated = true
		return e.evalEndpoint(ep, d, k, h.post, st).res != ResultDeny
	}
	if hep := m.hepFor(n, h.in, true); hep != nil && !mark {
		if !check(endpoint{hep: hep, ifc: h.in}, Ingress, StageForward) {
			return false
		}
	}
	if inWL {
		if !check(endpoint{wl: m.workloadOn(n, h.in), ifc: h.in}, Egress, StageNormal) {
			return false
		}
	}
	if outWL {
		if !check(endpoint{wl: m.workloadOn(n, h.out), ifc: h.out}, Ingress, StageNormal) {
			return false
		}
	}
	if hep := m.hepFor(n, h.out, true); hep != nil {
		if !check(endpoint{hep: hep, ifc: h.out}, Egress, StageForward) {
			return false
		}
	}
	if !evaluated {
		reason := fmt.Sprintf("forwarded from %s to %s: no endpoint covers either interface, not policed (§4 path 10)", h.in, h.out)
		if mark {
			reason = "accept mark set by a preDNAT or untracked allow; no other endpoint on the path"
		}
		e.note(stageForward, ResultNone, reason)
	}
	return true
}

// localOrigin: stages R2, F-OUT or M2 for a packet a host process sends;
// for a packet to one of the host's own addresses, then the loop through lo.
func (e *evaluator) localOrigin(h *hop, st ctState) bool {
	n, m := h.node, e.m
	oif := h.out
	if oif == "" {
		oif = "lo"
	}
	if n.IsWorkloadInterface(oif) {
		e.note(stageOutput, ResultAllow, "host to a local workload is never policed (§4 path 8, §13 item 6)")
		return true
	}
	mark := false
	e.stage = stageRawOut
	if hep := m.untrackedHEP(n, oif, Egress); hep != nil {
		switch o := e.evalEndpoint(endpoint{hep: hep, ifc: oif}, Egress, StageUntracked, h.pre, st); {
		case o.res == ResultDeny:
			return false
		case o.res == ResultAllow && !o.failsafe:
			mark, h.untracked, st = true, true, ctNew // NOTRACKed, as in arrive
		}
	}
	if h.noBackend != "" {
		e.note(stageNAT, ResultDeny, h.noBackend+": kube-proxy drops it")
		return false
	}
	if h.dnat != "" {
		e.note(stageNAT, ResultNone, "DNAT in the output path: "+h.dnat)
	}
	if !e.hostEgress(h, st, oif, mark) {
		return false
	}
	if h.out != "" {
		return true
	}
	loop := &hop{node: n, in: "lo", out: "", pre: h.post, post: h.post}
	ok := e.arrive(loop, st)
	h.untracked = h.untracked || loop.untracked
	return ok
}

// hostEgress is F-OUT for connections that are not DNAT'd and M2 for those
// that are (§3.3, §14).
func (e *evaluator) hostEgress(h *hop, st ctState, oif string, mark bool) bool {
	n, m := h.node, e.m
	stage := stageOutput
	if h.dnat != "" {
		stage = stageManglePost
	}
	e.stage = stage
	if mark {
		e.note(stage, ResultAllow, "accept mark set by an untracked allow (§3.3 F-OUT step 1)")
		return true
	}
	hep := m.hepFor(n, oif, false)
	if hep == nil {
		e.note(stage, ResultNone, fmt.Sprintf("no host endpoint covers interface %s: not policed (§1.1 item 3)", oif))
		return true
	}
	return e.evalEndpoint(endpoint{hep: hep, ifc: oif}, Egress, StageNormal, h.post, st).res != ResultDeny
}

// isNeighbourDiscovery: ICMPv6 types 130-133, 135 and 136 (MLD, router
// solicitation, neighbour solicitation and advertisement), which a workload
// may always send to its host (§10).
func isNeighbourDiscovery(p packet) bool {
	if p.proto != protoICMPv6 {
		return false
	}
	switch p.icmpType {
	case 130, 131, 132, 133, 135, 136:
		return true
	}
	return false
}
