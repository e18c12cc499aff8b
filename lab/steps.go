package lab

import "github.com/palisade-net/palisade/examples"

// The scenario data is the examples' walkthroughs (examples.Walkthrough),
// which derive every expected verdict from the seed documents and
// docs/semantics.md; `go test ./examples` checks the same steps with explain.

const topology = examples.Topology

// flow is one connection attempt. from and to are NAMESPACE/POD, node:NAME
// (that node's own processes) or an IP address; port is PORT/PROTO, with
// 0/ICMP for an ICMP echo request.
type flow struct {
	from, to, port string
	want           string // "allow" or "deny"
	why            string // where the expectation comes from
}

// step is one state of a walkthrough: the examples' files in force, in
// order (the topology first), and the flows to check.
type step struct {
	name  string
	files []string
	flows []flow
}

// walkthrough returns the steps of a seed's walkthrough.
func walkthrough(seed string) func() []step {
	return func() []step {
		var out []step
		for _, s := range examples.Walkthrough(seed) {
			st := step{name: s.Name, files: s.Files}
			for _, f := range s.Flows {
				st.flows = append(st.flows, flow{from: f.From, to: f.To, port: f.Port, want: f.Want, why: f.Why})
			}
			out = append(out, st)
		}
		return out
	}
}

// Scenario is one seed's walkthrough.
type Scenario struct {
	Name  string // seed000 ... seed004
	Title string
	steps func() []step
}

// Scenarios lists every seed's walkthrough, in order.
func Scenarios() []Scenario {
	return []Scenario{
		{"seed000", "Network Policy for Hosts and NodePorts (yaobank)", walkthrough("seed000")},
		{"seed001", "Protect Kubernetes nodes", walkthrough("seed001")},
		{"seed002", "Securing host endpoints in Kubernetes (foo, bar, NodePort 30010)", walkthrough("seed002")},
		{"seed003", "Protect hosts and VMs", walkthrough("seed003")},
		{"seed004", "Network policy enforcement (several articles)", walkthrough("seed004")},
	}
}

// StepNames lists the scenario's steps.
func (s Scenario) StepNames() []string {
	var out []string
	for _, st := range s.steps() {
		out = append(out, st.name)
	}
	return out
}
