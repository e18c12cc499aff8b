package lab

import "strings"

// The scenario data (seed000.go ... seed004.go) is a copy of the step tables
// of examples/seed00N_test.go, which derive every expected verdict from the
// seed documents and semantics.md. These helpers have the same names and
// meaning as in examples/seeds_test.go, so the copies stay byte-for-byte
// identical (TestScenariosMatchExamples).

// Lab addresses (examples/topology/00-nodes.yaml).
const (
	host1     = "198.19.15.254" // the seeds' standalone host, outside the cluster
	host2     = "198.19.15.253" // a second outside host
	controlIP = "198.19.0.1"
	node1IP   = "198.19.0.2"
	node2IP   = "198.19.0.3"

	topology = "topology"
)

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

func allow(from, to, port string, why ...string) flow {
	return flow{from: from, to: to, port: port, want: "allow", why: strings.Join(why, " ")}
}

func deny(from, to, port string, why ...string) flow {
	return flow{from: from, to: to, port: port, want: "deny", why: strings.Join(why, " ")}
}

// withTopology returns the topology directory followed by dir/name for each name.
func withTopology(dir string, names ...string) []string {
	out := []string{topology}
	for _, n := range names {
		out = append(out, dir+"/"+n)
	}
	return out
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
		{"seed000", "Network Policy for Hosts and NodePorts (yaobank)", seed000Steps},
		{"seed001", "Protect Kubernetes nodes", seed001Steps},
		{"seed002", "Securing host endpoints in Kubernetes (foo, bar, NodePort 30010)", seed002Steps},
		{"seed003", "Protect hosts and VMs", seed003Steps},
		{"seed004", "Network policy enforcement (several articles)", seed004Steps},
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
