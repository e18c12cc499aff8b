// Package lint finds what is probably a mistake in a cluster's policy,
// reasoning on the policy model (addresses, ports and selectors as the
// evaluator sees them), not on text: rules an earlier rule shadows,
// policies that select no endpoint, selectors on labels nothing carries,
// named ports no endpoint defines, host endpoints with policy and no
// inbound failsafes, rules a policy's types ignore, Pass in the last tier,
// and tiers without policies. It is pure: a model and the objects it was
// built from in, findings out. `palisade lint` prints them.
package lint
