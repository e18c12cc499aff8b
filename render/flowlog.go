package render

import (
	"strings"

	"github.com/palisade-net/palisade/policy"
)

// Flow logs: when a node's FelixConfiguration sets spec.flowLogs, every
// rule that decides a flow for a policy rule, a profile rule, a tier's end
// or an endpoint's default (Deny ones with Denied;
// Allow ones too with All) is preceded by a rule with the same matches that
// sends the packet to NFLOG group FlowLogGroup, subject to one node-wide
// limit object, with the prefix FlowLogPrefix and the name of the decision's
// counter. The agent reads the group and maps the counter back to the
// tier, policy and rule (package flowlog). Failsafes and the forward
// default (a forwarded packet no applyOnForward policy judged) are not
// logged.

// Flow log identity in the kernel.
const (
	FlowLogGroup     = 20           // the NFLOG group
	FlowLogPrefix    = "palisade: " // then the counter's name
	FlowLogLimitName = "flowlogs"   // the limit object's name
)

// FlowLogLimit is the node-wide rate limit of flow log rules.
type FlowLogLimit struct {
	Name        string
	Group       uint16
	Rate, Burst int
}

// flowLogged reports whether decisions with key are sent to the flow log.
func (b *builder) flowLogged(key CounterKey) bool {
	mode := b.n.Felix.FlowLogs.Mode
	if mode == policy.FlowLogsDisabled || key.Kind == CountFailsafe || key.Kind == CountForward {
		return false
	}
	switch key.Action {
	case "Deny":
		return true
	case "Allow":
		return mode == policy.FlowLogsAll
	}
	return false
}

// flowLogLimit returns the name of the node's limit object, creating it.
func (b *builder) flowLogLimit() string {
	if b.flowLog == nil {
		fl := b.n.Felix.FlowLogs
		b.flowLog = &FlowLogLimit{Name: FlowLogLimitName, Group: FlowLogGroup,
			Rate: max(fl.Rate, 1), Burst: max(fl.Burst, 1)}
	}
	return b.flowLog.Name
}

// withFlowLog puts, before each rule, its flow log twin when the
// decision is logged.
func (b *builder) withFlowLog(key CounterKey, counter string, rules []Rule) []Rule {
	if !b.flowLogged(key) {
		return rules
	}
	log := StmtLog{Prefix: FlowLogPrefix + counter, Group: FlowLogGroup, Limit: b.flowLogLimit()}
	out := make([]Rule, 0, 2*len(rules))
	for _, r := range rules {
		out = append(out, Rule{Matches: r.Matches, Statements: []Statement{log}, Comment: "flow log"}, r)
	}
	return out
}

// FlowLogCounter reads the counter's name from a flow log prefix.
func FlowLogCounter(prefix string) (string, bool) {
	name, ok := strings.CutPrefix(prefix, FlowLogPrefix)
	return strings.TrimSpace(name), ok && strings.HasPrefix(name, counterPrefix)
}
