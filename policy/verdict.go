package policy

// Result is a stage's outcome.
type Result string

// Stage outcomes.
const (
	ResultAllow Result = "allow"
	ResultDeny  Result = "deny"
	ResultNone  Result = "none" // no verdict: the packet goes on to the next stage
)

// Step is one stage evaluated for one packet at one node, with what decided
// it.
type Step struct {
	Node      string `json:"node"`
	Stage     string `json:"stage"`               // e.g. "filter-input"
	Kind      string `json:"kind,omitempty"`      // normal, forward, preDNAT, untracked
	Endpoint  string `json:"endpoint,omitempty"`  // e.g. "HostEndpoint control-auto-hep (interface eth0)"
	Direction string `json:"direction,omitempty"` // ingress or egress
	Tier      string `json:"tier,omitempty"`
	Policy    string `json:"policy,omitempty"`
	Rule      *int   `json:"rule,omitempty"` // rule index within the policy's rules for the direction
	Action    string `json:"action,omitempty"`
	Result    Result `json:"result"`
	Reason    string `json:"reason"`
	// Tried lists, when a tier ends without a matching rule, each rule of
	// the policies it tried and the first of its conditions the packet
	// failed ("policy rule N: why").
	Tried []string `json:"tried,omitempty"`
}

// Path is the judgement of one way through the network: one per NodePort
// backend, or one for a direct flow.
type Path struct {
	Via     string `json:"via,omitempty"` // e.g. "NodePort 30180/TCP -> yaobank/customer:80"
	Verdict Result `json:"verdict"`
	Request []Step `json:"request"`
	Reply   []Step `json:"reply,omitempty"`
}

// Verdict is the evaluator's answer for a flow.
type Verdict struct {
	Verdict Result `json:"verdict"` // allow or deny
	From    string `json:"from"`
	To      string `json:"to"`
	Port    string `json:"port"`
	SrcIP   string `json:"srcIP"`
	DstIP   string `json:"dstIP"`
	Paths   []Path `json:"paths"`
}

// Allowed reports whether the flow is allowed.
func (v *Verdict) Allowed() bool { return v.Verdict == ResultAllow }
