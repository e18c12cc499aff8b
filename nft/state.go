package nft

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/palisade-net/palisade/render"
)

// State is what an applier needs to take over the table an earlier run
// left instead of replacing it: the ruleset that run applied and the digest
// of the table as it read it then (of its Fingerprint, or of its listing
// without counter values). A new run whose kernel still holds the same
// table adopts the ruleset
// (Kernel.Adopt), so its first Apply writes only what differs, often
// nothing, and a restart never reloads the table.
type State struct {
	Ruleset *render.Ruleset
	Digest  string
	// Format is the encoding's version, set by SaveState: a state an
	// older palisade saved (the ruleset's types since changed) is not
	// read, and the table is replaced instead of taken over.
	Format int
}

// stateFormat is the current State.Format: 2 since address sets hold
// compact lists (render.Set.Addrs); 0, absent, before.
const stateFormat = 2

func init() {
	// render.Rule's Matches and Statements hold interface values: gob needs
	// their types (TestStateRoundTrip fails when one is missing).
	for _, m := range []render.Match{render.MatchIfname{}, render.MatchNfproto{}, render.MatchL4Proto{},
		render.MatchAddr{}, render.MatchPort{}, render.MatchAddrProtoPort{}, render.MatchProtoPort{},
		render.MatchICMP{}, render.MatchCtState{}, render.MatchCtDNAT{}, render.MatchMark{}} {
		gob.Register(m)
	}
	for _, st := range []render.Statement{render.StmtMark{}, render.StmtNotrack{}, render.StmtLog{}, render.StmtCounter{}} {
		gob.Register(st)
	}
}

// ListingDigest is the digest of a table listing with its counter values
// left out (what State.Digest holds).
func ListingDigest(listing string) string { return Digest(WithoutCounts(listing)) }

// Digest is the digest of a listing already without counter values.
func Digest(normalised string) string {
	sum := sha256.Sum256([]byte(normalised))
	return hex.EncodeToString(sum[:])
}

// SaveState writes s to path atomically (a temporary file renamed over
// it), creating the directory.
func SaveState(path string, s State) error {
	s.Format = stateFormat
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(s); err != nil {
		return fmt.Errorf("nft: encoding the applied ruleset: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("nft: state directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("nft: writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("nft: %w", err)
	}
	return nil
}

// LoadState reads a State SaveState wrote. A missing file is ErrNoState.
func LoadState(path string) (State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, ErrNoState
	}
	if err != nil {
		return State{}, fmt.Errorf("nft: %w", err)
	}
	var s State
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil || s.Ruleset == nil {
		return State{}, fmt.Errorf("nft: %s is not a saved ruleset: %v", path, err)
	}
	if s.Format != stateFormat {
		return State{}, fmt.Errorf("nft: %s was saved by another version of palisade (format %d, this one reads %d)", path, s.Format, stateFormat)
	}
	return s, nil
}

// ErrNoState: no earlier run saved its state.
var ErrNoState = errors.New("nft: no saved state")

// Adopt makes rs the ruleset last applied, as if this applier had applied
// it: the caller has checked that the kernel holds it (its listing digest
// is the one saved with rs). The next Apply then writes only the
// difference.
func (k *Kernel) Adopt(rs *render.Ruleset) {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	k.settle()
	k.last = rs
}
