package api

import (
	"fmt"
	"net"
	"net/netip"

	"k8s.io/apimachinery/pkg/util/validation"
)

// LabelNamespace is the label Calico gives namespaced endpoints and sets; it
// may not be set by hand on network sets (docs/api.md §1.3).
const LabelNamespace = "projectcalico.org/namespace"

// LabelOrchestrator is the label a WorkloadEndpoint carries with its
// spec.orchestrator.
const LabelOrchestrator = "projectcalico.org/orchestrator"

func (v *validator) tier(o *Tier) {
	if a := o.Spec.DefaultAction; a != nil && *a != Deny && *a != Pass {
		v.add("spec.defaultAction", string(*a), "defaultAction must be Deny or Pass")
	}
}

// hostEndpoint validates docs/api.md §2.5.
func (v *validator) hostEndpoint(s *HostEndpointSpec) {
	switch {
	case s.Node == "":
		v.add("spec.node", "", "node must be specified")
	case len(validation.IsDNS1123Subdomain(s.Node)) > 0:
		v.add("spec.node", s.Node, "node "+ruleSubdomain)
	}
	v.interfaceName("spec.interfaceName", s.InterfaceName, false)
	for i, ip := range s.ExpectedIPs {
		v.ip(fmt.Sprintf("spec.expectedIPs[%d]", i), ip, 0)
	}
	if s.InterfaceName == "" && len(s.ExpectedIPs) == 0 {
		v.add("spec", "", "at least one of interfaceName or expectedIPs must be specified")
	}
	v.subdomains("spec.profiles", s.Profiles)
	for i, p := range s.Ports {
		v.endpointPort(fmt.Sprintf("spec.ports[%d]", i), p.Name, p.Protocol, p.Port, false)
	}
}

// endpointPort checks a named port of an endpoint.
func (v *validator) endpointPort(path, name string, proto Protocol, port uint16, nameOptional bool) {
	switch {
	case name == "" && !nameOptional:
		v.add(path+".name", "", "port name must be specified")
	case name != "":
		if errs := validation.IsValidPortName(name); len(errs) > 0 {
			v.add(path+".name", name, "invalid port name: "+errs[0])
		}
	}
	if msg := protocolRule(&proto); msg != "" {
		v.add(path+".protocol", proto.String(), msg)
	} else if !proto.SupportsPorts() {
		v.add(path+".protocol", proto.String(), "protocol must be TCP, UDP or SCTP")
	}
	if port == 0 {
		v.add(path+".port", "0", "port number must be 1-65535")
	}
}

// workloadEndpoint validates docs/api.md §2.6.
func (v *validator) workloadEndpoint(s *WorkloadEndpointSpec) {
	v.interfaceName("spec.interfaceName", s.InterfaceName, true)
	var nets []netip.Prefix
	for i, n := range s.IPNetworks {
		p, ok := looseCIDR(n)
		switch {
		case !ok:
			v.add(fmt.Sprintf("spec.ipNetworks[%d]", i), n, "invalid CIDR")
		case p.Bits() != p.Addr().BitLen():
			v.add(fmt.Sprintf("spec.ipNetworks[%d]", i), n, "IP network contains multiple addresses")
		default:
			nets = append(nets, p)
		}
	}
	for i, nat := range s.IPNATs {
		np := fmt.Sprintf("spec.ipNATs[%d]", i)
		v.ip(np+".externalIP", nat.ExternalIP, 0)
		a, err := netip.ParseAddr(nat.InternalIP)
		if err != nil {
			v.add(np+".internalIP", nat.InternalIP, "invalid IP address")
			continue
		}
		if !containsAddr(nets, a) {
			v.add(np+".internalIP", nat.InternalIP, "NAT is not in the endpoint networks")
		}
	}
	if s.IPv4Gateway != "" {
		v.ip("spec.ipv4Gateway", s.IPv4Gateway, 4)
	}
	if s.IPv6Gateway != "" {
		v.ip("spec.ipv6Gateway", s.IPv6Gateway, 6)
	}
	v.subdomains("spec.profiles", s.Profiles)
	v.mac("spec.mac", s.MAC)
	for i, p := range s.Ports {
		pp := fmt.Sprintf("spec.ports[%d]", i)
		if p.Name == "" && p.HostPort == 0 {
			v.add(pp+".name", "", "port name must be specified unless hostPort is set")
		}
		v.endpointPort(pp, p.Name, p.Protocol, p.Port, true)
		if p.HostIP != "" {
			v.ip(pp+".hostIP", p.HostIP, 0)
		}
	}
	for i, c := range s.AllowSpoofedSourcePrefixes {
		if _, err := netip.ParsePrefix(c); err != nil {
			v.add(fmt.Sprintf("spec.allowSpoofedSourcePrefixes[%d]", i), c, "invalid CIDR")
		}
	}
}

func containsAddr(nets []netip.Prefix, a netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

func (v *validator) profile(s *ProfileSpec) {
	if len(s.Ingress) > maxRules {
		v.add("spec.ingress", "", "at most 1024 rules are allowed")
	}
	if len(s.Egress) > maxRules {
		v.add("spec.egress", "", "at most 1024 rules are allowed")
	}
	for i := range s.Ingress {
		v.rule(fmt.Sprintf("spec.ingress[%d]", i), &s.Ingress[i], true, true)
	}
	for i := range s.Egress {
		v.rule(fmt.Sprintf("spec.egress[%d]", i), &s.Egress[i], false, true)
	}
	v.labels("spec.labelsToApply", s.LabelsToApply)
}

// networkSet validates docs/api.md §2.8: CIDRs or bare IPs, host bits allowed.
func (v *validator) networkSet(labels map[string]string, s *NetworkSetSpec) {
	if _, ok := labels[LabelNamespace]; ok {
		v.add("metadata.labels["+LabelNamespace+"]", labels[LabelNamespace],
			"projectcalico.org/namespace is not a valid label name")
	}
	for i, n := range s.Nets {
		if _, ok := looseCIDR(n); !ok {
			v.add(fmt.Sprintf("spec.nets[%d]", i), n, "invalid CIDR or IP address")
		}
	}
}

// node validates a Calico Node (docs/api.md §2.9).
func (v *validator) node(s *NodeSpec) {
	if b := s.BGP; b != nil {
		if *b == (NodeBGPSpec{}) {
			v.add("spec.bgp", "", "Spec.BGP should not be empty")
		}
		v.nodeCIDR("spec.bgp.ipv4Address", b.IPv4Address, 4)
		v.nodeCIDR("spec.bgp.ipv6Address", b.IPv6Address, 6)
		if b.IPv4IPIPTunnelAddr != "" {
			v.ip("spec.bgp.ipv4IPIPTunnelAddr", b.IPv4IPIPTunnelAddr, 4)
		}
		if b.RouteReflectorClusterID != "" {
			v.ip("spec.bgp.routeReflectorClusterID", b.RouteReflectorClusterID, 4)
		}
	}
	if s.IPv4VXLANTunnelAddr != "" {
		v.ip("spec.ipv4VXLANTunnelAddr", s.IPv4VXLANTunnelAddr, 4)
	}
	if s.IPv6VXLANTunnelAddr != "" {
		v.ip("spec.ipv6VXLANTunnelAddr", s.IPv6VXLANTunnelAddr, 6)
	}
	v.mac("spec.vxlanTunnelMACAddr", s.VXLANTunnelMACAddr)
	v.mac("spec.vxlanTunnelMACAddrV6", s.VXLANTunnelMACAddrV6)
	if w := s.Wireguard; w != nil {
		if w.InterfaceIPv4Address != "" {
			v.ip("spec.wireguard.interfaceIPv4Address", w.InterfaceIPv4Address, 4)
		}
		if w.InterfaceIPv6Address != "" {
			v.ip("spec.wireguard.interfaceIPv6Address", w.InterfaceIPv6Address, 6)
		}
	}
	for i, r := range s.OrchRefs {
		if r.Orchestrator == "" {
			v.add(fmt.Sprintf("spec.orchRefs[%d].orchestrator", i), "", "orchestrator must be specified")
		}
	}
	v.nodeAddresses(s)
}

func (v *validator) nodeAddresses(s *NodeSpec) {
	for i, a := range s.Addresses {
		ap := fmt.Sprintf("spec.addresses[%d]", i)
		if _, ok := looseCIDR(a.Address); !ok {
			v.add(ap+".address", a.Address, "invalid IP address or CIDR")
		}
		v.oneOf(ap+".type", a.Type, false, NodeAddressCalicoNodeIP, NodeAddressInternalIP, NodeAddressExternalIP)
	}
	for i, itf := range s.Interfaces {
		ip := fmt.Sprintf("spec.interfaces[%d]", i)
		if itf.Name == "" {
			v.add(ip+".name", "", "interface name must be specified")
		}
		for j, a := range itf.Addresses {
			if _, ok := looseCIDR(a); !ok {
				v.add(fmt.Sprintf("%s.addresses[%d]", ip, j), a, "invalid IP address or CIDR")
			}
		}
	}
}

// nodeCIDR checks a node BGP address: CIDR (host bits allowed) or IP of the
// given family.
func (v *validator) nodeCIDR(path, s string, family int) {
	if s == "" {
		return
	}
	p, ok := looseCIDR(s)
	switch {
	case !ok:
		v.add(path, s, "invalid CIDR")
	case ipFamily(p.Addr()) != family:
		v.add(path, s, fmt.Sprintf("must be an IPv%d address", family))
	}
}

func (v *validator) mac(path, s string) {
	if _, err := net.ParseMAC(s); s != "" && err != nil {
		v.add(path, s, "invalid MAC address")
	}
}
