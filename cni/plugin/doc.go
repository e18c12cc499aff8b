// Package plugin is palisade-cni's CNI commands (cmd/palisade-cni runs
// them through libcni's skel): a chained plugin that never creates
// interfaces, routes or addresses; it tells the node's agent which host
// interface and addresses a pod got from the interface plugin before it,
// and waits until the pod's policy is in the kernel.
package plugin
