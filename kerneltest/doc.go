// Package kerneltest holds tests only: it checks the rendered nftables
// ruleset against the reference evaluator with real packets in network
// namespaces.
//
// Each test builds one node namespace (uplink eth0 to an outside-host
// namespace, pods behind cali… veths named by policy.PodInterfaceName), a
// model from YAML manifests (api.Decode and policy.NewModel) whose
// addresses match the namespaces, renders the node's ruleset with
// render.Node and applies it with nft.Kernel inside the node namespace.
// Every probe (TCP connect with a one-byte exchange, UDP request and reply,
// ICMP echo) is also judged by policy.Model.Evaluate, and the two must agree
// (and agree with the expectation the test states from docs/semantics.md).
//
// differential_test.go does the same for seeded random models and flows
// (500 per run by default, a fresh seed each run, printed):
//
//	go test ./kerneltest -run Differential -v -flows=5000 -seed=42
//
// A disagreement fails the test with the seed, the model, the flow, the
// evaluator's stages and the ruleset. Disagreements traced to another
// package and reported but not yet fixed are listed in known_test.go; they
// are logged instead of failing, unless KERNELTEST_STRICT=1.
//
// The tests need root. Without root they skip, except when CI=true, where
// they fail. Namespaces are named pal-kt-<pid>-<random>-… and removed when
// each test ends.
package kerneltest
