package policy

import "testing"

// TestAllowAllProfilesShareRules: every namespace profile and
// projectcalico-default-allow share one allow-all rule list, whose capacity
// is its length (an append copies it), and which is as it was.
func TestAllowAllProfilesShareRules(t *testing.T) {
	a, b, d := NamespaceProfile("a", nil), NamespaceProfile("b", map[string]string{"x": "y"}), DefaultAllowProfile()
	for _, p := range []*Profile{a, b, d} {
		for _, rules := range [][]Rule{p.Ingress, p.Egress} {
			if len(rules) != 1 || cap(rules) != 1 || &rules[0] != &allowAllRules[0] {
				t.Fatalf("profile %s: rules %v not the shared allow-all list", p.Name, rules)
			}
		}
	}
	if r := allowAllRules[0]; r.Action != ActionAllow || !r.v4 || !r.v6 || r.Src.Selector != nil || r.Dst.Selector != nil || r.Protocol != 0 {
		t.Fatalf("the shared allow-all rule changed: %+v", r)
	}
}
