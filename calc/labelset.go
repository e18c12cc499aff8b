package calc

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/palisade-net/palisade/policy"
)

// labelSet is an immutable set of labels packed into one string: for each
// label, sorted by key, the key then the value, each a uvarint tag and
// maybe bytes: tag 2n is n bytes of text that follow, tag 2i+1 is
// commonWords[i]. An endpoint's own labels are held this way: a map of
// nine labels costs about 600 bytes plus a header for every key and value
// string; packed, the same labels cost their bytes and one header, and the
// reserved labels every workload carries cost a byte each for their keys.
// Lookups scan it, which at a few labels is as quick as hashing. The zero
// value is the empty set.
type labelSet struct{ s string }

// commonWords are the keys and values packed as one byte: those every
// workload carries (policy's reserved labels) and a few common ones.
// Appending is safe; reordering would change how sets are packed.
var commonWords = [...]string{
	policy.LabelNamespace, policy.LabelOrchestrator, policy.LabelServiceAccount,
	policy.OrchestratorK8s, "default", "app", "app.kubernetes.io/name", "app.kubernetes.io/instance",
	"app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
	"app.kubernetes.io/version", "pod-template-hash", "controller-revision-hash", "k8s-app", "tier",
	"component", "env", "role", "team", "version", "name",
}

// wordIndex inverts commonWords.
var wordIndex = func() map[string]int {
	m := make(map[string]int, len(commonWords))
	for i, w := range commonWords {
		m[w] = i
	}
	return m
}()

// labelPacker packs label maps, reusing its scratch space: one allocation
// per set, the set itself.
type labelPacker struct {
	keys  []string
	pairs [][2]string
	buf   []byte
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
		b = appendWord(b, k)
		b = appendWord(b, m[k])
	}
	clear(keys)
	p.keys, p.buf = keys[:0], b[:0]
	return labelSet{s: string(b)}
}

// packEach packs the labels each yields (each key once), as pack packs a
// map of them, without the map.
func (p *labelPacker) packEach(each func(fn func(k, v string))) labelSet {
	pairs := p.pairs[:0]
	each(func(k, v string) { pairs = append(pairs, [2]string{k, v}) })
	if len(pairs) == 0 {
		return labelSet{}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	b := p.buf[:0]
	for _, kv := range pairs {
		b = appendWord(b, kv[0])
		b = appendWord(b, kv[1])
	}
	clear(pairs)
	p.pairs, p.buf = pairs[:0], b[:0]
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

// appendWord appends w as pack writes it.
func appendWord(b []byte, w string) []byte {
	if i, ok := wordIndex[w]; ok {
		return binary.AppendUvarint(b, uint64(i)<<1|1)
	}
	b = binary.AppendUvarint(b, uint64(len(w))<<1)
	return append(b, w...)
}

// next decodes the label at offset i, returning it and the next offset.
func (l labelSet) next(i int) (k, v string, j int) {
	k, i = l.word(i)
	v, i = l.word(i)
	return k, v, i
}

// word decodes the key or value at offset i.
func (l labelSet) word(i int) (string, int) {
	t, i := uvarintAt(l.s, i)
	if t&1 == 1 {
		return commonWords[t>>1], i
	}
	n := t >> 1
	return l.s[i : i+n], i + n
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
