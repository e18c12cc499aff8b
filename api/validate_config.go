package api

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

var logPrefixRE = regexp.MustCompile(`^[a-zA-Z0-9%: /_-]*$`)

// felixStringPatterns constrain some of the untyped FelixConfiguration
// fields (Calico's kubebuilder patterns).
var felixStringPatterns = map[string]*regexp.Regexp{
	"chainInsertMode":        regexp.MustCompile(`^(?i)(insert|append)?$`),
	"iptablesBackend":        regexp.MustCompile(`^(?i)(auto|legacy|nft)?$`),
	"nftablesMode":           regexp.MustCompile(`^(Enabled|Disabled|Auto)?$`),
	"logSeverityScreen":      regexp.MustCompile(`^(?i)(trace|debug|info|warning|error|fatal)?$`),
	"logSeverityFile":        regexp.MustCompile(`^(?i)(trace|debug|info|warning|error|fatal)?$`),
	"logSeveritySys":         regexp.MustCompile(`^(?i)(trace|debug|info|warning|error|fatal|none)?$`),
	"logActionRateLimit":     regexp.MustCompile(`^([1-9][0-9]{0,3})/(second|minute|hour|day)$`),
	"bpfLogLevel":            regexp.MustCompile(`^(?i)(off|info|debug)?$`),
	"bpfExternalServiceMode": regexp.MustCompile(`^(?i)(tunnel|dsr)?$`),
	"bpfEnforceRPF":          regexp.MustCompile(`^(?i)(disabled|strict|loose)?$`),
	"routeSource":            regexp.MustCompile(`^(?i)(workloadips|calicoipam)?$`),
}

// felix validates FelixConfiguration (docs/api.md §2.10, docs/semantics.md decision 3).
func (v *validator) felix(s *FelixConfigurationSpec) {
	v.failsafes("spec.failsafeInboundHostPorts", s.FailsafeInboundHostPorts)
	v.failsafes("spec.failsafeOutboundHostPorts", s.FailsafeOutboundHostPorts)
	v.oneOf("spec.defaultEndpointToHostAction", s.DefaultEndpointToHostAction, true, "Drop", "Accept", "Return")
	v.oneOf("spec.iptablesFilterAllowAction", s.IptablesFilterAllowAction, true, "Accept", "Return")
	v.oneOf("spec.iptablesMangleAllowAction", s.IptablesMangleAllowAction, true, "Accept", "Return")
	v.oneOf("spec.iptablesFilterDenyAction", s.IptablesFilterDenyAction, true, "Drop", "Reject")
	v.oneOf("spec.nftablesFilterAllowAction", s.NftablesFilterAllowAction, true, "Accept", "Return")
	v.oneOf("spec.nftablesMangleAllowAction", s.NftablesMangleAllowAction, true, "Accept", "Return")
	v.oneOf("spec.nftablesFilterDenyAction", s.NftablesFilterDenyAction, true, "Drop", "Reject")
	v.oneOf("spec.serviceLoopPrevention", s.ServiceLoopPrevention, true, "Drop", "Reject", "Disabled")
	v.oneOf("spec.workloadSourceSpoofing", s.WorkloadSourceSpoofing, true, "Disabled", "Any")
	v.oneOf("spec.ipForwarding", s.IPForwarding, false, "Enabled", "Disabled")
	if !logPrefixRE.MatchString(s.LogPrefix) {
		v.add("spec.logPrefix", s.LogPrefix, "logPrefix may only contain [a-zA-Z0-9%: /_-]")
	}
	if len(s.KubeNodePortRanges) > 7 {
		v.add("spec.kubeNodePortRanges", "", "at most 7 port ranges are allowed")
	}
	for i, p := range s.KubeNodePortRanges {
		if p.IsNamed() || p.MinPort == 0 {
			v.add(fmt.Sprintf("spec.kubeNodePortRanges[%d]", i), p.String(), "must be a port number or range 1-65535")
		}
	}
	v.oneOf("spec.flowLogs", s.FlowLogs, false, "Disabled", "Denied", "All")
	for i, n := range []*int{s.FlowLogsRateLimit, s.FlowLogsRateLimitBurst} {
		if n != nil && (*n < 1 || *n > 1000000) {
			v.add([]string{"spec.flowLogsRateLimit", "spec.flowLogsRateLimitBurst"}[i], fmt.Sprint(*n), "must be between 1 and 1000000")
		}
	}
	v.felixExtra(s.Extra)
}

// failsafes checks failsafe entries: TCP or UDP only (an SCTP entry is an
// error, docs/semantics.md decision 3), a port, and an optional CIDR.
func (v *validator) failsafes(path string, list *[]ProtoPort) {
	if list == nil {
		return
	}
	for i, p := range *list {
		pp := fmt.Sprintf("%s[%d]", path, i)
		switch strings.ToUpper(p.Protocol) {
		case "TCP", "UDP":
		case "SCTP":
			v.add(pp+".protocol", p.Protocol, "failsafe protocol must be TCP or UDP (Felix rejects SCTP failsafe ports)")
		default:
			v.add(pp+".protocol", p.Protocol, "protocol must be 'TCP' or 'UDP'")
		}
		if p.Port == 0 {
			v.add(pp+".port", "0", "port must be specified (1-65535)")
		}
		if p.Net != "" {
			if _, ok := looseCIDR(p.Net); !ok {
				v.add(pp+".net", p.Net, "invalid CIDR")
			}
		}
	}
}

func (v *validator) felixExtra(extra map[string]json.RawMessage) {
	for _, name := range sortedKeys(extra) {
		path := "spec." + name
		if felixExtraTypes[name] == nil {
			v.add(path, "", RuleUnknownField)
			continue
		}
		if re := felixStringPatterns[name]; re != nil {
			var s string
			if json.Unmarshal(extra[name], &s) != nil || !re.MatchString(s) {
				v.add(path, strings.Trim(string(extra[name]), `"`), "must match "+re.String())
			}
		}
	}
	if raw, ok := extra["logActionRateLimitBurst"]; ok {
		var n int
		if json.Unmarshal(raw, &n) != nil || n < 0 || n > 9999 {
			v.add("spec.logActionRateLimitBurst", string(raw), "must be 0-9999")
		}
	}
}

// kubeControllers validates docs/api.md §2.11.
func (v *validator) kubeControllers(s *KubeControllersConfigurationSpec) {
	v.oneOf("spec.logSeverityScreen", s.LogSeverityScreen, false,
		"None", "Debug", "Info", "Warning", "Error", "Fatal", "Panic")
	v.oneOf("spec.healthChecks", s.HealthChecks, false, "Enabled", "Disabled")
	if p := s.PrometheusMetricsPort; p != nil && (*p < 0 || *p > 65535) {
		v.add("spec.prometheusMetricsPort", fmt.Sprint(*p), "must be 0-65535")
	}
	if p := s.DebugProfilePort; p != nil && (*p < 0 || *p > 65535) {
		v.add("spec.debugProfilePort", fmt.Sprint(*p), "must be 0-65535")
	}
	c := s.Controllers
	if n := c.Node; n != nil {
		v.oneOf("spec.controllers.node.syncLabels", n.SyncLabels, false, "Enabled", "Disabled")
		if h := n.HostEndpoint; h != nil {
			hp := "spec.controllers.node.hostEndpoint"
			v.oneOf(hp+".autoCreate", h.AutoCreate, false, "Enabled", "Disabled")
			v.oneOf(hp+".createDefaultHostEndpoint", h.CreateDefaultHostEndpoint, false, "Enabled", "Disabled")
			v.templates(hp+".templates", h.Templates)
		}
	}
	if lb := c.LoadBalancer; lb != nil {
		v.oneOf("spec.controllers.loadBalancer.assignIPs", lb.AssignIPs, false, "AllServices", "RequestedServicesOnly")
	}
	if m := c.Migration; m != nil {
		v.oneOf("spec.controllers.migration.policyNameMigrator", m.PolicyNameMigrator, false, "Enabled", "Disabled")
	}
}

func (v *validator) templates(path string, ts []AutoHostEndpointTemplate) {
	seen := map[string]bool{}
	for i, t := range ts {
		tp := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case t.GenerateName == "":
			v.add(tp+".generateName", "", "Template name must be specified")
		case len(t.GenerateName) > maxNameLength:
			v.add(tp+".generateName", truncate(t.GenerateName), "Template name must be shorter than 253 characters")
		case len(validation.IsDNS1123Subdomain(t.GenerateName)) > 0:
			v.add(tp+".generateName", t.GenerateName, "Template name "+ruleSubdomain)
		case seen[t.GenerateName]:
			v.add(tp+".generateName", t.GenerateName, "Template name must be unique")
		}
		seen[t.GenerateName] = true
		for j, c := range t.InterfaceCIDRs {
			if _, err := netip.ParsePrefix(c); err != nil {
				v.add(fmt.Sprintf("%s.interfaceCIDRs[%d]", tp, j), c, "invalid CIDR")
			}
		}
		if t.InterfacePattern != "" {
			if _, err := regexp.Compile(t.InterfacePattern); err != nil {
				v.add(tp+".interfacePattern", t.InterfacePattern, "invalid regular expression: "+err.Error())
			}
		}
		if len(t.InterfaceCIDRs) == 0 && t.InterfacePattern == "" {
			v.add(tp, "", "InterfaceCIDRs or InterfacePattern must be specified")
		}
		v.labels(tp+".labels", t.Labels)
		v.annotations(tp+".annotations", t.Annotations)
		v.selector(tp+".nodeSelector", t.NodeSelector, noGlobal)
	}
}
