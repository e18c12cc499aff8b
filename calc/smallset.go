package calc

import "slices"

// smallSet is a set that holds up to smallSetMax members in a slice and
// more in a map. Most profiles have a few dependents that are not address
// owners (Engine.profLone), where a map per set costs about 200 bytes and
// a slice one word per member; a profile named by thousands of them gets
// the map's constant-time removal. The zero value is an empty set.
type smallSet[T comparable] struct {
	few  []T
	many map[T]struct{}
}

const smallSetMax = 8

func (s *smallSet[T]) add(x T) {
	if s.many != nil {
		s.many[x] = struct{}{}
		return
	}
	if slices.Contains(s.few, x) {
		return
	}
	if len(s.few) < smallSetMax {
		s.few = append(s.few, x)
		return
	}
	s.many = make(map[T]struct{}, 2*smallSetMax)
	for _, y := range s.few {
		s.many[y] = struct{}{}
	}
	s.many[x] = struct{}{}
	s.few = nil
}

func (s *smallSet[T]) remove(x T) {
	if s.many != nil {
		delete(s.many, x)
		if len(s.many) <= smallSetMax/2 {
			s.few = make([]T, 0, smallSetMax)
			for y := range s.many {
				s.few = append(s.few, y)
			}
			s.many = nil
		}
		return
	}
	if i := slices.Index(s.few, x); i >= 0 {
		last := len(s.few) - 1
		s.few[i] = s.few[last]
		var zero T
		s.few[last] = zero
		s.few = s.few[:last]
	}
}

func (s *smallSet[T]) len() int {
	if s.many != nil {
		return len(s.many)
	}
	return len(s.few)
}

// all yields every member, in no order. The set must not change while
// it runs.
func (s *smallSet[T]) all(yield func(T) bool) {
	if s.many != nil {
		for x := range s.many {
			if !yield(x) {
				return
			}
		}
		return
	}
	for _, x := range s.few {
		if !yield(x) {
			return
		}
	}
}
