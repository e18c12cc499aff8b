// Package bench holds dataplane benchmarks only (tests, no library code):
// the new-connection rate and per-connection latency through a node
// namespace with palisade's rendered ruleset, against conntrack only, and
// the throughput of one established flow (docs/performance.md, targets B5
// and B6, and the peers' figures recorded there).
//
// The topology: an outside host namespace (the client, 198.19.0.254) joined
// by veth to the node namespace (eth0, 198.19.0.2), and the server pod
// bench/server (198.18.1.10) behind a cali… veth named by
// policy.PodInterfaceName. The client's SYN is forwarded by the node out of
// the pod's interface, so palisade's filter-forward hook runs the pod's
// ingress policy on it. Nothing else polices it: there is no host endpoint.
//
// The variants, switched round by round in one run (rotating the order):
//   - conntrack-only: no palisade table; a table of the benchmark's own
//     (inet palbench) with one forward rule, ct state established,related
//     accept, so conntrack tracks every flow as it does under palisade;
//   - palisade-1, -50, -200: render.Node of a model with that many
//     namespaced policies on the pod, applied by nft.Kernel. Each policy
//     has four ingress rules (source selectors of remote pods, CIDRs, ports)
//     that the benchmark's traffic does not match, except the last rule of
//     the last policy, which allows it, so the first packet walks every rule
//     of every policy (checked with render's tracer before measuring).
//
// Each round and variant: a sequential client (connect, one-byte request,
// one-byte response, close, one after another: the rate and each
// connection's latency), then 2×GOMAXPROCS clients at once (the rate with
// the CPUs saturated). Conntrack is flushed before each. Then the
// throughput of one established TCP connection, conntrack-only against
// palisade-200. The report gives median rates over rounds, latency
// percentiles over all sequential connections, the ratios and deltas
// against conntrack-only, and the cost per rule on the first packet.
//
// By default (go test ./..., -short included) TestConnRate is a smoke run of
// about two seconds that builds everything, checks the policy is in the
// path and prints a table of little meaning. The full run, about a minute
// and a half:
//
//	PALISADE_BENCH=1 go test ./kerneltest/bench -run TestConnRate -v -count=1 -timeout 10m
//
// PALISADE_BENCH_ROUNDS sets the number of rounds (default 8).
//
// Needs root (it skips without, fails under CI=true). Namespaces are named
// pal-bench-<pid>-<random>-… and removed when the test ends; addresses are
// in 198.18.0.0/15; only the benchmark's namespaces are touched.
package bench
