package policy

import (
	"testing"

	"github.com/palisade-net/palisade/api"
)

// A rule with a services match is never resolved: Allow-like rules match
// nothing, Deny rules match as if the field were absent.
func TestServicesRulesNeverFailOpen(t *testing.T) {
	svc := &api.ServiceMatch{Name: "web", Namespace: "app"}
	for _, tc := range []struct {
		action api.Action
		want   bool // matches a TCP packet to 198.18.0.1:80
	}{
		{api.Allow, false},
		{api.Pass, false},
		{api.Log, false},
		{api.Deny, true},
	} {
		r, err := compileRule(&api.Rule{Action: tc.action, Destination: api.EntityRule{Services: svc}}, ruleScope{})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.InFamily(true) && r.InFamily(false); got != tc.want {
			t.Errorf("%s with services: rendered/matching %v, want %v", tc.action, got, tc.want)
		}
	}
}
