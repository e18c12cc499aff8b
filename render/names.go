package render

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/palisade-net/palisade/policy"
)

// Names of chains, sets and maps are derived from endpoint and policy names
// so they stay the same from one render to the next. Every name starts with
// a fixed prefix (hep-, wep-, pol-, pro-, tier-, sel-, np-, ...) so no name
// is an nft keyword. Characters nft identifiers cannot hold become "_" and
// the name gets a hash suffix; names longer than maxName are cut and
// hashed.

const (
	maxName  = 64
	hashLen  = 10
	cutName  = maxName - hashLen - 1
	ifnamsiz = 15 // longest interface name the kernel accepts
)

// shortHash is the first hashLen hex digits of sha256(s).
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// safeName makes an nft identifier from prefix and parts joined by "_":
// letters, digits, "-" and "." are kept; anything else (including "_"
// inside a part, so the join stays unambiguous) is replaced and a hash of
// the original is appended.
func safeName(prefix string, parts ...string) string {
	orig := prefix + strings.Join(parts, "\x00")
	var b strings.Builder
	b.WriteString(prefix)
	changed := false
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('_')
		}
		for _, c := range p {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
				b.WriteRune(c)
			default:
				b.WriteByte('_')
				changed = true
			}
		}
	}
	name := b.String()
	if changed || len(name) > maxName {
		if len(name) > cutName {
			name = name[:cutName]
		}
		name += "-" + shortHash(orig)
	}
	return name
}

// withSuffix appends a suffix ("-ingress", "-v4", ...) to a safe name,
// keeping the whole within maxName.
func withSuffix(base, suffix string) string {
	if len(base)+len(suffix) <= maxName {
		return base + suffix
	}
	keep := maxName - len(suffix) - hashLen - 1
	return base[:keep] + "-" + shortHash(base) + suffix
}

func dirName(d policy.Direction) string {
	if d == policy.Ingress {
		return "ingress"
	}
	return "egress"
}

// policyBase names a policy's chains: kind, namespace and name.
func policyBase(p *policy.Policy) string {
	kind := "gnp"
	switch p.Kind {
	case "NetworkPolicy":
		kind = "np"
	case "KubernetesNetworkPolicy":
		kind = "knp"
	}
	if p.Namespace == "" {
		return safeName("pol-"+kind+"-", p.Name)
	}
	return safeName("pol-"+kind+"-", p.Namespace, p.Name)
}

func profileBase(p *policy.Profile) string { return safeName("pro-", p.Name) }

func hepBase(h *policy.HostEndpoint) string { return safeName("hep-", h.Name) }

func wepBase(w *policy.Workload) string { return safeName("wep-", w.Namespace, w.Name) }

// kindSuffix names an endpoint chain's stage kind and direction.
func kindSuffix(k policy.StageKind, d policy.Direction) string {
	switch k {
	case policy.StageForward:
		return "-fwd-" + dirName(d)
	case policy.StagePreDNAT:
		return "-prednat"
	case policy.StageUntracked:
		return "-raw-" + dirName(d)
	}
	return "-" + dirName(d)
}

func famSuffix(f Family) string {
	if f == FamilyIPv6 {
		return "-v6"
	}
	return "-v4"
}
