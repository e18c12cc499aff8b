package calc

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/policy"
)

func packLabels(m map[string]string) labelSet {
	var p labelPacker
	return p.pack(m)
}

// len is the number of labels.
func (l labelSet) len() int {
	n := 0
	l.each(func(string, string) { n++ })
	return n
}

func TestLabelSet(t *testing.T) {
	long := strings.Repeat("v", 300) // a length that takes two varint bytes
	for _, tc := range []struct {
		name string
		m    map[string]string
	}{
		{"empty", nil},
		{"one", map[string]string{"app": "web"}},
		{"empty value", map[string]string{"has": ""}},
		{"many", map[string]string{"tier": "db", "app": "web", "projectcalico.org/namespace": "prod", "a": "1", "z": ""}},
		{"long", map[string]string{"k": long, strings.Repeat("k", 200): "x"}},
		{"common words", map[string]string{policy.LabelNamespace: "default", "app": policy.OrchestratorK8s, "default": "app", "apps": "ap"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := packLabels(tc.m)
			if diff := cmp.Diff(tc.m, l.toMap(), cmpEmptyMaps); diff != "" {
				t.Errorf("toMap (-want +got):\n%s", diff)
			}
			if l.len() != len(tc.m) || !l.equalMap(tc.m) {
				t.Errorf("len %d, equalMap %v; want %d, true", l.len(), l.equalMap(tc.m), len(tc.m))
			}
			for k, v := range tc.m {
				if got, ok := l.Get(k); !ok || got != v {
					t.Errorf("Get(%q) = %q, %v; want %q", k, got, ok, v)
				}
			}
			for _, k := range []string{"", "b", "zz", "app2", "ap"} {
				if _, in := tc.m[k]; !in && l.has(k) {
					t.Errorf("has(%q) for a key it lacks", k)
				}
			}
			var keys []string
			l.each(func(k, _ string) { keys = append(keys, k) })
			if want := slices.Sorted(maps.Keys(tc.m)); !slices.Equal(keys, want) {
				t.Errorf("each visits %q, want %q", keys, want)
			}
		})
	}
}

// TestLabelSetCommonWords: a reserved key costs one byte.
func TestLabelSetCommonWords(t *testing.T) {
	if got := packLabels(map[string]string{policy.LabelNamespace: "prod"}).s; len(got) != 6 {
		t.Errorf("packed %q: %d bytes, want 6 (key 1, value 1+4)", got, len(got))
	}
	if len(commonWords) != len(wordIndex) {
		t.Errorf("commonWords has a repeat: %d words, %d distinct", len(commonWords), len(wordIndex))
	}
}

var cmpEmptyMaps = cmp.FilterValues(func(a, b map[string]string) bool { return len(a) == 0 && len(b) == 0 },
	cmp.Comparer(func(_, _ map[string]string) bool { return true }))

func TestChangedLabelKeys(t *testing.T) {
	a := map[string]string{"app": "web", "tier": "db", "env": "prod"}
	for _, tc := range []struct {
		name string
		b    map[string]string
		want []string
	}{
		{"same", map[string]string{"app": "web", "tier": "db", "env": "prod"}, nil},
		{"value", map[string]string{"app": "api", "tier": "db", "env": "prod"}, []string{"app"}},
		{"added and removed", map[string]string{"app": "web", "zone": "a", "a": "b"}, []string{"a", "env", "tier", "zone"}},
		{"to empty", nil, []string{"app", "env", "tier"}},
	} {
		got := changedLabelKeys(nil, packLabels(a), packLabels(tc.b))
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if back := changedLabelKeys(nil, packLabels(tc.b), packLabels(a)); len(back) != len(tc.want) {
			t.Errorf("%s reversed: %q", tc.name, back)
		}
	}
}

// FuzzLabelSet: packing any labels and reading them back gives them back,
// and the changed keys of two sets are those a map comparison finds.
func FuzzLabelSet(f *testing.F) {
	f.Add("app=web,tier=db", "app=api,zone=a")
	f.Add("", "k=")
	f.Add("projectcalico.org/namespace=default,app=k8s", "default=app")
	f.Fuzz(func(t *testing.T, x, y string) {
		parse := func(s string) map[string]string {
			m := map[string]string{}
			for kv := range strings.SplitSeq(s, ",") {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			return m
		}
		a, b := parse(x), parse(y)
		la, lb := packLabels(a), packLabels(b)
		if !maps.Equal(a, la.toMap()) || !la.equalMap(a) {
			t.Fatalf("round trip of %q: %v", a, la.toMap())
		}
		var want []string
		for k := range a {
			if v, ok := b[k]; !ok || v != a[k] {
				want = append(want, k)
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				want = append(want, k)
			}
		}
		got := changedLabelKeys(nil, la, lb)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("changed keys of %q and %q: %q, want %q", a, b, got, want)
		}
		if (la == lb) != maps.Equal(a, b) {
			t.Fatalf("%q and %q: packed equal %v", a, b, la == lb)
		}
	})
}
