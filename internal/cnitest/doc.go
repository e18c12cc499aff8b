// Package cnitest helps tests run real CNI chains: it builds palisade-cni
// and the reference plugins ptp and host-local (from the Go module proxy,
// pinned by go.mod's tool entries) and runs a function on a thread inside
// a network namespace, from which libcni forks the plugins as a runtime
// on that node would.
package cnitest
