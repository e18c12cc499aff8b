package conformance

import "github.com/mattfenwick/cyclonus/pkg/connectivity/probe"

// deviation describes flows where we believe cyclonus's matcher does not
// implement Kubernetes NetworkPolicy semantics. On those flows the suite
// does not compare palisade with cyclonus; it logs every one it skips.
//
// Applies must pick out the flows exactly (here: by the flow and by
// cyclonus's own verdict), never a whole case, and Why must cite the
// Kubernetes documentation. A deviation that no generated flow hits any
// more fails the suite, so the list cannot go stale.
type deviation struct {
	Name    string
	Applies func(job *probe.Job, cyclonusAllows bool) bool
	// Kubernetes is the verdict the documentation requires on those flows.
	Kubernetes bool
	Why        string
}

// requireKubernetesOnDeviations makes palisade's verdict on a deviation's
// flows a test failure when it differs from Deviation.Kubernetes. It is off
// because palisade's evaluator, like cyclonus, denies a pod's connection to
// itself (policy.Model.Evaluate lays the flow out as leaving the pod by its
// veth and coming back in by it); turn it on once that is fixed in policy/.
// Until then the totals line counts those flows.
const requireKubernetesOnDeviations = true

// cyclonusDeviations at cyclonus v0.5.6.
//
// Two semantics where the documentation leaves room are deliberately NOT
// deviations, and cyclonus and palisade agree on them:
//
//   - ipBlock peers matching pod addresses. The generator's ipBlock cases
//     select pods by address (the CIDRs are built from z/c's IP) and the
//     matcher honours them. The concept page says of ipBlock "These should
//     be cluster-external IPs, since Pod IPs are ephemeral and
//     unpredictable": advice, not a rule; nothing exempts pod addresses, and
//     Calico, whose conversion palisade follows, matches them.
//   - Probes by port name. cyclonus resolves the name on the destination
//     pod and probes the number; a policy port given by name matches when
//     the destination's container port of that name has that number and the
//     rule's protocol (NetworkPolicyPort.port: "This can either be a
//     numerical or named port on a pod").
var cyclonusDeviations = []deviation{
	{
		Name: "a pod's connection to itself",
		Applies: func(job *probe.Job, cyclonusAllows bool) bool {
			return job.FromKey == job.ToKey && !cyclonusAllows
		},
		Kubernetes: true,
		Why: "cyclonus's matcher polices a pod's connection to its own address like any other flow " +
			"(its --ignore-loopback flag exists only to stop counting the mismatches), so it expects " +
			"deny whenever a policy isolates the pod. The Kubernetes documentation " +
			"(concepts/services-networking/network-policies, \"The entities that a Pod can communicate " +
			"with are identified through a combination of the following 3 identifiers: Other pods that " +
			"are allowed (exception: a pod cannot block access to itself)\") says it is always allowed, " +
			"and the upstream e2e suite expects exactly that (test/e2e/network/netpol/reachability.go, " +
			"AllowLoopback: \"loopback logic follows no policy\"). In a Calico dataplane a packet from a " +
			"pod to its own pod IP never leaves the pod's network namespace, so no policy sees it.",
	},
}
