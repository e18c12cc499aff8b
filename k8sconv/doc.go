// Package k8sconv converts Kubernetes networking.k8s.io/v1 NetworkPolicies
// into the Calico NetworkPolicy form that the rest of palisade evaluates
// (docs/api.md §6).
//
// The package owns exactly that translation and nothing else:
//
//   - identity: the converted policy keeps the Kubernetes name and
//     namespace, lives in tier "default" at order 1000 (docs/semantics.md §7.3),
//     and sorts against Calico policies as kind KubernetesNetworkPolicy
//     (KindKubernetesNetworkPolicy) in the equal-order tie-break;
//   - selectors: the policy and peer podSelectors become Calico selectors
//     that start with the clause projectcalico.org/orchestrator == 'k8s',
//     namespaceSelectors become unprefixed namespace selectors (an empty one
//     is all(), an absent one means "the policy's namespace");
//   - rules: every Kubernetes rule becomes one Allow rule per protocol and
//     peer, with ports grouped by protocol and numeric ports merged into
//     minimal ranges, exactly as Calico's converter does;
//   - validation: bad CIDRs, except entries, ports, protocols, label
//     selectors and policy types are reported as FieldErrors naming the field
//     (docs/api.md decision 9). Palisade never fails open: where Calico would
//     silently widen a rule, Convert reports an error and leaves the rule out.
//
// ApplyDefaults reproduces the Kubernetes API server's defaulting
// (policyTypes and port protocol) for policies read from files rather than
// from an API server; docs/semantics.md's errata require it before Convert.
//
// The package is pure: no I/O, no logging, no global state.
package k8sconv
