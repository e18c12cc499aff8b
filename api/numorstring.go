package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Protocol is a rule or port protocol: a name (TCP, UDP, ICMP, ICMPv6, SCTP,
// UDPLite) or a number 1-255. A quoted number counts as a number.
type Protocol struct {
	Name string // set when written as a name; exactly as written
	Num  int    // set when written as a number
}

// ProtocolFromString builds a Protocol the way the JSON decoder would.
func ProtocolFromString(s string) Protocol {
	if n, err := strconv.Atoi(s); err == nil {
		return Protocol{Num: n}
	}
	return Protocol{Name: s}
}

// ProtocolFromInt builds a numeric Protocol.
func ProtocolFromInt(n int) Protocol { return Protocol{Num: n} }

// IsNumeric reports whether the protocol was given as a number.
func (p Protocol) IsNumeric() bool { return p.Name == "" }

// String returns the name as written, or the number.
func (p Protocol) String() string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(p.Num)
}

// Number returns the IANA protocol number, or 0 for an unknown name.
func (p Protocol) Number() int {
	if p.Name == "" {
		return p.Num
	}
	switch strings.ToLower(p.Name) {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "icmp":
		return 1
	case "icmpv6":
		return 58
	case "sctp":
		return 132
	case "udplite":
		return 136
	}
	return 0
}

// SupportsPorts reports whether rules with this protocol may carry ports.
func (p Protocol) SupportsPorts() bool {
	switch p.Number() {
	case 6, 17, 132:
		return true
	}
	return false
}

// MarshalJSON writes a number or a string.
func (p Protocol) MarshalJSON() ([]byte, error) {
	if p.Name == "" {
		return json.Marshal(p.Num)
	}
	return json.Marshal(p.Name)
}

// UnmarshalJSON reads a number or a string.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = ProtocolFromString(s)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("protocol must be a name or a number: %s", b)
	}
	*p = Protocol{Num: n}
	return nil
}

// Port is one entry of a rule's ports or notPorts: a single port, an
// inclusive range "min:max", or a named port.
type Port struct {
	MinPort uint16
	MaxPort uint16
	Name    string
}

// SinglePort returns a Port for one number.
func SinglePort(p uint16) Port { return Port{MinPort: p, MaxPort: p} }

// PortRange returns a Port for an inclusive range.
func PortRange(lo, hi uint16) Port { return Port{MinPort: lo, MaxPort: hi} }

// NamedPort returns a Port that refers to a named endpoint port.
func NamedPort(name string) Port { return Port{Name: name} }

// ParsePort parses the string form: digits, "min:max", or a name.
func ParsePort(s string) (Port, error) {
	if s == "" {
		return Port{}, fmt.Errorf("port must not be empty")
	}
	if isDigits(s) {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n > 65535 {
			return Port{}, fmt.Errorf("invalid port number (%s)", s)
		}
		return SinglePort(uint16(n)), nil
	}
	if lo, hi, ok := strings.Cut(s, ":"); ok && isDigits(lo) && isDigits(hi) {
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil || a > 65535 {
			return Port{}, fmt.Errorf("invalid minimum port number in range (%s)", s)
		}
		b, err := strconv.ParseUint(hi, 10, 32)
		if err != nil || b > 65535 {
			return Port{}, fmt.Errorf("invalid maximum port number in range (%s)", s)
		}
		if a > b {
			return Port{}, fmt.Errorf("minimum port number (%d) is greater than maximum port number (%d) in port range", a, b)
		}
		return PortRange(uint16(a), uint16(b)), nil
	}
	return NamedPort(s), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsNamed reports whether the port refers to a named port.
func (p Port) IsNamed() bool { return p.Name != "" }

// String returns the form the API serialises: the number, "min:max" or the name.
func (p Port) String() string {
	switch {
	case p.Name != "":
		return p.Name
	case p.MinPort == p.MaxPort:
		return strconv.Itoa(int(p.MinPort))
	default:
		return fmt.Sprintf("%d:%d", p.MinPort, p.MaxPort)
	}
}

// MarshalJSON writes a number for a single port, else a string.
func (p Port) MarshalJSON() ([]byte, error) {
	if p.Name == "" && p.MinPort == p.MaxPort {
		return json.Marshal(p.MinPort)
	}
	return json.Marshal(p.String())
}

// UnmarshalJSON reads a number or a string.
func (p *Port) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParsePort(s)
		if err != nil {
			return err
		}
		*p = v
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("port must be a number, a \"min:max\" range or a name: %s", b)
	}
	if n < 0 || n > 65535 {
		return fmt.Errorf("invalid port number (%d)", n)
	}
	*p = SinglePort(uint16(n))
	return nil
}
