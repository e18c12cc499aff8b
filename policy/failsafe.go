package policy

import (
	"fmt"
	"net/netip"
)

// failsafe checks the node's failsafe lists for a host endpoint evaluation
// (§5.3, §5.4). Inbound entries match the destination port (and the source
// in their net); outbound entries the destination port (and the
// destination). In the raw stage each list is also applied in reverse, so
// replies of failsafe connections are not dropped by untracked policy.
func (e *evaluator) failsafe(d Direction, k StageKind, pkt packet) (string, bool) {
	if pkt.proto != protoTCP && pkt.proto != protoUDP {
		return "", false
	}
	fs := &e.node.Felix
	if d == Ingress {
		if f, ok := findFailsafe(fs.FailsafeIn, pkt.proto, pkt.dport, pkt.src); ok {
			return "inbound " + f.String(), true
		}
		if k == StageUntracked {
			if f, ok := findFailsafe(fs.FailsafeOut, pkt.proto, pkt.sport, pkt.src); ok {
				return fmt.Sprintf("outbound %s in reverse (reply)", f), true
			}
		}
		return "", false
	}
	if f, ok := findFailsafe(fs.FailsafeOut, pkt.proto, pkt.dport, pkt.dst); ok {
		return "outbound " + f.String(), true
	}
	if k == StageUntracked {
		if f, ok := findFailsafe(fs.FailsafeIn, pkt.proto, pkt.sport, pkt.dst); ok {
			return fmt.Sprintf("inbound %s in reverse (reply)", f), true
		}
	}
	return "", false
}

// findFailsafe: an entry with a net matches only in that net's family, so
// 0.0.0.0/0 removes the IPv6 failsafe for the port (errata §5.2 item 3).
func findFailsafe(list []Failsafe, proto uint8, port uint16, peer netip.Addr) (Failsafe, bool) {
	for _, f := range list {
		if f.Proto != proto || f.Port != port {
			continue
		}
		if f.Net.IsValid() && !f.Net.Contains(peer) {
			continue
		}
		return f, true
	}
	return Failsafe{}, false
}
