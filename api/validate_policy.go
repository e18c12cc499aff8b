package api

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// policyView is the part of a Calico policy spec that validation reads,
// shared by GlobalNetworkPolicy, NetworkPolicy and the staged kinds.
type policyView struct {
	tier, selector, nsSelector, saSelector string
	types                                  []PolicyType
	ingress, egress                        []Rule
	doNotTrack, preDNAT, applyOnForward    bool
	hints                                  []string
}

func policyViewGNP(s *GlobalNetworkPolicySpec) policyView {
	return policyView{s.Tier, s.Selector, s.NamespaceSelector, s.ServiceAccountSelector, s.Types,
		s.Ingress, s.Egress, s.DoNotTrack, s.PreDNAT, s.ApplyOnForward, s.PerformanceHints}
}

func policyViewNP(s *NetworkPolicySpec) policyView {
	return policyView{tier: s.Tier, selector: s.Selector, saSelector: s.ServiceAccountSelector, types: s.Types,
		ingress: s.Ingress, egress: s.Egress, hints: s.PerformanceHints}
}

const (
	maxRules     = 1024
	maxRuleNets  = 256
	maxRulePorts = 50
)

// policy validates a policy spec (docs/api.md §2.1, §2.2).
func (v *validator) policy(path string, p policyView, global bool) {
	if p.tier != "" && len(validation.IsDNS1123Label(p.tier)) > 0 {
		v.add(path+".tier", p.tier, "tier "+ruleLabel)
	}
	v.selector(path+".selector", p.selector, noGlobal)
	v.selector(path+".namespaceSelector", p.nsSelector, noGlobal)
	v.selector(path+".serviceAccountSelector", p.saSelector, noGlobal)
	v.policyTypes(path+".types", p.types)
	if len(p.ingress) > maxRules {
		v.add(path+".ingress", "", "at most 1024 rules are allowed")
	}
	if len(p.egress) > maxRules {
		v.add(path+".egress", "", "at most 1024 rules are allowed")
	}
	for i := range p.ingress {
		v.rule(fmt.Sprintf("%s.ingress[%d]", path, i), &p.ingress[i], true, global)
	}
	for i := range p.egress {
		v.rule(fmt.Sprintf("%s.egress[%d]", path, i), &p.egress[i], false, global)
	}
	v.policyStages(path, p)
	seen := map[string]bool{}
	for i, h := range p.hints {
		hp := fmt.Sprintf("%s.performanceHints[%d]", path, i)
		switch {
		case h != "AssumeNeededOnEveryNode":
			v.add(hp, h, "performance hint must be AssumeNeededOnEveryNode")
		case seen[h]:
			v.add(hp, h, "performance hint specified more than once")
		}
		seen[h] = true
	}
}

func (v *validator) policyTypes(path string, types []PolicyType) {
	if len(types) > 2 {
		v.add(path, "", "at most two types (Ingress, Egress) may be given")
	}
	seen := map[PolicyType]bool{}
	for i, t := range types {
		tp := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case t != PolicyTypeIngress && t != PolicyTypeEgress:
			v.add(tp, string(t), "type must be Ingress or Egress")
		case seen[t]:
			v.add(tp, string(t), fmt.Sprintf("'%s' type specified more than once", t))
		}
		seen[t] = true
	}
}

// policyStages checks the preDNAT / doNotTrack / applyOnForward rules.
func (v *validator) policyStages(path string, p policyView) {
	if p.doNotTrack && p.preDNAT {
		v.add(path+".preDNAT", "true", "preDNAT and doNotTrack cannot both be true")
	}
	if p.preDNAT && len(p.egress) > 0 {
		v.add(path+".egress", "", "preDNAT policy cannot have any egress rules")
	}
	if p.preDNAT {
		for _, t := range p.types {
			if t == PolicyTypeEgress {
				v.add(path+".types", string(t), "preDNAT policy cannot have 'Egress' type")
			}
		}
	}
	if (p.doNotTrack || p.preDNAT) && !p.applyOnForward {
		v.add(path+".applyOnForward", "false", "applyOnForward must be true if either preDNAT or doNotTrack is true")
	}
}

// ---- rules (docs/api.md §3) ----

var validProtocolNames = map[string]bool{"TCP": true, "UDP": true, "ICMP": true, "ICMPv6": true, "SCTP": true, "UDPLite": true}

func protocolRule(p *Protocol) string {
	if p.IsNumeric() {
		if p.Num < 1 || p.Num > 255 {
			return "protocol number invalid (must be 1-255)"
		}
		return ""
	}
	if !validProtocolNames[p.Name] {
		return "protocol name invalid (must be TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255)"
	}
	return ""
}

// rule validates one rule; ingress says which list it is in, global whether
// the policy is cluster-wide.
func (v *validator) rule(path string, r *Rule, ingress, global bool) {
	switch r.Action {
	case Allow, Deny, Log, Pass:
	case "":
		v.add(path+".action", "", "action must be specified")
	default:
		v.add(path+".action", string(r.Action), "action must be one of Allow, Deny, Log, Pass")
	}
	if r.IPVersion != nil && *r.IPVersion != 4 && *r.IPVersion != 6 {
		v.add(path+".ipVersion", fmt.Sprint(*r.IPVersion), "ipVersion must be 4 or 6")
	}
	if r.Protocol != nil {
		if msg := protocolRule(r.Protocol); msg != "" {
			v.add(path+".protocol", r.Protocol.String(), msg)
		}
	}
	if r.NotProtocol != nil {
		if msg := protocolRule(r.NotProtocol); msg != "" {
			v.add(path+".notProtocol", r.NotProtocol.String(), msg)
		}
	}
	v.ruleICMP(path, r)
	v.ruleHTTP(path, r, ingress)
	if r.Metadata != nil {
		v.annotations(path+".metadata.annotations", r.Metadata.Annotations)
	}
	v.entity(path+".source", &r.Source, r.Protocol)
	v.entity(path+".destination", &r.Destination, r.Protocol)
	v.ruleNets(path, r)
	v.ruleServices(path, r, ingress, global)
}

func (v *validator) ruleICMP(path string, r *Rule) {
	for i, f := range []*ICMPFields{r.ICMP, r.NotICMP} {
		if f == nil {
			continue
		}
		fp := path + "." + [...]string{"icmp", "notICMP"}[i]
		if f.Code != nil && f.Type == nil {
			v.add(fp+".code", fmt.Sprint(*f.Code), "ICMP code specified without an ICMP type")
		}
		if f.Type != nil && (*f.Type < 0 || *f.Type > 254) {
			v.add(fp+".type", fmt.Sprint(*f.Type), "ICMP type must be 0-254")
		}
		if f.Code != nil && (*f.Code < 0 || *f.Code > 255) {
			v.add(fp+".code", fmt.Sprint(*f.Code), "ICMP code must be 0-255")
		}
		if n := protocolNumber(r.Protocol); n != 1 && n != 58 {
			v.add(fp, "", "ICMP fields require protocol ICMP or ICMPv6")
		}
	}
	if r.Protocol != nil && r.IPVersion != nil {
		switch n := r.Protocol.Number(); {
		case n == 1 && *r.IPVersion == 6:
			v.add(path+".ipVersion", "6", "protocol ICMP requires ipVersion 4")
		case n == 58 && *r.IPVersion == 4:
			v.add(path+".ipVersion", "4", "protocol ICMPv6 requires ipVersion 6")
		}
	}
}

func protocolNumber(p *Protocol) int {
	if p == nil {
		return 0
	}
	return p.Number()
}

func (v *validator) ruleHTTP(path string, r *Rule, ingress bool) {
	h := r.HTTP
	if h == nil {
		return
	}
	hp := path + ".http"
	if r.Action != Allow {
		v.add(hp, "", "HTTP match is only allowed on Allow rules")
	}
	if !ingress {
		v.add(hp, "", "not allowed in egress rules")
	}
	if n := protocolNumber(r.Protocol); r.Protocol != nil && n != 6 {
		v.add(hp, "", "HTTP match requires protocol TCP (or no protocol)")
	}
	if len(h.Methods) > 20 {
		v.add(hp+".methods", "", "at most 20 methods are allowed")
	}
	seen := map[string]bool{}
	for i, m := range h.Methods {
		if seen[m] {
			v.add(fmt.Sprintf("%s.methods[%d]", hp, i), m, "method specified more than once")
		}
		seen[m] = true
	}
	if len(h.Paths) > 20 {
		v.add(hp+".paths", "", "at most 20 paths are allowed")
	}
	for i, p := range h.Paths {
		pp := fmt.Sprintf("%s.paths[%d]", hp, i)
		val := p.Exact + p.Prefix
		switch {
		case (p.Exact == "") == (p.Prefix == ""):
			v.add(pp, val, "exactly one of exact or prefix must be specified")
		case !strings.HasPrefix(val, "/"):
			v.add(pp, val, "path must start with /")
		case strings.ContainsAny(val, "?# "):
			v.add(pp, val, "path must not contain '?', '#' or spaces")
		}
	}
}

// entity validates one side of a rule (docs/api.md §3.2) except nets family
// consistency and services, which need the whole rule.
func (v *validator) entity(path string, e *EntityRule, proto *Protocol) {
	v.selector(path+".selector", e.Selector, noGlobal)
	v.selector(path+".notSelector", e.NotSelector, noGlobal)
	v.selector(path+".namespaceSelector", e.NamespaceSelector, wholeGlobalOK)
	if sa := e.ServiceAccounts; sa != nil {
		v.selector(path+".serviceAccounts.selector", sa.Selector, noGlobal)
		v.subdomains(path+".serviceAccounts.names", sa.Names)
	}
	v.ports(path+".ports", e.Ports, proto)
	v.ports(path+".notPorts", e.NotPorts, proto)
}

func (v *validator) ports(path string, ports []Port, proto *Protocol) {
	if len(ports) == 0 {
		return
	}
	if len(ports) > maxRulePorts {
		v.add(path, "", "at most 50 ports are allowed")
	}
	numeric := false
	for i, p := range ports {
		pp := fmt.Sprintf("%s[%d]", path, i)
		if p.IsNamed() {
			if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
				v.add(pp, p.Name, "invalid port name: "+errs[0])
			}
			continue
		}
		numeric = true
		if p.MinPort == 0 {
			v.add(pp, p.String(), "port number must be 1-65535")
		}
	}
	switch {
	case proto != nil && !proto.SupportsPorts():
		v.add(path, "", "rules that specify ports must set protocol to TCP or UDP or SCTP")
	case proto == nil && numeric:
		v.add(path, "", "rules with numeric port or port range must set protocol to TCP or UDP or SCTP")
	}
}

// ruleNets checks every CIDR of the rule and that they agree on one family
// (and with ipVersion).
func (v *validator) ruleNets(path string, r *Rule) {
	families := map[int]bool{}
	for _, side := range []string{"source", "destination"} {
		e := r.entityRule(side)
		for _, field := range []string{"nets", "notNets"} {
			nets := e.Nets
			if field == "notNets" {
				nets = e.NotNets
			}
			fp := path + "." + side + "." + field
			if len(nets) > maxRuleNets {
				v.add(fp, "", "at most 256 CIDRs are allowed")
			}
			for i, s := range nets {
				p, msg := strictCIDR(s)
				if msg != "" {
					v.add(fmt.Sprintf("%s[%d]", fp, i), s, msg)
					continue
				}
				families[ipFamily(p.Addr())] = true
				if field == "notNets" && p.Bits() == 0 {
					v.add(fmt.Sprintf("%s[%d]", fp, i), s,
						"catch-all CIDR in negation creates logical contradiction (matches no traffic)")
				}
			}
		}
	}
	if families[4] && families[6] {
		v.add(path, "", "rule contains both IPv4 and IPv6 CIDRs")
	} else if r.IPVersion != nil && len(families) == 1 && !families[*r.IPVersion] {
		v.add(path+".ipVersion", fmt.Sprint(*r.IPVersion), "rule IP version doesn't match CIDR version")
	}
}

func (r *Rule) entityRule(side string) *EntityRule {
	if side == "source" {
		return &r.Source
	}
	return &r.Destination
}

func ipFamily(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return 4
	}
	return 6
}

func (v *validator) ruleServices(path string, r *Rule, ingress, global bool) {
	for _, side := range []string{"source", "destination"} {
		e := r.entityRule(side)
		s := e.Services
		if s == nil {
			continue
		}
		sp := path + "." + side + ".services"
		switch {
		case ingress && side == "destination":
			v.add(sp, "", "not allowed in ingress rule destination")
		case !ingress && side == "source":
			v.add(sp, "", "not allowed in egress rule source")
		}
		if s.Name == "" {
			v.add(sp+".name", "", "service name must be specified")
		}
		if s.Namespace == "" && global {
			v.add(sp+".namespace", "", "must specify a namespace")
		}
		if e.Selector != "" || e.NotSelector != "" || e.NamespaceSelector != "" || len(e.Nets) > 0 ||
			len(e.NotNets) > 0 || e.ServiceAccounts != nil {
			v.add(sp, "", "services cannot be combined with selector, notSelector, namespaceSelector, nets, notNets or serviceAccounts")
		}
		if side == "destination" && (len(e.Ports) > 0 || len(e.NotPorts) > 0) {
			v.add(sp, "", "ports and notPorts cannot be specified with services")
		}
	}
}

// ---- staged policies (docs/api.md §2.3) ----

const ruleStagedDelete = "Spec fields, except Tier, should all be zero-value if stagedAction is Delete"

func (v *validator) stagedAction(path string, a StagedAction) {
	switch a {
	case StagedActionSet, StagedActionDelete, StagedActionLearn, StagedActionIgnore, "":
	default:
		v.add(path, string(a), "stagedAction must be one of Set, Delete, Learn, Ignore")
	}
}

func (v *validator) stagedGNP(o *StagedGlobalNetworkPolicy) {
	v.stagedAction("spec.stagedAction", o.Spec.StagedAction)
	if o.Spec.StagedAction == StagedActionDelete {
		rest := o.Spec.GlobalNetworkPolicySpec
		rest.Tier = ""
		if !reflect.DeepEqual(rest, GlobalNetworkPolicySpec{}) {
			v.add("spec", "", ruleStagedDelete)
		}
		return
	}
	v.policy("spec", policyViewGNP(&o.Spec.GlobalNetworkPolicySpec), true)
}

func (v *validator) stagedNP(o *StagedNetworkPolicy) {
	v.stagedAction("spec.stagedAction", o.Spec.StagedAction)
	if o.Spec.StagedAction == StagedActionDelete {
		rest := o.Spec.NetworkPolicySpec
		rest.Tier = ""
		if !reflect.DeepEqual(rest, NetworkPolicySpec{}) {
			v.add("spec", "", ruleStagedDelete)
		}
		return
	}
	v.policy("spec", policyViewNP(&o.Spec.NetworkPolicySpec), false)
}
