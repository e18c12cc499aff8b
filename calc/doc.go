// Package calc owns palisade's incremental computation: datastore events go
// in, changes to the node model come out, and the work done per event is
// proportional to what the event touches, never to the size of the cluster.
// Like api, selector, policy and render, calc is pure: it does no I/O, starts
// no goroutines, reads no clock and keeps no global state. Callers feed it
// events in order from one goroutine; none of its types are safe for
// concurrent use.
//
// # The label index
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
//     its anchor (all items for the scan set); in the engine's owners index
//     new selectors wait for the next read and are then walked together,
//     grouped by anchor (fresh.go);
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
// What an item costs is kept small, since an agent holds one per endpoint
// of the cluster: its own labels are one packed string (labelSet, with the
// reserved keys as one byte), each indexed label is its posting and its
// place there (the posting knows the value and the key), a selector's
// matches are a slice of items whose match entries record their place in
// it, and an item names its parents through a lineage that the items with
// the same parents share (one 8-byte entry for each item; a parent finds
// its children through the lineages that hold it).
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
// # The engine
//
// Engine keeps one node's model up to date from datastore events (OnUpdate,
// OnDelete, or store events through Apply) and hands render a view of it
// (Source, a render.Source). What it derives is what policy.NewModel
// derives, through policy's own per-object derivations (policy/derive.go,
// policy/compile.go), so the semantics live in one place:
//
//   - every workload (pods and WorkloadEndpoints), host endpoint (stored,
//     and automatic ones when the KubeControllersConfiguration "default"
//     enables them, the automatic one winning a name) and network set,
//     with its own labels and the profiles it inherits labels from;
//   - profiles as the builder resolves names: kns.<ns> for a namespace
//     that exists or has pods, else a Profile object, else
//     projectcalico-default-allow, else ksa.<ns>.<sa> for a service
//     account a pod runs as;
//   - tiers, policies (Calico and Kubernetes), this node's Felix settings
//     and NodePort services (Services, on demand).
//
// Two label indexes do the matching. The local index holds the selectors
// of live policies (compiled, tier present) and this node's valid
// workloads and host endpoints: its matches say which policies apply to
// which local endpoint, and the tier lists render asks for are grouped and
// ordered from them (policy.SortTierPolicies) and cached per endpoint. A
// live policy that matches a local endpoint is active, and so is a profile
// of a local endpoint: the selectors and named ports of their rules are
// registered with the owners index, counted since rules share them. The
// owners index holds those active selectors and every address owner
// (workload addresses, host endpoint expected addresses, network set
// CIDRs), so SelectorMembers reads a selector's matches instead of
// scanning the cluster, and caches their sorted prefixes until a match or
// an address changes; NamedPortMembers reads an index of owners by port
// name. In both indexes items name their profiles as parents, defined
// while some endpoint depends on the profile, so a namespace label change
// reaches its pods' matches through the parent.
//
// Failing closed follows the model (policy/failclosed.go): a workload or
// host endpoint whose profiles do not resolve stays local (its chains
// deny) but is no address owner, and its addresses are kept by id as the
// quarantine; a policy is live whether or not its tier exists, and the tier
// lists put a policy whose tier is missing, or whose stored value is an
// api.Unreadable, as its deny-all stand-in in a fail-closed tier
// (policy.Enforced). An api.Unreadable of any other kind is a problem and
// counts as absent.
//
// Of objects the engine keeps what it uses (a namespace's labels, a
// policy's compiled form, a pod's derived workload) and, to tell a repeated
// update, their resource version and uid, not the objects. A pod on
// another node keeps no derived workload: its labels packed, its node,
// parents, addresses and named ports; the workload is made again when its
// profiles change or Services asks.
//
// Per event the work is the object's derivation, its updates in the
// indexes (see above) and whatever those report; a profile change
// re-resolves its dependents; a tier change revisits its policies; the
// KubeControllersConfiguration re-derives every node's automatic host
// endpoints.
//
// # Contracts
//
//   - Equivalence: for any sequence of events, render.Node(engine.Source(),
//     node) equals render.Node(policy.NewModel(objects), node), where
//     objects are the latest version of every object not deleted, and
//     Problems equals the model's problems (other nodes' Felix
//     configurations aside). The tests check this after every batch of
//     long seeded random sequences over small clusters (creates, label
//     flips, replays, deletes, out of order), for every node, and replay
//     final states in other orders.
//   - Changed is never false when the rendering changed since the last
//     Source. It is true when something render reads may have changed:
//     the node (interfaces, Felix settings, existence), a local endpoint
//     (set, key, interface, addresses of a host endpoint, profiles), the
//     policies applying to a local endpoint (a match, or a policy's or
//     tier's content), an active selector's members or their addresses, an
//     owner with an active named port. Label changes of remote objects
//     that no active selector reads, policies and rules that apply to no
//     local endpoint, and metadata-only changes leave it false.
//   - A view is valid until the next change; using it afterwards panics.
//     Objects given to the engine are never modified; it keeps what it
//     uses of them (parts of an object may be shared), not the objects.
//
// Where the model depends on input order the engine picks one: a pod
// before a WorkloadEndpoint with the same namespace/name, then by object
// name; the last node by name when two nodes want an automatic host
// endpoint of one name; only the KubeControllersConfiguration "default".
package calc
