package calc

import (
	"encoding/binary"
	"slices"
)

// labelSet is an immutable set of labels packed into one string: for each
// label, sorted by key, the key's length (uvarint), the key, the value's
// length (uvarint) and the value. An endpoint's own labels are held this
// way: a map of nine labels costs about 600 bytes plus a header for every
// key and value string; packed, the same labels cost their bytes and one
// header. Lookups scan it, which at a few labels is as quick as hashing.
// The zero value is the empty set.
type labelSet struct{ s string }

// labelPacker packs label maps, reusing its scratch space: one allocation
// per set, the set itself.
type labelPacker struct {
	keys []string
	buf  []byte
}

func (p *labelPacker) pack(m map[string]string) labelSet {
	if len(m) == 0 {
		return labelSet{}
	}
	keys := p.keys[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := p.buf[:0]
	for _, k := range keys {
		v := m[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	clear(keys)
	p.keys, p.buf = keys[:0], b[:0]
	return labelSet{s: string(b)}
}

// equalMap reports whether l holds exactly the labels of m.
func (l labelSet) equalMap(m map[string]string) bool {
	n, eq := 0, true
	l.each(func(k, v string) {
		n++
		if w, ok := m[k]; !ok || w != v {
			eq = false
		}
	})
	return eq && n == len(m)
}

// next decodes the label at offset i, returning it and the next offset.
func (l labelSet) next(i int) (k, v string, j int) {
	n, i := uvarintAt(l.s, i)
	k, i = l.s[i:i+n], i+n
	n, i = uvarintAt(l.s, i)
	return k, l.s[i : i+n], i + n
}

// uvarintAt decodes the uvarint pack wrote at s[i:], returning it
// and the offset after it.
func uvarintAt(s string, i int) (int, int) {
	x, shift := 0, 0
	for {
		b := s[i]
		i++
		if b < 0x80 {
			return x | int(b)<<shift, i
		}
		x |= int(b&0x7f) << shift
		shift += 7
	}
}

// Get implements selector.Labels.
func (l labelSet) Get(key string) (string, bool) {
	for i := 0; i < len(l.s); {
		k, v, j := l.next(i)
		if k == key {
			return v, true
		}
		if k > key {
			break // sorted
		}
		i = j
	}
	return "", false
}

// has reports whether key is in the set.
func (l labelSet) has(key string) bool {
	_, ok := l.Get(key)
	return ok
}

// each calls fn for every label, in key order.
func (l labelSet) each(fn func(k, v string)) {
	for i := 0; i < len(l.s); {
		k, v, j := l.next(i)
		fn(k, v)
		i = j
	}
}

// len is the number of labels.
func (l labelSet) len() int {
	n := 0
	l.each(func(string, string) { n++ })
	return n
}

// toMap returns the labels as a new map (nil when empty).
func (l labelSet) toMap() map[string]string {
	if l.s == "" {
		return nil
	}
	m := map[string]string{}
	l.each(func(k, v string) { m[k] = v })
	return m
}

// changedLabelKeys appends to dst the keys whose values differ between a
// and b (a merge of the two sorted sets).
func changedLabelKeys(dst []string, a, b labelSet) []string {
	if a == b {
		return dst
	}
	i, j := 0, 0
	for i < len(a.s) || j < len(b.s) {
		var ka, va, kb, vb string
		var ni, nj int
		if i < len(a.s) {
			ka, va, ni = a.next(i)
		}
		if j < len(b.s) {
			kb, vb, nj = b.next(j)
		}
		switch {
		case j >= len(b.s) || (i < len(a.s) && ka < kb):
			dst = append(dst, ka)
			i = ni
		case i >= len(a.s) || kb < ka:
			dst = append(dst, kb)
			j = nj
		default:
			if va != vb {
				dst = append(dst, ka)
			}
			i, j = ni, nj
		}
	}
	return dst
}
