// Package calc owns palisade's incremental computation: datastore events go
// in, changes to the node model come out, and the work done per event is
// proportional to what the event touches, never to the size of the cluster.
// Like api, selector, policy and render, calc is pure: it does no I/O, starts
// no goroutines, reads no clock and keeps no global state. Callers feed it
// events in order from one goroutine; none of its types are safe for
// concurrent use.
//
// # This milestone: the label index
//
// LabelIndex answers "which selectors match which items" and reports every
// change of that relation through two callbacks, OnMatchStarted and
// OnMatchStopped. Items are endpoints and network sets: an id, its own labels
// and an ordered list of parents (namespace and service-account profiles)
// whose labels it inherits. Parents are shared, may be updated or deleted at
// any time, and may be named before they exist (an undefined parent has no
// labels). An item's effective labels are its own labels over its parents'
// labels, earlier parents winning over later ones; the index matches
// selector.Selector.Matches on those effective labels exactly.
//
// # How it is made fast
//
// Every selector is given one anchor: a top-level conjunct that every item it
// matches must satisfy, `k == "v"`, `k in {...}` or `has(k)` (nested && lists
// count as top level). Selectors are indexed by their anchor under (key,
// value) or under key; selectors with no such conjunct (all(), ||, !has(k),
// k != "v", ...) go in a scan set. Items are indexed by every effective
// (key, value) they hold. Then:
//
//   - a new or changed item is evaluated only against the selectors anchored
//     on the (key, value) pairs and keys it holds, plus the scan set; it
//     cannot match any other selector, since it fails their anchors;
//   - a selector that stops matching an item is found among the item's
//     current matches, which each item keeps;
//   - a new or changed selector is evaluated only against the items holding
//     its anchor (all items for the scan set);
//   - a parent change touches only its children, and of each child only the
//     keys whose effective value changed;
//   - a change to keys that no selector refers to (pod-template-hash, say)
//     moves the item between postings and evaluates nothing.
//
// Each item keeps its effective labels as a short contiguous list with, for
// each, the posting that holds it, so re-evaluating an item walks its
// postings without map lookups and selectors read its labels without
// hashing.
//
// The anchor of a selector is the conjunct that the fewest items satisfy
// (ties: the one fewest selectors share, then ==, then in, then has). Counts
// change as items arrive, so when the number of items on a (key, value) or a
// key first reaches 32, 64, 128, ... the selectors anchored there choose
// again. That keeps a cold start that loads selectors before items from
// leaving, say, `tier == "db" && ns == "x"` anchored on the crowded tier
// value. Anchors only decide where a selector is looked up; they never change
// what it matches.
//
// Callbacks run after the index has been brought up to date, so they may call
// Matches and SelectorsMatching; they must not modify the index (it panics if
// they do). Within one call every start is reported before any stop; the
// order among starts, or among stops, is unspecified.
//
// # Invariants
//
// The tests check these after every step of long random sequences:
//
//   - selector s matches item i exactly when s.Matches(effective labels of
//     i); the selector's record of its items and the item's record of its
//     selectors mirror each other;
//   - every (selector, item) transition is reported once, after the index
//     has changed, starts before stops;
//   - an item sits in the posting of (k, v) exactly when its effective
//     labels hold k = v, and records where it sits;
//   - a selector sits exactly in the lists of its current anchor, or in the
//     scan set when it has none, and records where it sits; every item it
//     matches satisfies that anchor;
//   - nothing empty is kept: postings and keys without items or selectors,
//     undefined parents that no item names.
//
// # Next
//
// Driving the node model from store events: policies, profiles, endpoints,
// host endpoints and network sets in, per-stage ordered policies and
// selector-membership sets for the local endpoints out, with LabelIndex
// computing the memberships.
package calc
