package agent

import "github.com/palisade-net/palisade/store"

// keySet is a set of datastore keys held as a map per kind, keyed by
// namespace and name: a slot takes 32 bytes where a store.Key takes 48 (a
// map[store.Key]bool slot 56). The loop holds one only during a new full
// list (the keys it sent again), 250,000 pods and more in a large cluster.
type keySet map[store.Kind]map[nsName]struct{}

type nsName struct{ ns, name string }

func (s keySet) has(k store.Key) bool {
	_, ok := s[k.Kind][nsName{k.Namespace, k.Name}]
	return ok
}

// add adds k, reporting whether it was not there.
func (s keySet) add(k store.Key) bool {
	m := s[k.Kind]
	if m == nil {
		m = map[nsName]struct{}{}
		s[k.Kind] = m
	}
	n := nsName{k.Namespace, k.Name}
	if _, ok := m[n]; ok {
		return false
	}
	m[n] = struct{}{}
	return true
}
