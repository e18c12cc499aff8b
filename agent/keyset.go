package agent

import "github.com/palisade-net/palisade/store"

// keySet is a set of datastore keys held as a map per kind, keyed by
// namespace and name: a slot takes 32 bytes where a store.Key takes 48 (a
// map[store.Key]bool slot 56). The loop keeps every key its engine holds,
// 250,000 pods and more in a large cluster.
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

// remove removes k, reporting whether it was there.
func (s keySet) remove(k store.Key) bool {
	m := s[k.Kind]
	n := nsName{k.Namespace, k.Name}
	if _, ok := m[n]; !ok {
		return false
	}
	delete(m, n)
	if len(m) == 0 {
		delete(s, k.Kind)
	}
	return true
}

// count is the number of keys of a kind.
func (s keySet) count(kind store.Kind) int { return len(s[kind]) }

// len is the number of keys.
func (s keySet) len() int {
	n := 0
	for _, m := range s {
		n += len(m)
	}
	return n
}

// notIn returns the keys of s that other lacks, in no order.
func (s keySet) notIn(other keySet) []store.Key {
	var out []store.Key
	for kind, m := range s {
		o := other[kind]
		for n := range m {
			if _, ok := o[n]; !ok {
				out = append(out, store.Key{Kind: kind, Namespace: n.ns, Name: n.name})
			}
		}
	}
	return out
}
