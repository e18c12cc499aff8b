// Package deploy holds install.yaml, the manifest generated from the Helm
// chart in charts/palisade (scripts/gen-install), and the tests that keep
// the two in step and check them against a real kube-apiserver: helm lint,
// server-side dry runs, and the server's RBAC (it may read what policy
// needs and nothing more).
package deploy
