package render

import (
	"net/netip"
	"strings"
)

// Match evaluation for the tracer, with nft's implicit dependencies: an
// ip/ip6 address match fails for the other family even when negated, and
// an icmp/icmpv6 match fails for other protocols.

func (t *tracer) matchAll(ms []Match) bool {
	for _, m := range ms {
		if !t.match(m) {
			return false
		}
	}
	return true
}

func (t *tracer) family() Family {
	if t.p.Src.Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

func (t *tracer) match(m Match) bool {
	p := &t.p
	switch x := m.(type) {
	case MatchIfname:
		name := p.Iif
		if x.Field == FieldOifname {
			name = p.Oif
		}
		return ifnameMatches(x.Name, name) != x.Negate
	case MatchNfproto:
		return t.family() == x.Family
	case MatchL4Proto:
		return t.protoIn(x, p.Proto) != x.Negate
	case MatchAddr:
		if t.family() != x.Family {
			return false
		}
		return t.addrIn(x, t.addr(x.Field)) != x.Negate
	case MatchPort:
		return t.portIn(x, t.port(x.Field)) != x.Negate
	case MatchAddrProtoPort:
		if t.family() != x.Family {
			return false
		}
		port := p.Sport
		if x.Field == FieldDaddr {
			port = p.Dport
		}
		return t.tupleIn(x.Set, Tuple{Addr: t.addr(x.Field), Proto: p.Proto, Port: port}) != x.Negate
	case MatchProtoPort:
		return t.tupleIn(x.Set, Tuple{Proto: p.Proto, Port: t.port(x.Field)}) != x.Negate
	case MatchICMP:
		return t.icmpMatches(x)
	case MatchCtState:
		st := p.CtState
		if st == "" {
			st = CtNew
		}
		in := false
		for _, s := range x.States {
			in = in || s == st
		}
		return in != x.Negate
	case MatchCtDNAT:
		if p.CtState == CtInvalid || p.CtState == CtUntracked {
			return false // no conntrack entry: a ct status match never matches
		}
		return p.CtDNAT != x.Negate
	case MatchMark:
		return (p.Mark&x.Mask == x.Value) != x.Negate
	}
	t.res.Err = errUnknownMatch
	return false
}

type traceError string

func (e traceError) Error() string { return string(e) }

const errUnknownMatch = traceError("trace: unknown match type")

func ifnameMatches(pattern, name string) bool {
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(name, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == name
}

func (t *tracer) addr(f Field) netip.Addr {
	if f == FieldSaddr {
		return t.p.Src
	}
	return t.p.Dst
}

func (t *tracer) port(f Field) uint16 {
	if f == FieldSport {
		return t.p.Sport
	}
	return t.p.Dport
}

func (t *tracer) addrIn(x MatchAddr, a netip.Addr) bool {
	if x.Set != "" {
		s := t.set(x.Set)
		return s != nil && s.Addrs.Contains(a)
	}
	for _, p := range x.Prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// set is the named set a match looks up; nil, with the trace's error
// set, when the ruleset has none of that name.
func (t *tracer) set(name string) *Set {
	s, ok := t.sets[name]
	if !ok {
		t.res.Err = traceError("trace: no set " + name)
		return nil
	}
	return s
}

// protoIn looks the protocol up where the kernel does: in the match's
// list set when it names one.
func (t *tracer) protoIn(x MatchL4Proto, proto uint8) bool {
	if x.Set == "" {
		return containsProto(x.Protos, proto)
	}
	s := t.set(x.Set)
	return s != nil && containsProto(s.Protos, proto)
}

// portIn looks the port up where the kernel does: in the match's list
// set when it names one.
func (t *tracer) portIn(x MatchPort, port uint16) bool {
	if x.Set == "" {
		return portIn(x.Ranges, port)
	}
	s := t.set(x.Set)
	return s != nil && portIn(s.Ports, port)
}

func portIn(rs []PortRange, port uint16) bool {
	for _, r := range rs {
		if port >= r.Lo && port <= r.Hi {
			return true
		}
	}
	return false
}

func (t *tracer) tupleIn(set string, want Tuple) bool {
	s := t.set(set)
	if s == nil {
		return false
	}
	for _, e := range s.Tuples {
		if e == want {
			return true
		}
	}
	return false
}

func (t *tracer) icmpMatches(x MatchICMP) bool {
	want := uint8(1)
	if x.Family == FamilyIPv6 {
		want = 58
	}
	if t.p.Proto != want {
		return false
	}
	inTypes := false
	for _, ty := range x.Types {
		inTypes = inTypes || ty == t.p.ICMPType
	}
	if x.Code == nil {
		return inTypes != x.Negate
	}
	return inTypes && ((t.p.ICMPCode == *x.Code) != x.Negate)
}
