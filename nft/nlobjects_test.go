package nft

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func TestMergeRanges(t *testing.T) {
	r := func(lo, hi byte) addrRange { return addrRange{lo: []byte{lo}, hi: []byte{hi}} }
	for _, tc := range []struct {
		name     string
		in, want []addrRange
	}{
		{"empty", nil, nil},
		{"disjoint, unsorted", []addrRange{r(9, 10), r(1, 2)}, []addrRange{r(1, 2), r(9, 10)}},
		{"adjacent", []addrRange{r(1, 2), r(3, 4)}, []addrRange{r(1, 4)}},
		{"overlapping", []addrRange{r(1, 5), r(3, 4), r(4, 8)}, []addrRange{r(1, 8)}},
		{"gap of one", []addrRange{r(1, 2), r(4, 5)}, []addrRange{r(1, 2), r(4, 5)}},
		{"to the last value", []addrRange{r(250, 255), r(255, 255), r(1, 1)}, []addrRange{r(1, 1), r(250, 255)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, mergeRanges(tc.in), cmp.AllowUnexported(addrRange{})); d != "" {
				t.Error(d)
			}
		})
	}
}

// elementFlags decodes interval elements back to (key, end flag, open).
func elementFlags(t *testing.T, elems []netlink.Attribute) [][3]any {
	t.Helper()
	var out [][3]any
	for _, e := range elems {
		a := attrs(e.Data)
		key := attrs(a[unix.NFTA_SET_ELEM_KEY])[unix.NFTA_DATA_VALUE]
		_, end := a[unix.NFTA_SET_ELEM_FLAGS]
		_, open := a[unix.NFTA_SET_ELEM_USERDATA]
		out = append(out, [3]any{key, end, open})
	}
	return out
}

func TestIntervalElements(t *testing.T) {
	rs := []addrRange{{lo: []byte{0, 80}, hi: []byte{0, 81}}, {lo: []byte{0, 82}, hi: []byte{0, 90}}, {lo: []byte{255, 0}, hi: []byte{255, 255}}}
	elems, err := intervalElements(rs, true)
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]any{
		{[]byte{0, 80}, false, false}, {[]byte{0, 91}, true, false}, // 80-90 merged, end after 90
		{[]byte{255, 0}, false, true}, // runs to the last port: no end, marked open
	}
	if d := cmp.Diff(want, elementFlags(t, elems)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := intervalElements([]addrRange{{lo: []byte{1}, hi: []byte{1, 2}}}, false); err == nil {
		t.Error("a range of mixed lengths was encoded")
	}
}

// TestStagedPartsHookLast: a table created in parts declares every base
// chain (the only chains with a hook) and adds their rules in the last
// part and nowhere else, so no packet meets the table before it is whole.
func TestStagedPartsHookLast(t *testing.T) {
	defer func(n int) { stageMessages = n }(stageMessages)
	stageMessages = 5
	rs := shapesRuleset()
	base := map[string]bool{}
	for _, c := range rs.Chains {
		if c.Base != nil {
			base[c.Name] = true
		}
	}
	parts := stagedParts(rs)
	if len(parts) < 3 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	for i, p := range parts {
		last := i == len(parts)-1
		hooks, baseRules := 0, 0
		for _, m := range p.msgs {
			a := attrs(m.Data[4:])
			switch uint16(m.Header.Type) & 0xff {
			case unix.NFT_MSG_NEWCHAIN:
				if _, ok := a[unix.NFTA_CHAIN_HOOK]; ok {
					hooks++
				}
			case unix.NFT_MSG_NEWRULE:
				if base[attrString(a[unix.NFTA_RULE_CHAIN])] {
					baseRules++
				}
			}
		}
		if last && hooks != len(base) || !last && (hooks > 0 || baseRules > 0) {
			t.Errorf("part %d of %d: %d hooked chains, %d base chain rules", i+1, len(parts), hooks, baseRules)
		}
	}
}
