package policy

import (
	"net/netip"

	"github.com/palisade-net/palisade/selector"
)

// ctState is the conntrack state of a packet at one node.
type ctState uint8

const (
	ctNew ctState = iota
	ctEstablished
	ctInvalid
)

// packet is what the stages look at.
type packet struct {
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16
	icmpType     int // -1 when not ICMP
	icmpCode     int
}

func (p packet) carriesPorts() bool {
	return p.proto == protoTCP || p.proto == protoUDP || p.proto == protoSCTP
}

func (p packet) reversed() packet {
	r := p
	r.src, r.dst = p.dst, p.src
	r.sport, r.dport = p.dport, p.sport
	switch {
	case p.proto == protoICMP && p.icmpType == 8:
		r.icmpType = 0
	case p.proto == protoICMPv6 && p.icmpType == 128:
		r.icmpType = 129
	}
	return r
}

// matchRule reports whether r matches pkt (§8).
func (m *Model) matchRule(r *Rule, pkt packet) bool {
	if pkt.src.Is4() && !r.v4 || pkt.src.Is6() && !r.v6 {
		return false
	}
	if r.Protocol != 0 && pkt.proto != r.Protocol {
		return false
	}
	if r.NotProtocol != 0 && pkt.proto == r.NotProtocol {
		return false
	}
	if r.ICMP != nil && !icmpMatches(r.ICMP, pkt) {
		return false
	}
	if r.NotICMP != nil && icmpMatches(r.NotICMP, pkt) {
		return false
	}
	return m.sideMatches(&r.Src, pkt.src, pkt.sport, pkt) && m.sideMatches(&r.Dst, pkt.dst, pkt.dport, pkt)
}

func icmpMatches(im *ICMPMatch, pkt packet) bool {
	if pkt.proto != protoICMP && pkt.proto != protoICMPv6 {
		return false
	}
	if pkt.icmpType != int(im.Type) {
		return false
	}
	return im.Code == nil || pkt.icmpCode == int(*im.Code)
}

func (m *Model) sideMatches(s *Side, ip netip.Addr, port uint16, pkt packet) bool {
	if len(s.Nets) > 0 && !anyContains(s.Nets, ip) {
		return false
	}
	if len(s.NotNets) > 0 && anyContains(s.NotNets, ip) {
		return false
	}
	if !m.selectorsMatch(s, ip) {
		return false
	}
	if len(s.Ports) > 0 || len(s.NamedPorts) > 0 {
		if !pkt.carriesPorts() || !m.portMatches(s.Ports, s.NamedPorts, s.Selector, ip, port, pkt.proto) {
			return false
		}
	}
	if len(s.NotPorts) > 0 || len(s.NotNamedPorts) > 0 {
		if !pkt.carriesPorts() || m.portMatches(s.NotPorts, s.NotNamedPorts, s.Selector, ip, port, pkt.proto) {
			return false
		}
	}
	return true
}

func anyContains(nets []netip.Prefix, ip netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// selectorsMatch resolves the side's selectors to the addresses of the
// endpoints and network sets they select (§8.5 items 4 and 5). A positive
// selector and a notSelector are folded per owner; a lone notSelector is an
// "address not in the set" match, which also matches unknown addresses.
func (m *Model) selectorsMatch(s *Side, ip netip.Addr) bool {
	if s.Selector == nil && s.NotSelector == nil {
		return true
	}
	if s.Selector == nil {
		return !m.forEachOwner(ip, func(o *ipOwner) bool { return s.NotSelector.Matches(o.labels) })
	}
	return m.forEachOwner(ip, func(o *ipOwner) bool {
		return s.Selector.Matches(o.labels) && (s.NotSelector == nil || !s.NotSelector.Matches(o.labels))
	})
}

// portMatches: numeric ranges, or a named port of an endpoint that owns ip,
// has that port name with the packet's protocol and port, and matches the
// side's positive selector if any (§8.4).
func (m *Model) portMatches(ranges []PortRange, names []string, sel *selector.Selector, ip netip.Addr, port uint16, proto uint8) bool {
	for _, r := range ranges {
		if r.contains(port) {
			return true
		}
	}
	if len(names) == 0 {
		return false
	}
	for _, i := range m.idx.byAddr[ip] {
		o := &m.owners[i]
		if sel != nil && !sel.Matches(o.labels) {
			continue
		}
		for _, np := range o.ports {
			if np.Proto == proto && np.Port == port && contains(names, np.Name) {
				return true
			}
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
