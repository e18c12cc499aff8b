package calc

import (
	"encoding/hex"
	"strconv"
)

// stamp is what tells a repeated update of an object: its resource version
// and uid. The forms datastores write (a decimal revision, a UUID) are held
// as numbers, without their strings (an agent at 250,000 pods held 12 MB
// of them); any other form is held as given.
type stamp struct {
	rv    uint64        // the resource version + 1, when decimal and canonical; else 0
	uid   [16]byte      // the uid, when a canonical UUID (lowercase); zero for none
	other *stampStrings // both as given, when either is in another form
}

type stampStrings struct{ rv, uid string }

func stampOf(rv, uid string) stamp {
	n, okRV := decimal(rv)
	u, okUID := uuid(uid)
	if (rv != "" && !okRV) || (uid != "" && !okUID) {
		return stamp{other: &stampStrings{rv, uid}}
	}
	var s stamp
	if rv != "" {
		s.rv = n + 1
	}
	s.uid = u
	return s
}

// hasRV reports whether the object had a resource version.
func (s stamp) hasRV() bool { return s.rv != 0 || (s.other != nil && s.other.rv != "") }

// equal reports whether s and t stamp the same version of one object.
func (s stamp) equal(t stamp) bool {
	if s.other != nil || t.other != nil {
		return s.other != nil && t.other != nil && *s.other == *t.other
	}
	return s.rv == t.rv && s.uid == t.uid
}

// decimal parses a resource version written as strconv writes a number
// below the largest uint64 (so that it plus one fits).
func decimal(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == ^uint64(0) || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return n, true
}

// uuid parses a uid written as a lowercase, hyphenated UUID other than the
// nil UUID (whose bytes stand for no uid).
func uuid(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	hexDigits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	for _, c := range []byte(hexDigits) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return u, false
		}
	}
	if _, err := hex.Decode(u[:], []byte(hexDigits)); err != nil || u == [16]byte{} {
		return [16]byte{}, false
	}
	return u, true
}
