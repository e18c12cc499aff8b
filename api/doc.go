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
// input; objects are always normalised to projectcalico.org/v3, with plain
// (unprefixed) policy names, as Calico v3.32 writes them.
//
// # Decoding pipeline
//
// Decode splits its input on lines starting with "---" (docs/api.md §8.2), parses
// each part as YAML 1.2 (go.yaml.in/yaml/v3; JSON text goes through a JSON
// tokenizer into the same node tree, because YAML lacks some JSON escapes)
// and then, for every resource:
//
//  1. picks the Go type from (apiVersion, kind) with New;
//  2. converts the yaml.Node tree to JSON while walking the Go type by
//     reflection: unknown fields, wrong shapes and wrong scalar types become
//     FieldErrors with JSON paths. Scalars are converted by target type, so
//     `on`, `y` and `123` stay text in string fields (YAML 1.2), while
//     numeric fields need numbers. Types with their own UnmarshalJSON are
//     test-decoded in place so that their errors carry a path too;
//  3. unmarshals the JSON with encoding/json;
//  4. for crd.projectcalico.org/v1 input: sets apiVersion to
//     projectcalico.org/v3, folds the projectcalico.org/metadata annotation
//     back in, and reads protocol names and rule nets leniently (§1.1);
//  5. gives namespaced objects without a namespace "default";
//  6. Default, then Validate.
//
// Invariants: a document (or list item) yields exactly one of an object or a
// *DocumentError; a returned object has passed Validate; Default is
// idempotent; what EncodeJSON and EncodeYAML print, Decode reads back. Work
// per document is bounded by its size (alias expansion included), and
// FuzzDecode checks that no input panics.
package api
