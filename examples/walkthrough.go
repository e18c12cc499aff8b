package examples

import "strings"

// The seed walkthroughs: each step is the list of -f arguments a user gives
// palisade (the shared topology first, then the seed's files in order; a
// later document with the same kind, namespace and name replaces an earlier
// one), and the flows whose verdicts the seed text and docs/semantics.md imply.
// `go test ./examples` checks them with `palisade explain`; `palisade lab`
// runs the same steps with real packets.
//
// Every expectation is derived from the seed text and the behavioural spec
// of Calico's semantics (cited as §N), never from running palisade. Where
// the seed says one thing and Calico's semantics another, the step asserts the
// semantics and the reason says why.

// Lab addresses (examples/topology/00-nodes.yaml).
const (
	host1     = "198.19.15.254" // the seeds' standalone host, outside the cluster
	host2     = "198.19.15.253" // a second outside host
	controlIP = "198.19.0.1"
	node1IP   = "198.19.0.2"
	node2IP   = "198.19.0.3"

	// Topology is the directory of the cluster every step starts from.
	Topology = "topology"
)

// Flow is one connection attempt. From and To are NAMESPACE/POD, node:NAME
// (that node's own processes) or an IP address; Port is PORT/PROTO, with
// 0/ICMP for an ICMP echo request.
type Flow struct {
	From, To, Port string
	Want           string // "allow" or "deny"
	Why            string // where the expectation comes from
}

// Step is one state of a walkthrough: the files in force, in order, and the
// flows to check.
type Step struct {
	Name  string
	Files []string
	Flows []Flow
}

func allow(from, to, port string, why ...string) Flow {
	return Flow{From: from, To: to, Port: port, Want: "allow", Why: strings.Join(why, " ")}
}

func deny(from, to, port string, why ...string) Flow {
	return Flow{From: from, To: to, Port: port, Want: "deny", Why: strings.Join(why, " ")}
}

// withTopology returns the topology directory followed by dir/name for each name.
func withTopology(dir string, names ...string) []string {
	out := []string{Topology}
	for _, n := range names {
		out = append(out, dir+"/"+n)
	}
	return out
}

// Seeds lists the walkthroughs in order.
func Seeds() []string { return []string{"seed000", "seed001", "seed002", "seed003", "seed004"} }

// Walkthrough returns a seed's steps (nil for an unknown seed).
func Walkthrough(seed string) []Step {
	switch seed {
	case "seed000":
		return seed000Steps()
	case "seed001":
		return seed001Steps()
	case "seed002":
		return seed002Steps()
	case "seed003":
		return seed003Steps()
	case "seed004":
		return seed004Steps()
	}
	return nil
}
