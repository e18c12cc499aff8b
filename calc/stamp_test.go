package calc

import "testing"

func TestStamp(t *testing.T) {
	const u1, u2 = "0f8e2a6c-3b1d-4e5f-9a7b-1c2d3e4f5a6b", "0f8e2a6c-3b1d-4e5f-9a7b-1c2d3e4f5a6c"
	tests := []struct {
		name           string
		rv1, uid1      string
		rv2, uid2      string
		equal, compact bool // compact: the first is held as numbers
	}{
		{"same", "42", u1, "42", u1, true, true},
		{"other version", "42", u1, "43", u1, false, true},
		{"other uid", "42", u1, "42", u2, false, true},
		{"no uid", "7", "", "7", "", true, true},
		{"uid appears", "7", "", "7", u1, false, true},
		{"none", "", "", "", "", true, true},
		{"version appears", "", u1, "1", u1, false, true},
		{"zero version", "0", "", "", "", false, true},
		{"leading zero", "07", "", "7", "", false, false},
		{"leading zero same", "07", "", "07", "", true, false},
		{"not a number", "abc", u1, "abc", u1, true, false},
		{"uppercase uid", "1", "0F8E2A6C-3B1D-4E5F-9A7B-1C2D3E4F5A6B", "1", u1, false, false},
		{"nil uuid", "1", "00000000-0000-0000-0000-000000000000", "1", "", false, false},
		{"uid not a uuid", "1", "pod-uid-1", "1", "pod-uid-1", true, false},
		{"largest", "18446744073709551615", "", "18446744073709551615", "", true, false},
		{"too large", "18446744073709551616", "", "0", "", false, false},
		{"sign", "+1", "", "1", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := stampOf(tc.rv1, tc.uid1), stampOf(tc.rv2, tc.uid2)
			if a.equal(b) != tc.equal || b.equal(a) != tc.equal {
				t.Fatalf("equal = %v, want %v", a.equal(b), tc.equal)
			}
			if !a.equal(stampOf(tc.rv1, tc.uid1)) {
				t.Fatal("a stamp differs from itself")
			}
			if (a.other == nil) != tc.compact {
				t.Fatalf("held as numbers: %v, want %v", a.other == nil, tc.compact)
			}
			if a.hasRV() != (tc.rv1 != "") {
				t.Fatalf("hasRV = %v for %q", a.hasRV(), tc.rv1)
			}
		})
	}
}
