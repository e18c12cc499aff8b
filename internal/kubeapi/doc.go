// Package kubeapi runs a real kube-apiserver on an embedded etcd, on
// loopback, for the tests (internal/kubetest) and `palisade lab --kube`.
// The binaries come from scripts/kube-binaries.sh, which builds them from
// the Go module proxy once per version into a cache directory (BinDir).
// The administrator authenticates with a bearer token (system:masters);
// authorization is RBAC, so other tokens get only what RBAC grants.
package kubeapi
