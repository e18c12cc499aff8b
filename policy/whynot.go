package policy

import (
	"fmt"
	"strings"
)

// whyNot says the first condition of r a packet fails, in the order
// matchRule checks them ("" when r matches): what explain lists for the
// rules of the policies tried when a tier ends without a match.
func (m *Model) whyNot(r *Rule, pkt packet) string {
	switch {
	case pkt.src.Is4() && !r.v4:
		return "the rule has no IPv4 form"
	case pkt.src.Is6() && !r.v6:
		return "the rule has no IPv6 form"
	case r.Protocol != 0 && pkt.proto != r.Protocol:
		return fmt.Sprintf("protocol is %s, the rule wants %s", ProtoName(pkt.proto), ProtoName(r.Protocol))
	case r.NotProtocol != 0 && pkt.proto == r.NotProtocol:
		return fmt.Sprintf("protocol %s is excluded (notProtocol)", ProtoName(pkt.proto))
	case r.ICMP != nil && !icmpMatches(r.ICMP, pkt):
		return fmt.Sprintf("not ICMP type %d", r.ICMP.Type)
	case r.NotICMP != nil && icmpMatches(r.NotICMP, pkt):
		return fmt.Sprintf("ICMP type %d is excluded (notICMP)", r.NotICMP.Type)
	}
	if why := m.sideWhyNot("source", &r.Src, pkt.src.String(), pkt.sport, pkt); why != "" {
		return why
	}
	return m.sideWhyNot("destination", &r.Dst, pkt.dst.String(), pkt.dport, pkt)
}

func (m *Model) sideWhyNot(side string, s *Side, ipText string, port uint16, pkt packet) string {
	ip := pkt.src
	if side == "destination" {
		ip = pkt.dst
	}
	switch {
	case len(s.Nets) > 0 && !anyContains(s.Nets, ip):
		return fmt.Sprintf("%s %s is not in nets %s", side, ipText, prefixesText(s.Nets))
	case len(s.NotNets) > 0 && anyContains(s.NotNets, ip):
		return fmt.Sprintf("%s %s is in notNets %s", side, ipText, prefixesText(s.NotNets))
	case !m.selectorsMatch(s, ip):
		sel := "selector " + selText(s)
		return fmt.Sprintf("%s %s is not selected (%s)", side, ipText, sel)
	}
	if len(s.Ports) > 0 || len(s.NamedPorts) > 0 {
		if !pkt.carriesPorts() {
			return fmt.Sprintf("the rule names %s ports; %s has none", side, ProtoName(pkt.proto))
		}
		if !m.portMatches(s.Ports, s.NamedPorts, s.Selector, ip, port, pkt.proto) {
			return fmt.Sprintf("%s port %d is not in %s", side, port, portsText(s.Ports, s.NamedPorts))
		}
	}
	if len(s.NotPorts) > 0 || len(s.NotNamedPorts) > 0 {
		if !pkt.carriesPorts() {
			return fmt.Sprintf("the rule names %s notPorts; %s has none", side, ProtoName(pkt.proto))
		}
		if m.portMatches(s.NotPorts, s.NotNamedPorts, s.Selector, ip, port, pkt.proto) {
			return fmt.Sprintf("%s port %d is in notPorts %s", side, port, portsText(s.NotPorts, s.NotNamedPorts))
		}
	}
	return ""
}

func selText(s *Side) string {
	var parts []string
	if s.Selector != nil {
		parts = append(parts, s.Selector.String())
	}
	if s.NotSelector != nil {
		parts = append(parts, "not "+s.NotSelector.String())
	}
	return strings.Join(parts, ", ")
}

func prefixesText[T fmt.Stringer](ps []T) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return "[" + strings.Join(out, ", ") + "]"
}

func portsText(ranges []PortRange, names []string) string {
	var out []string
	for _, r := range ranges {
		if r.Lo == r.Hi {
			out = append(out, fmt.Sprint(r.Lo))
		} else {
			out = append(out, fmt.Sprintf("%d:%d", r.Lo, r.Hi))
		}
	}
	out = append(out, names...)
	return "[" + strings.Join(out, ", ") + "]"
}

// triedRules lists, for the policies of a tier that applied and did not
// decide, why each rule did not match.
func (m *Model) triedRules(policies []*Policy, d Direction, pkt packet) []string {
	var out []string
	for _, p := range policies {
		rules := p.rules(d)
		if len(rules) == 0 {
			out = append(out, fmt.Sprintf("%s: no %s rules", p.Key(), d))
			continue
		}
		for i := range rules {
			if why := m.whyNot(&rules[i], pkt); why != "" {
				out = append(out, fmt.Sprintf("%s rule %d: %s", p.Key(), rules[i].Index, why))
			}
		}
	}
	return out
}
