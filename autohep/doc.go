// Package autohep computes the automatic host endpoints that Calico's
// kube-controllers node controller would maintain (docs/api.md §7,
// docs/semantics.md §1.3), as pure functions.
//
// The package owns:
//
//   - NodeInfo, the node facts the controller reads, built from a Calico
//     Node (FromCalicoNode), a Kubernetes Node with Calico's annotations
//     (FromKubernetesNode, the KDD mapping of docs/api.md §2.9) or both (Merge);
//   - ForNode, the desired host endpoints for one node under a
//     controller configuration: the default "<node>-auto-hep" wildcard
//     endpoint and the template endpoints, with expectedIPs in exactly the
//     order §7.3 gives (updates compare that list order-sensitively);
//   - Name, the endpoint naming rule with its hashing of names over 253
//     characters;
//   - IsManaged and Diff, which say which existing endpoints belong to the
//     controller and what to create, update and delete to reach the desired
//     set.
//
// It does no I/O and keeps no state: the controller that watches nodes,
// writes endpoints and runs the periodic resync lives elsewhere and calls
// these functions.
package autohep
