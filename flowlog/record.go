package flowlog

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-net/palisade/render"
)

// Verdicts of a record. A staged denial is what a staged policy would
// have denied: the packet was not dropped for it.
const (
	VerdictAllowed      = "allowed"
	VerdictDenied       = "denied"
	VerdictStagedDenied = "staged-denied"
)

// Record is one flow log line: a packet the kernel logged, and the
// decision that logged it.
type Record struct {
	Time         time.Time `json:"time"`
	Node         string    `json:"node"`
	Endpoint     string    `json:"endpoint,omitempty"`
	InInterface  string    `json:"inInterface,omitempty"`
	OutInterface string    `json:"outInterface,omitempty"`
	Direction    string    `json:"direction"`
	Proto        string    `json:"proto"`
	Src          string    `json:"src"`
	Dst          string    `json:"dst"`
	SrcPort      uint16    `json:"srcPort,omitempty"`
	DstPort      uint16    `json:"dstPort,omitempty"`
	ICMPType     *uint8    `json:"icmpType,omitempty"`
	ICMPCode     *uint8    `json:"icmpCode,omitempty"`
	Verdict      string    `json:"verdict"`
	Kind         string    `json:"kind"`
	Tier         string    `json:"tier,omitempty"`
	Policy       string    `json:"policy,omitempty"`
	Rule         *int      `json:"rule,omitempty"`
	Action       string    `json:"action"`
	Counter      string    `json:"counter"`
}

// Packet is what was read of one logged packet's headers.
type Packet struct {
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	ICMP             bool
	ICMPType         uint8
	ICMPCode         uint8
}

// ErrShort is returned for a payload too short for its headers.
type ErrShort struct{ What string }

func (e *ErrShort) Error() string { return "flowlog: payload too short for the " + e.What }

// ParsePacket reads an IPv4 or IPv6 packet's addresses, protocol and
// ports (TCP, UDP, SCTP) or ICMP type and code. IPv6 extension headers
// are not walked: the protocol is then the first next-header value.
func ParsePacket(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 1 {
		return p, &ErrShort{"IP header"}
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return p, &ErrShort{"IPv4 header"}
		}
		ihl := int(b[0]&0x0f) * 4
		p.Proto = b[9]
		p.Src = netip.AddrFrom4([4]byte(b[12:16]))
		p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		if ihl >= 20 && len(b) >= ihl {
			l4 = b[ihl:]
		}
	case 6:
		if len(b) < 40 {
			return p, &ErrShort{"IPv6 header"}
		}
		p.Proto = b[6]
		p.Src = netip.AddrFrom16([16]byte(b[8:24]))
		p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		l4 = b[40:]
	default:
		return p, fmt.Errorf("flowlog: IP version %d", b[0]>>4)
	}
	switch p.Proto {
	case 6, 17, 132:
		if len(l4) >= 4 {
			p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
			p.DstPort = binary.BigEndian.Uint16(l4[2:4])
		}
	case 1, 58:
		if len(l4) >= 2 {
			p.ICMP, p.ICMPType, p.ICMPCode = true, l4[0], l4[1]
		}
	}
	return p, nil
}

// ProtoName names an IP protocol as policies do.
func ProtoName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

// NewRecord makes a record of a packet logged by the decision key (its
// counter's name counter).
func NewRecord(t time.Time, node string, p Packet, key render.CounterKey, counter string) Record {
	r := Record{Time: t, Node: node, Direction: key.Direction, Proto: ProtoName(p.Proto),
		Src: p.Src.String(), Dst: p.Dst.String(), SrcPort: p.SrcPort, DstPort: p.DstPort,
		Kind: key.Kind, Tier: key.Tier, Policy: key.Policy, Action: key.Action, Counter: counter}
	if p.ICMP {
		t, c := p.ICMPType, p.ICMPCode
		r.ICMPType, r.ICMPCode = &t, &c
	}
	if key.Rule >= 0 {
		n := key.Rule
		r.Rule = &n
	}
	switch {
	case strings.HasPrefix(key.Kind, "staged-"):
		r.Verdict = VerdictStagedDenied
	case key.Action == "Allow":
		r.Verdict = VerdictAllowed
	default:
		r.Verdict = VerdictDenied
	}
	return r
}

// Decision describes the record's deciding rule as explain does.
func (r Record) Decision() string {
	k := render.CounterKey{Kind: r.Kind, Direction: r.Direction, Tier: r.Tier, Policy: r.Policy, Rule: -1, Action: r.Action}
	if r.Rule != nil {
		k.Rule = *r.Rule
	}
	return k.String()
}

// Text is the record as one line for people, like `hubble observe`.
func (r Record) Text() string {
	var b strings.Builder
	b.WriteString(r.Time.Local().Format("Jan _2 15:04:05.000"))
	fmt.Fprintf(&b, " %s: %s -> %s %s", r.Node, hostPort(r.Src, r.SrcPort), hostPort(r.Dst, r.DstPort), r.Proto)
	if r.ICMPType != nil {
		fmt.Fprintf(&b, " type %d code %d", *r.ICMPType, *r.ICMPCode)
	}
	fmt.Fprintf(&b, " %s", strings.ToUpper(r.Verdict))
	if r.Endpoint != "" {
		fmt.Fprintf(&b, " at %s", r.Endpoint)
	}
	fmt.Fprintf(&b, " (%s)", r.Decision())
	return b.String()
}

func hostPort(a string, port uint16) string {
	if port == 0 {
		return a
	}
	if strings.Contains(a, ":") {
		return "[" + a + "]:" + strconv.Itoa(int(port))
	}
	return a + ":" + strconv.Itoa(int(port))
}
