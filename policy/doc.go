// Package policy is palisade's semantic core. It owns:
//
//   - normalisation of Calico and Kubernetes policy into one internal rule
//     type (Rule, with net/netip types inside);
//   - the cluster and node model (Model): nodes and their interfaces, workload
//     and host endpoints with their effective labels, profiles, network sets,
//     tiers and ordered policies, failsafes and Felix settings, NodePort
//     services;
//   - the reference evaluator (Model.Evaluate), which decides a flow's fate by
//     following Calico's semantics stage by stage and records, for every
//     stage it evaluates, what decided it;
//   - failing closed (failclosed.go): endpoints whose profiles cannot be
//     resolved deny and are quarantined, policies whose tier is missing or
//     whose stored value cannot be read are enforced as deny-all stand-ins;
//     the evaluator, calc and render share these rules.
//
// The evaluator is deliberately simple and slow: it is the single source of
// truth that `palisade explain` and `matrix` print and that the nftables
// ruleset is tested against. Comments cite the section of docs/semantics.md
// (§n) where the behaviour is surprising.
//
// The package does no I/O and starts no goroutines.
package policy
