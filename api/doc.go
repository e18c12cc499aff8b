// Package api owns palisade's resource model: the Calico v3 kinds
// (GlobalNetworkPolicy, NetworkPolicy, the staged policies, Tier,
// HostEndpoint, WorkloadEndpoint, Profile, GlobalNetworkSet, NetworkSet,
// FelixConfiguration, KubeControllersConfiguration, Node) as Go types, the
// Kubernetes kinds palisade reads (Namespace, Pod, Node, Service,
// ServiceAccount and networking.k8s.io/v1 NetworkPolicy, through k8s.io/api),
// decoding of multi-document YAML and JSON with strict field checking,
// defaulting, and validation with field paths.
//
// The package does no I/O beyond what its callers hand it as bytes: it turns
// documents into typed, defaulted, validated objects, and every error it
// returns names the document, the field path and the rule that was broken.
//
// Both projectcalico.org/v3 and crd.projectcalico.org/v1 are accepted on
// input; objects are always normalised to projectcalico.org/v3 (see
// shared/docs/api.md §1.1 and decision 1).
package api
