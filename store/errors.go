package store

import (
	"errors"
	"fmt"
)

// NotFoundError: the object does not exist.
type NotFoundError struct{ Key Key }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("resource does not exist: %s with error: <nil>", e.Key)
}

// AlreadyExistsError: Create found an object at the key.
type AlreadyExistsError struct{ Key Key }

func (e *AlreadyExistsError) Error() string {
	return fmt.Sprintf("resource already exists: %s with error: <nil>", e.Key)
}

// ConflictError: the resourceVersion given is not the stored one.
type ConflictError struct {
	Key    Key
	Detail string
}

func (e *ConflictError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("update conflict: %s: %s", e.Key, e.Detail)
	}
	return fmt.Sprintf("update conflict: %s", e.Key)
}

// UnavailableError: the datastore could not be reached in time.
type UnavailableError struct {
	Endpoints []string
	Err       error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("datastore unreachable at %v: %v", e.Endpoints, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// UnreadableError: the value stored at Key cannot be decoded. List and
// Watch return an *api.Unreadable for it instead; Get returns this error;
// Update replaces the value and Delete removes it.
type UnreadableError struct {
	Key Key
	Err error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("stored value of %s cannot be read: %v", e.Key, e.Err)
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// IsUnreadable reports whether err is or wraps an *UnreadableError.
func IsUnreadable(err error) bool { var e *UnreadableError; return errors.As(err, &e) }

// IsNotFound reports whether err is or wraps a *NotFoundError.
func IsNotFound(err error) bool { var e *NotFoundError; return errors.As(err, &e) }

// IsAlreadyExists reports whether err is or wraps an *AlreadyExistsError.
func IsAlreadyExists(err error) bool { var e *AlreadyExistsError; return errors.As(err, &e) }

// IsConflict reports whether err is or wraps a *ConflictError.
func IsConflict(err error) bool { var e *ConflictError; return errors.As(err, &e) }

// IsUnavailable reports whether err is or wraps an *UnavailableError.
func IsUnavailable(err error) bool { var e *UnavailableError; return errors.As(err, &e) }
