package lint

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/selector"
)

// Severity ranks a finding.
type Severity string

// Severities: an error is a configuration that does not do what anyone
// would want (it fails `palisade lint`); a warning is probably a mistake.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem: the object it is about ("Kind(name)" or
// "Kind(namespace/name)"), where in it, and what.
type Finding struct {
	Severity Severity `json:"severity"`
	Object   string   `json:"object"`
	Where    string   `json:"where,omitempty"` // "ingress rule 2", ...
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	where := ""
	if f.Where != "" {
		where = " " + f.Where
	}
	return fmt.Sprintf("%s: %s%s: %s", f.Severity, f.Object, where, f.Message)
}

// Check lints a model and the objects it was built from.
func Check(m *policy.Model, objs []api.Object) []Finding {
	var out []Finding
	out = append(out, shadowed(m)...)
	out = append(out, unselected(m)...)
	out = append(out, unknownLabels(m)...)
	out = append(out, unknownNamedPorts(m)...)
	out = append(out, lockout(m)...)
	out = append(out, ignoredRules(objs)...)
	out = append(out, lastTierPass(m)...)
	out = append(out, emptyTiers(m)...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Severity != b.Severity:
			return a.Severity == Error
		case a.Object != b.Object:
			return a.Object < b.Object
		case a.Where != b.Where:
			return a.Where < b.Where
		}
		return a.Message < b.Message
	})
	return out
}

// policyID names a policy as the CLI does.
func policyID(p *policy.Policy) string {
	if p.Namespace == "" {
		return fmt.Sprintf("%s(%s)", p.Kind, p.Name)
	}
	return fmt.Sprintf("%s(%s/%s)", p.Kind, p.Namespace, p.Name)
}

// policies lists every enforceable policy of the model, in tier order.
func policies(m *policy.Model) []*policy.Policy {
	var out []*policy.Policy
	for _, t := range m.Tiers {
		for _, p := range t.Policies {
			if p.Unenforceable == "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// shadowed finds rules no packet reaches: an earlier rule of the same
// policy and direction with a final action matches everything they do.
func shadowed(m *policy.Model) []Finding {
	var out []Finding
	for _, p := range policies(m) {
		for _, dir := range []struct {
			name  string
			rules []policy.Rule
		}{{"ingress", p.Ingress}, {"egress", p.Egress}} {
			for j := range dir.rules {
				for i := 0; i < j; i++ {
					if final(dir.rules[i].Action) && covers(&dir.rules[i], &dir.rules[j]) {
						out = append(out, Finding{Severity: Warning, Object: policyID(p),
							Where:   fmt.Sprintf("%s rule %d", dir.name, dir.rules[j].Index),
							Message: fmt.Sprintf("never reached: %s rule %d (%s) matches every packet it does", dir.name, dir.rules[i].Index, dir.rules[i].Action)})
						break
					}
				}
			}
		}
	}
	return out
}

func final(a policy.Action) bool {
	return a == policy.ActionAllow || a == policy.ActionDeny || a == policy.ActionPass
}

// covers reports whether every packet b matches, a matches too. It is
// conservative: a rule with negations or ICMP matches covers only what it
// is known to.
func covers(a, b *policy.Rule) bool {
	if a.NotProtocol != 0 || a.NotICMP != nil || (a.ICMP != nil && !icmpCovers(a.ICMP, b.ICMP)) {
		return false
	}
	if a.IPVersion != 0 && a.IPVersion != b.IPVersion {
		return false
	}
	if a.Protocol != 0 && a.Protocol != b.Protocol {
		return false
	}
	return sideCovers(&a.Src, &b.Src) && sideCovers(&a.Dst, &b.Dst)
}

// icmpCovers: b's ICMP match is within a's (a's type, and a's code or any).
func icmpCovers(a, b *policy.ICMPMatch) bool {
	return b != nil && a.Type == b.Type && (a.Code == nil || (b.Code != nil && *a.Code == *b.Code))
}

func sideCovers(a, b *policy.Side) bool {
	if len(a.NotNets) > 0 || a.NotSelector != nil || len(a.NotPorts) > 0 || len(a.NotNamedPorts) > 0 {
		return false
	}
	if a.Selector != nil && !a.Selector.IsAll() && (b.Selector == nil || a.Selector.String() != b.Selector.String()) {
		return false
	}
	if len(a.Nets) > 0 && (len(b.Nets) == 0 || !netsCover(a.Nets, b.Nets)) {
		return false
	}
	if len(a.Ports) == 0 && len(a.NamedPorts) == 0 {
		return true
	}
	if len(b.Ports) == 0 && len(b.NamedPorts) == 0 {
		return false // a limits ports, b does not
	}
	for _, r := range b.Ports {
		if !slices.ContainsFunc(a.Ports, func(x policy.PortRange) bool { return x.Lo <= r.Lo && r.Hi <= x.Hi }) {
			return false
		}
	}
	for _, n := range b.NamedPorts {
		if !slices.Contains(a.NamedPorts, n) {
			return false
		}
	}
	return true
}

func netsCover(a, b []netip.Prefix) bool {
	for _, nb := range b {
		if !slices.ContainsFunc(a, func(na netip.Prefix) bool { return na.Bits() <= nb.Bits() && na.Contains(nb.Addr()) }) {
			return false
		}
	}
	return true
}

// unselected finds policies that apply to no endpoint in any stage.
func unselected(m *policy.Model) []Finding {
	used := map[*policy.Policy]bool{}
	mark := func(tps []policy.TierPolicies) {
		for _, tp := range tps {
			for _, p := range tp.Policies {
				used[p] = true
			}
		}
	}
	for _, d := range []policy.Direction{policy.Ingress, policy.Egress} {
		for _, w := range m.Workloads {
			mark(m.WorkloadPolicies(w, d))
		}
		for _, h := range m.HostEndpoints {
			for _, k := range []policy.StageKind{policy.StageNormal, policy.StageForward, policy.StagePreDNAT, policy.StageUntracked} {
				mark(m.HostEndpointPolicies(h, k, d))
			}
		}
	}
	var out []Finding
	for _, p := range policies(m) {
		if !used[p] {
			out = append(out, Finding{Severity: Warning, Object: policyID(p),
				Message: fmt.Sprintf("selects no endpoint (selector %s)", p.Selector)})
		}
	}
	return out
}

// unknownLabels finds selectors on label keys that no endpoint, network
// set, namespace or service account (through their profiles) carries.
func unknownLabels(m *policy.Model) []Finding {
	keys := map[string]bool{}
	add := func(labels map[string]string) {
		for k := range labels {
			keys[k] = true
		}
	}
	for _, w := range m.Workloads {
		for k := range w.Labels {
			keys[k] = true
		}
	}
	for _, h := range m.HostEndpoints {
		for k := range h.Labels {
			keys[k] = true
		}
	}
	for _, s := range m.NetworkSets {
		add(s.Labels)
	}
	for _, p := range m.Profiles {
		add(p.Labels)
	}
	var out []Finding
	for _, p := range policies(m) {
		seen := map[string]bool{}
		check := func(where string, keysOf []string) {
			for _, k := range keysOf {
				if !keys[k] && !seen[k] {
					seen[k] = true
					out = append(out, Finding{Severity: Warning, Object: policyID(p), Where: where,
						Message: fmt.Sprintf("selects on label %q, which no endpoint, network set or namespace has", k)})
				}
			}
		}
		if p.Selector != nil {
			check("selector", p.Selector.LabelKeys())
		}
		for _, dir := range []struct {
			name  string
			rules []policy.Rule
		}{{"ingress", p.Ingress}, {"egress", p.Egress}} {
			for _, r := range dir.rules {
				for _, side := range []*policy.Side{&r.Src, &r.Dst} {
					for _, s := range []*selector.Selector{side.Selector, side.NotSelector} {
						if s != nil {
							check(fmt.Sprintf("%s rule %d", dir.name, r.Index), s.LabelKeys())
						}
					}
				}
			}
		}
	}
	return out
}

// rulesOf lists a policy's rules with their direction's name.
func rulesOf(p *policy.Policy) []struct {
	dir  string
	rule *policy.Rule
} {
	var out []struct {
		dir  string
		rule *policy.Rule
	}
	for i := range p.Ingress {
		out = append(out, struct {
			dir  string
			rule *policy.Rule
		}{"ingress", &p.Ingress[i]})
	}
	for i := range p.Egress {
		out = append(out, struct {
			dir  string
			rule *policy.Rule
		}{"egress", &p.Egress[i]})
	}
	return out
}

// unknownNamedPorts finds rules on a named port no endpoint defines.
func unknownNamedPorts(m *policy.Model) []Finding {
	names := map[string]bool{}
	for _, w := range m.Workloads {
		for _, np := range w.Ports {
			names[np.Name] = true
		}
	}
	for _, h := range m.HostEndpoints {
		for _, np := range h.Ports {
			names[np.Name] = true
		}
	}
	var out []Finding
	for _, p := range policies(m) {
		for _, r := range rulesOf(p) {
			for _, side := range []*policy.Side{&r.rule.Src, &r.rule.Dst} {
				for _, n := range append(slices.Clone(side.NamedPorts), side.NotNamedPorts...) {
					if !names[n] {
						out = append(out, Finding{Severity: Warning, Object: policyID(p),
							Where:   fmt.Sprintf("%s rule %d", r.dir, r.rule.Index),
							Message: fmt.Sprintf("names port %q, which no endpoint defines (the rule matches no port)", n)})
					}
				}
			}
		}
	}
	return out
}

// lockout finds host endpoints with ingress policy on nodes whose inbound
// failsafes are off and where no policy allows SSH: one Deny-all away
// from losing the node.
func lockout(m *policy.Model) []Finding {
	var out []Finding
	for _, h := range m.HostEndpoints {
		n := m.Nodes[h.Node]
		if n == nil || len(n.Felix.FailsafeIn) > 0 {
			continue
		}
		tps := m.HostEndpointPolicies(h, policy.StageNormal, policy.Ingress)
		if len(tps) == 0 {
			continue
		}
		ssh := false
		for _, tp := range tps {
			for _, p := range tp.Policies {
				for _, r := range p.Ingress {
					ssh = ssh || (r.Action == policy.ActionAllow && allowsPort(&r, 6, 22))
				}
			}
		}
		if !ssh {
			out = append(out, Finding{Severity: Error, Object: fmt.Sprintf("HostEndpoint(%s)", h.Name),
				Message: fmt.Sprintf("has ingress policy, node %s's inbound failsafes are off and no policy allows TCP 22: "+
					"this can cut off SSH to the node (restore failsafeInboundHostPorts or allow 22)", h.Node)})
		}
	}
	return out
}

func allowsPort(r *policy.Rule, proto uint8, port uint16) bool {
	if r.Protocol != 0 && r.Protocol != proto {
		return false
	}
	if len(r.Dst.Ports) == 0 && len(r.Dst.NamedPorts) == 0 {
		return true
	}
	return slices.ContainsFunc(r.Dst.Ports, func(x policy.PortRange) bool { return x.Lo <= port && port <= x.Hi })
}

// ignoredRules finds rules for a direction a policy's types leave out:
// they are never evaluated.
func ignoredRules(objs []api.Object) []Finding {
	var out []Finding
	report := func(id, dir string, n int) {
		out = append(out, Finding{Severity: Warning, Object: id,
			Message: fmt.Sprintf("has %d %s rule(s) that its types ignore (they are never evaluated)", n, dir)})
	}
	for _, o := range objs {
		switch x := o.(type) {
		case *networkingv1.NetworkPolicy:
			types := x.Spec.PolicyTypes
			if len(types) == 0 {
				continue // defaulted from the rules: nothing is ignored
			}
			if len(x.Spec.Ingress) > 0 && !slices.Contains(types, networkingv1.PolicyTypeIngress) {
				report(api.ID(o), "ingress", len(x.Spec.Ingress))
			}
			if len(x.Spec.Egress) > 0 && !slices.Contains(types, networkingv1.PolicyTypeEgress) {
				report(api.ID(o), "egress", len(x.Spec.Egress))
			}
		case *api.GlobalNetworkPolicy:
			checkTypes(api.ID(o), x.Spec.Types, len(x.Spec.Ingress), len(x.Spec.Egress), report)
		case *api.NetworkPolicy:
			checkTypes(api.ID(o), x.Spec.Types, len(x.Spec.Ingress), len(x.Spec.Egress), report)
		}
	}
	return out
}

func checkTypes(id string, types []api.PolicyType, in, eg int, report func(id, dir string, n int)) {
	if len(types) == 0 {
		return
	}
	if in > 0 && !slices.Contains(types, api.PolicyTypeIngress) {
		report(id, "ingress", in)
	}
	if eg > 0 && !slices.Contains(types, api.PolicyTypeEgress) {
		report(id, "egress", eg)
	}
}

// lastTierPass finds Pass in the last tier: nothing comes after it but
// the profiles, which is rarely what Pass was meant for.
func lastTierPass(m *policy.Model) []Finding {
	if len(m.Tiers) == 0 {
		return nil
	}
	last := m.Tiers[len(m.Tiers)-1]
	var out []Finding
	if last.DefaultAction == policy.ActionPass {
		out = append(out, Finding{Severity: Warning, Object: fmt.Sprintf("Tier(%s)", last.Name),
			Message: "the last tier's defaultAction is Pass: unmatched traffic goes to the endpoints' profiles"})
	}
	for _, p := range last.Policies {
		for _, r := range rulesOf(p) {
			if r.rule.Action == policy.ActionPass {
				out = append(out, Finding{Severity: Warning, Object: policyID(p), Where: fmt.Sprintf("%s rule %d", r.dir, r.rule.Index),
					Message: "Pass in the last tier: the packet goes straight to the endpoint's profiles"})
			}
		}
	}
	return out
}

// emptyTiers finds tiers (but default) with no policy.
func emptyTiers(m *policy.Model) []Finding {
	var out []Finding
	for _, t := range m.Tiers {
		if len(t.Policies) == 0 && t.Name != api.DefaultTierName {
			out = append(out, Finding{Severity: Warning, Object: fmt.Sprintf("Tier(%s)", t.Name), Message: "holds no policy"})
		}
	}
	return out
}
