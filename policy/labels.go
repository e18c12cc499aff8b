package policy

// Reserved labels and prefixes (docs/api.md §1.3, semantics §1.4).
const (
	LabelNamespace       = "projectcalico.org/namespace"
	LabelOrchestrator    = "projectcalico.org/orchestrator"
	LabelServiceAccount  = "projectcalico.org/serviceaccount"
	LabelName            = "projectcalico.org/name"
	PrefixNamespace      = "pcns."
	PrefixServiceAccount = "pcsa."
	OrchestratorK8s      = "k8s"
)

// labelMap is an endpoint's effective label set.
type labelMap map[string]string

func (m labelMap) Get(k string) (string, bool) {
	v, ok := m[k]
	return v, ok
}

// EffectiveLabels returns a workload's effective labels: its own over its
// profiles' labelsToApply. A Derived resolved without labels keeps only
// its own in Labels; this computes the rest when needed.
func EffectiveLabels(own map[string]string, profiles []*Profile) map[string]string {
	return inherit(own, profiles)
}

// profilesLabel reports whether any of the profiles applies labels.
func profilesLabel(profiles []*Profile) bool {
	for _, p := range profiles {
		if p != nil && len(p.Labels) > 0 {
			return true
		}
	}
	return false
}

// inherit returns own labels over the profiles' labelsToApply; an endpoint's
// own labels win, and an earlier profile wins over a later one (§1.4).
func inherit(own map[string]string, profiles []*Profile) labelMap {
	out := labelMap{}
	for i := len(profiles) - 1; i >= 0; i-- {
		if profiles[i] == nil {
			continue
		}
		for k, v := range profiles[i].Labels {
			out[k] = v
		}
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}
