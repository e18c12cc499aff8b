package store

import (
	"context"

	"github.com/palisade-net/palisade/api"
)

// Store is the datastore as palisade's commands, controllers and agents see
// it. Every implementation is safe for concurrent use.
//
// Objects handed to Create and Update are not modified; the returned object
// is a fresh copy carrying the stored metadata (resourceVersion, uid,
// creationTimestamp). Objects returned by Get and List are the caller's.
type Store interface {
	// Get returns the object at k, or a *NotFoundError.
	Get(ctx context.Context, k Key) (api.Object, error)
	// List returns every object of a kind (the whole kind across namespaces
	// when namespace is ""), in key order, and the store revision the list
	// was read at.
	List(ctx context.Context, kind Kind, namespace string) ([]api.Object, int64, error)
	// Create stores a new object; *AlreadyExistsError if it exists. The
	// input must carry no resourceVersion. Create fills uid and
	// creationTimestamp.
	Create(ctx context.Context, o api.Object) (api.Object, error)
	// Update replaces an existing object. When o carries a resourceVersion
	// the write succeeds only if it is still current (*ConflictError
	// otherwise); *NotFoundError when it does not exist. uid and
	// creationTimestamp are kept from the stored object.
	Update(ctx context.Context, o api.Object) (api.Object, error)
	// Delete removes the object at k and returns it. A non-empty
	// resourceVersion is a precondition (*ConflictError when stale).
	Delete(ctx context.Context, k Key, resourceVersion string) (api.Object, error)
	// Watch streams changes to the given kinds (every kind when kinds is
	// empty). With fromRevision 0 it first lists and sends every object as
	// Added, then a Synced event; otherwise it sends changes after
	// fromRevision. When the underlying watch breaks or the revision was
	// compacted it re-lists, sends the differences from what it had sent
	// (Added, Modified, Deleted) and a Synced event, and goes on. The
	// channel is closed when ctx is done.
	Watch(ctx context.Context, fromRevision int64, kinds ...Kind) (<-chan Event, error)
	// Close releases the store's connections.
	Close() error
}

// EventType says what happened to an object.
type EventType uint8

// Event types.
const (
	Added EventType = iota + 1
	Modified
	Deleted
	// Synced says every object that existed at Revision has been sent.
	Synced
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "Added"
	case Modified:
		return "Modified"
	case Deleted:
		return "Deleted"
	case Synced:
		return "Synced"
	}
	return "Unknown"
}

// Event is one change. Object is the new value (nil for Deleted); Old the
// previous one when the datastore reports it with the change (Modified,
// Deleted as they happen); the differences a re-list finds have no Old,
// since a watch keeps the revisions of what it sent, not the values.
type Event struct {
	Type     EventType
	Key      Key
	Object   api.Object
	Old      api.Object
	Revision int64
}

// RawPutter writes a value at a key as it is, without encoding or
// checking it: for repairs and for tests that corrupt stored data. The
// etcd and memory stores implement it.
type RawPutter interface {
	PutRaw(ctx context.Context, k Key, value []byte) error
}
