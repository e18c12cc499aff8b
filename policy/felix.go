package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/palisade-net/palisade/api"
)

// Failsafe is one failsafe entry (§5).
type Failsafe struct {
	Proto uint8
	Port  uint16
	Net   netip.Prefix // invalid = any address, both families
}

func (f Failsafe) String() string {
	p := "tcp"
	if f.Proto == protoUDP {
		p = "udp"
	}
	if f.Net.IsValid() {
		return fmt.Sprintf("%s:%s:%d", p, f.Net, f.Port)
	}
	return fmt.Sprintf("%s:%d", p, f.Port)
}

// EndpointToHost is the DefaultEndpointToHostAction setting (§10).
type EndpointToHost uint8

// DefaultEndpointToHostAction values.
const (
	EndpointToHostDrop EndpointToHost = iota
	EndpointToHostAccept
	EndpointToHostReturn
)

func (e EndpointToHost) String() string {
	return [...]string{"Drop", "Accept", "Return"}[e]
}

// FelixSettings are the Felix settings that change a verdict.
type FelixSettings struct {
	FailsafeIn        []Failsafe
	FailsafeOut       []Failsafe
	EndpointToHost    EndpointToHost
	InterfacePrefixes []string
	InvalidCheckOff   bool
	FlowLogs          FlowLogSettings
}

// FlowLogMode says which verdicts the kernel sends to the flow log.
type FlowLogMode uint8

// Flow log modes (FelixConfiguration spec.flowLogs).
const (
	FlowLogsDisabled FlowLogMode = iota
	FlowLogsDenied               // denied flows
	FlowLogsAll                  // denied flows and allowed new connections
)

// FlowLogSettings are the node's flow log settings: the mode and the
// kernel's rate limit (packets per second and burst, for the whole node).
type FlowLogSettings struct {
	Mode        FlowLogMode
	Rate, Burst int
}

// Flow log rate limit defaults.
const (
	DefaultFlowLogRate  = 100
	DefaultFlowLogBurst = 200
)

const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

func tcp(p uint16) Failsafe { return Failsafe{Proto: protoTCP, Port: p} }
func udp(p uint16) Failsafe { return Failsafe{Proto: protoUDP, Port: p} }

// DefaultFelixSettings are Felix's defaults (§5.1, §10).
func DefaultFelixSettings() FelixSettings {
	return FelixSettings{
		FailsafeIn: []Failsafe{tcp(22), udp(68), tcp(179), tcp(2379), tcp(2380),
			tcp(5473), tcp(6443), tcp(6666), tcp(6667)},
		FailsafeOut: []Failsafe{udp(53), udp(67), tcp(179), tcp(2379), tcp(2380),
			tcp(5473), tcp(6443), tcp(6666), tcp(6667)},
		EndpointToHost:    EndpointToHostDrop,
		InterfacePrefixes: []string{"cali"},
		FlowLogs:          FlowLogSettings{Rate: DefaultFlowLogRate, Burst: DefaultFlowLogBurst},
	}
}

// overlay applies one FelixConfiguration's set fields (global "default",
// then "node.<name>" field by field).
func (s *FelixSettings) overlay(fc *api.FelixConfiguration) error {
	sp := &fc.Spec
	var err error
	if sp.FailsafeInboundHostPorts != nil {
		if s.FailsafeIn, err = failsafes(*sp.FailsafeInboundHostPorts); err != nil {
			return fmt.Errorf("spec.failsafeInboundHostPorts: %w", err)
		}
	}
	if sp.FailsafeOutboundHostPorts != nil {
		if s.FailsafeOut, err = failsafes(*sp.FailsafeOutboundHostPorts); err != nil {
			return fmt.Errorf("spec.failsafeOutboundHostPorts: %w", err)
		}
	}
	switch strings.ToLower(sp.DefaultEndpointToHostAction) {
	case "":
	case "drop":
		s.EndpointToHost = EndpointToHostDrop
	case "accept":
		s.EndpointToHost = EndpointToHostAccept
	case "return":
		s.EndpointToHost = EndpointToHostReturn
	default:
		return fmt.Errorf("spec.defaultEndpointToHostAction: %q is not Drop, Accept or Return", sp.DefaultEndpointToHostAction)
	}
	if sp.InterfacePrefix != "" {
		s.InterfacePrefixes = nil
		for _, p := range strings.Split(sp.InterfacePrefix, ",") {
			if p = strings.TrimSpace(p); p != "" {
				s.InterfacePrefixes = append(s.InterfacePrefixes, p)
			}
		}
	}
	if sp.DisableConntrackInvalidCheck != nil {
		s.InvalidCheckOff = *sp.DisableConntrackInvalidCheck
	}
	switch sp.FlowLogs {
	case "":
	case "Disabled":
		s.FlowLogs.Mode = FlowLogsDisabled
	case "Denied":
		s.FlowLogs.Mode = FlowLogsDenied
	case "All":
		s.FlowLogs.Mode = FlowLogsAll
	default:
		return fmt.Errorf("spec.flowLogs: %q is not Disabled, Denied or All", sp.FlowLogs)
	}
	if sp.FlowLogsRateLimit != nil {
		s.FlowLogs.Rate = *sp.FlowLogsRateLimit
	}
	if sp.FlowLogsRateLimitBurst != nil {
		s.FlowLogs.Burst = *sp.FlowLogsRateLimitBurst
	}
	return nil
}

// failsafes converts resource entries; only TCP and UDP are accepted
// (decision 3, §5.2).
func failsafes(in []api.ProtoPort) ([]Failsafe, error) {
	out := make([]Failsafe, 0, len(in))
	for i, e := range in {
		var f Failsafe
		switch strings.ToLower(e.Protocol) {
		case "tcp", "":
			f.Proto = protoTCP
		case "udp":
			f.Proto = protoUDP
		default:
			return nil, fmt.Errorf("[%d].protocol: %q is not TCP or UDP (failsafes accept tcp and udp only)", i, e.Protocol)
		}
		f.Port = e.Port
		if e.Net != "" {
			p, err := ParsePrefixLenient(e.Net)
			if err != nil {
				return nil, fmt.Errorf("[%d].net: %w", i, err)
			}
			f.Net = p
		}
		out = append(out, f)
	}
	return out, nil
}

// isWorkloadInterface reports whether name starts with a workload prefix.
func (s *FelixSettings) isWorkloadInterface(name string) bool {
	for _, p := range s.InterfacePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
