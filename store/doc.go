// Package store owns palisade's datastore contract and its
// implementations: the Store interface (get, list, create, update with a
// resourceVersion check, delete, watch from a revision), the key layout
// (docs/api.md §9, under the /palisade/ prefix), typed errors whose messages
// match calicoctl's, an etcd implementation (the same code for embedded and
// external etcd), and an in-memory implementation with the same behaviour
// for unit tests.
//
// An object's resourceVersion is the decimal etcd modification revision of
// its key. Values are the objects as JSON.
//
// Implementation notes (etcd.go, memory.go, watch.go, embed.go):
//   - Create is txn If(version==0) Then(Put); Update reads the stored
//     object (to keep uid and creationTimestamp) and writes with
//     If(mod_revision==what it read); Delete is Delete(WithPrevKV), guarded
//     by If(mod_revision==resourceVersion) when one is given.
//   - One watch engine serves both stores. A Watch of one kind watches that
//     kind's prefix; of several or all kinds, the whole resources prefix
//     with the kinds filtered in the client, so events stay in revision
//     order. The engine remembers what it sent (keys and revisions, not
//     values: a watch would otherwise hold a copy of the datastore); when
//     the stream breaks or its revision is compacted it re-lists (at least
//     500 ms apart, backing off to 5 s while the datastore fails) and sends
//     only the differences, without old objects, then Synced. A Watch from a revision first reads the state at that
//     revision, which it takes to be what the caller holds.
//   - Requests wait at most DialTimeout for a connection, then run under
//     RequestTimeout; a datastore that cannot be reached in time is an
//     *UnavailableError naming the endpoints and the last connection error.
//   - The typed errors are returned unwrapped so that their messages stay
//     calicoctl's; everything else is wrapped with the operation and key.
//   - storetest holds the behavioural suite both stores pass.
package store
