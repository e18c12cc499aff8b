package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Direction is ingress or egress from an endpoint's point of view.
type Direction uint8

// Directions.
const (
	Ingress Direction = iota
	Egress
)

func (d Direction) String() string {
	if d == Ingress {
		return "ingress"
	}
	return "egress"
}

// PeerKind says what kind of thing a flow's end is.
type PeerKind uint8

// Peer kinds.
const (
	PeerWorkload PeerKind = iota + 1 // a pod
	PeerHost                         // a node's own processes
	PeerExternal                     // an address outside the cluster
)

// Peer is one end of a flow.
type Peer struct {
	Kind     PeerKind
	Workload *Workload
	Node     *Node
	IP       netip.Addr // set for external peers, and when the user gave an address
}

// String prints the peer the way matrix and explain name it.
func (p Peer) String() string {
	switch p.Kind {
	case PeerWorkload:
		return p.Workload.Key()
	case PeerHost:
		if p.IP.IsValid() {
			return p.IP.String()
		}
		return "node:" + p.Node.Name
	}
	return p.IP.String()
}

// ResolvePeer turns "NAMESPACE/POD", "node:NAME" or an IP address into a
// Peer. An address that belongs to a pod or a node resolves to it.
func (m *Model) ResolvePeer(s string) (Peer, error) {
	switch {
	case strings.HasPrefix(s, "node:"):
		n, ok := m.Nodes[strings.TrimPrefix(s, "node:")]
		if !ok {
			return Peer{}, fmt.Errorf("no node named %q in the input", strings.TrimPrefix(s, "node:"))
		}
		return Peer{Kind: PeerHost, Node: n}, nil
	case strings.Contains(s, "/") && !strings.Contains(s, ":") && !looksLikeCIDR(s):
		ns, name, _ := strings.Cut(s, "/")
		w := m.Workload(ns, name)
		if w == nil {
			return Peer{}, fmt.Errorf("no pod %s in the input", s)
		}
		if len(w.IPs) == 0 {
			return Peer{}, fmt.Errorf("pod %s %w", s, errNoAddress)
		}
		return Peer{Kind: PeerWorkload, Workload: w}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Peer{}, fmt.Errorf("%q is not NAMESPACE/POD, node:NAME or an IP address", s)
	}
	a = a.Unmap()
	if w := m.workloadByIP(a); w != nil {
		return Peer{Kind: PeerWorkload, Workload: w, IP: a}, nil
	}
	if n := m.nodeByIP(a); n != nil {
		return Peer{Kind: PeerHost, Node: n, IP: a}, nil
	}
	return Peer{Kind: PeerExternal, IP: a}, nil
}

func looksLikeCIDR(s string) bool {
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// Flow is a new connection (or a packet of an established one) to judge.
type Flow struct {
	Src, Dst Peer
	Proto    uint8
	Port     uint16 // destination port for TCP, UDP and SCTP
	SrcPort  uint16 // 0 means DefaultSrcPort
	ICMPType int    // -1 means echo request
	ICMPCode int    // -1 means any code
	// Family selects IPv4 (4) or IPv6 (6) when a peer has both; 0 picks
	// IPv4 unless an explicit address says otherwise.
	Family      int
	Established bool
}

// DefaultSrcPort is the client port used for flows that do not name one: a
// port from Linux's default ephemeral range.
const DefaultSrcPort = 40000

// ParsePortProto parses "PORT/PROTO" (PROTO one of TCP, UDP, SCTP, ICMP,
// ICMPv6, any case). For ICMP the number is the ICMP type (0 or 8 mean echo).
func ParsePortProto(s string) (proto uint8, port uint16, err error) {
	ps, pr, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("port %q: want PORT/PROTO, e.g. 80/TCP", s)
	}
	n, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("port %q: %q is not a port number 0-65535", s, ps)
	}
	switch strings.ToUpper(pr) {
	case "TCP":
		proto = protoTCP
	case "UDP":
		proto = protoUDP
	case "SCTP":
		proto = protoSCTP
	case "ICMP":
		proto = protoICMP
	case "ICMPV6":
		proto = protoICMPv6
	default:
		return 0, 0, fmt.Errorf("port %q: protocol %q is not TCP, UDP, SCTP, ICMP or ICMPv6", s, pr)
	}
	if (proto == protoTCP || proto == protoUDP || proto == protoSCTP) && n == 0 {
		return 0, 0, fmt.Errorf("port %q: port must be 1-65535", s)
	}
	return proto, uint16(n), nil
}

// NewFlow builds a flow from parsed peers and "PORT/PROTO".
func NewFlow(src, dst Peer, portProto string) (Flow, error) {
	proto, port, err := ParsePortProto(portProto)
	if err != nil {
		return Flow{}, err
	}
	f := Flow{Src: src, Dst: dst, Proto: proto, Port: port, ICMPType: -1, ICMPCode: -1}
	if proto == protoICMP || proto == protoICMPv6 {
		f.Port = 0
		if port != 0 && port != 8 && port != 128 {
			f.ICMPType = int(port)
		}
		if proto == protoICMPv6 {
			f.Family = 6
		}
	}
	return f, nil
}

// ProtoName names a protocol number.
func ProtoName(p uint8) string {
	switch p {
	case protoTCP:
		return "TCP"
	case protoUDP:
		return "UDP"
	case protoSCTP:
		return "SCTP"
	case protoICMP:
		return "ICMP"
	case protoICMPv6:
		return "ICMPv6"
	}
	return strconv.Itoa(int(p))
}
