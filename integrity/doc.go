// Package integrity keeps the datastore free of dangling references: it
// wraps a store.Store and refuses, with Calico's messages where Calico has
// them, a write that would leave an object naming another that does not
// exist (a policy's tier, an endpoint's profiles, a pod's namespace) and a
// delete that would leave others naming the deleted object (a tier that
// still holds policies or the default tier, a profile endpoints use, a
// namespace that still holds pods or workload endpoints).
//
// The check reads, then writes: two writers racing can still leave a
// dangling reference (as can data written before the check existed). The
// policy model fails closed on whatever does (policy/failclosed.go), so the
// check is about clear errors at the command line, not about safety.
package integrity
