// Package conformance checks palisade's reference evaluator against
// independent models of Kubernetes NetworkPolicy semantics. It is a
// test-only package: everything it owns lives in _test.go files, and this
// file exists only to document it.
//
// It owns:
//
//   - the cyclonus conformance suite (cyclonus_test.go): every test case the
//     cyclonus generator (github.com/mattfenwick/cyclonus v0.5.6,
//     pkg/generator) produces, with no tag excluded, is replayed step by
//     step against a simulated cluster (namespaces x, y, z; pods a, b, c in
//     each, serving 80 and 81 on TCP, UDP and SCTP under the container port
//     names serve-<port>-<proto>). After each step every probe cyclonus
//     would run is judged twice, by cyclonus's matcher (pkg/matcher, the
//     "expected" truth table cyclonus compares real clusters with) and by
//     policy.Model.Allowed, and the two must agree;
//   - the simulated cluster (cluster_test.go): how a step's actions change
//     namespaces, pods and policies as cyclonus's
//     connectivity.TestCaseState does, the pod addresses palisade and
//     cyclonus share, and the conversion to the objects policy.NewModel
//     takes;
//   - the list of cyclonus deviations (deviations_test.go): flows where we
//     believe cyclonus's matcher departs from Kubernetes NetworkPolicy
//     semantics, each picked out exactly and justified from the Kubernetes
//     documentation. Only those flows are skipped, each one is logged (with
//     palisade's verdict, which need not be right either), and a deviation
//     no flow hits any more fails the suite so the list cannot go stale.
//
// It also owns the kernel run (kernel_test.go): the cyclonus cases that
// change only policies and labels (all but three), as real NetworkPolicies
// through a real kube-apiserver (internal/kubetest), mirrored by
// kube/mirror into a datastore and enforced by palisade's agent in a
// node's network namespace, on the nine pods, each in a namespace of its
// own behind a veth named by Calico's convention. After each step every
// TCP and UDP probe cyclonus would run is sent with real packets (SCTP is
// judged by the evaluator run only), and the kernel's verdict must equal
// explain's on the mirrored datastore. TestCyclonusKernelChain runs every
// third of those cases with the pods attached by a real CNI chain instead
// (libcni running ptp and host-local, then palisade-cni, which binds each
// pod in the agent; every ptp veth is a workload interface, dropped until
// bound). Each step waits until the mirror
// has written a barrier label bump and the agent has committed the
// ruleset of the datastore's state, so no probe meets a stale kernel.
//
// Flows are judged as pod-IP flows (policy.ResolvePeer of "ns/pod"). The
// generator's default probe mode goes through each pod's Service name, but
// cyclonus's matcher, like NetworkPolicy itself, sees only the pods at the
// two ends, so the mode changes nothing it expects.
//
// The package never edits palisade's packages; a disagreement that is
// palisade's fault is a test failure to be fixed where the bug is.
package conformance
