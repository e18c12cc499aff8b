// Package render turns the policy model of one node into the nftables
// ruleset that enforces it, as a typed value (Ruleset), with a printer to
// nft syntax (Ruleset.Text) and a tracer that walks synthetic packets
// through the typed value (Ruleset.Trace).
//
// render is pure: no I/O, no goroutines. The kernel applier (package nft)
// consumes the types in types.go.
package render
