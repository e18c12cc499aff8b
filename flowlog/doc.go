// Package flowlog owns palisade's flow logs: the records the agent makes of
// the packets its flow log rules send to NFLOG (render's FlowLogGroup), the
// buffer recent records are kept in and followed from, the filters of
// `palisade flows`, and the NFLOG reader.
//
// The kernel decides what is logged: a flow log rule sits before each rule
// that decides a flow (render/flowlog.go) with the decision's counter name
// in its prefix, so a record's tier, policy and rule are the ones the
// kernel matched, not re-derived. Records are made from the packet's
// headers (addresses, protocol, ports or ICMP type), its interfaces (the
// endpoint is the workload whose interface the packet leaves (ingress) or
// enters from (egress), else the host endpoint of the interface) and the
// ruleset in force (the counter's key).
package flowlog
