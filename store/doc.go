// Package store owns palisade's datastore contract and its
// implementations: the Store interface (get, list, create, update with a
// resourceVersion check, delete, watch from a revision), the key layout
// (api.md §9, under the /palisade/ prefix), typed errors whose messages
// match calicoctl's, an etcd implementation (the same code for embedded and
// external etcd), and an in-memory implementation with the same behaviour
// for unit tests.
//
// An object's resourceVersion is the decimal etcd modification revision of
// its key. Values are the objects as JSON.
package store
