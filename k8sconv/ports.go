package k8sconv

import (
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/palisade-net/palisade/api"
)

// protoGroup is the destination ports one protocol contributes to a rule.
// all means every port of the protocol; it absorbs any listed ports.
type protoGroup struct {
	proto string
	all   bool
	ports []api.Port
}

// groupPorts turns a Kubernetes rule's ports list into per-protocol groups,
// sorted by protocol name. An empty list yields one group with no protocol
// (any traffic). Entries that fail validation are reported and left out;
// the caller then drops the whole rule.
func groupPorts(ports []networkingv1.NetworkPolicyPort, path string, errs *fieldErrs) []protoGroup {
	if len(ports) == 0 {
		return []protoGroup{{all: true}}
	}
	byProto := map[string]*protoGroup{}
	for i, p := range ports {
		field := fmt.Sprintf("%s[%d]", path, i)
		proto, ok := portProtocol(p.Protocol, field, errs)
		port, hasPort, okPort := convertPort(p, field, errs)
		if !ok || !okPort {
			continue
		}
		g := byProto[proto]
		if g == nil {
			g = &protoGroup{proto: proto}
			byProto[proto] = g
		}
		switch {
		case !hasPort:
			g.all, g.ports = true, nil
		case !g.all:
			g.ports = append(g.ports, port)
		}
	}
	names := make([]string, 0, len(byProto))
	for name := range byProto {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]protoGroup, 0, len(names))
	for _, name := range names {
		g := byProto[name]
		g.ports = simplifyPorts(g.ports)
		out = append(out, *g)
	}
	return out
}

// portProtocol returns the protocol of a port entry: TCP when absent,
// otherwise one of the three protocols Kubernetes allows.
func portProtocol(p *corev1.Protocol, field string, errs *fieldErrs) (string, bool) {
	if p == nil {
		return string(corev1.ProtocolTCP), true
	}
	switch *p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return string(*p), true
	}
	errs.add(field+".protocol", string(*p), "supported values: \"SCTP\", \"TCP\", \"UDP\"")
	return "", false
}

// convertPort converts the port and endPort of one entry. hasPort is false
// when the entry names no port (all ports of its protocol).
func convertPort(p networkingv1.NetworkPolicyPort, field string, errs *fieldErrs) (port api.Port, hasPort, ok bool) {
	if p.Port == nil {
		if p.EndPort != nil {
			errs.add(field+".endPort", strconv.Itoa(int(*p.EndPort)), "may not be specified when `port` is not specified")
			return api.Port{}, false, false
		}
		return api.Port{}, false, true
	}
	num, named, ok := portValue(*p.Port, field+".port", errs)
	if !ok {
		return api.Port{}, true, false
	}
	if named != "" {
		if p.EndPort != nil {
			errs.add(field+".endPort", strconv.Itoa(int(*p.EndPort)), "may not be specified when `port` is a named port")
			return api.Port{}, true, false
		}
		return api.NamedPort(named), true, true
	}
	if p.EndPort == nil {
		return api.SinglePort(uint16(num)), true, true
	}
	end := int(*p.EndPort)
	if end < num || end > 65535 {
		errs.add(field+".endPort", strconv.Itoa(end), fmt.Sprintf("must be between port (%d) and 65535, inclusive", num))
		return api.Port{}, true, false
	}
	return api.PortRange(uint16(num), uint16(end)), true, true
}

// portValue reads a port that is a number or a name. A string made only of
// digits counts as a number, as it does in Calico's converter.
func portValue(v intstr.IntOrString, field string, errs *fieldErrs) (num int, name string, ok bool) {
	if v.Type == intstr.String {
		s := v.StrVal
		if n, err := strconv.Atoi(s); err == nil && isDigits(s) {
			return checkPortNumber(n, s, field, errs)
		}
		if reasons := validation.IsValidPortName(s); len(reasons) > 0 {
			errs.addAll(field, s, reasons)
			return 0, "", false
		}
		return 0, s, true
	}
	return checkPortNumber(int(v.IntVal), strconv.Itoa(int(v.IntVal)), field, errs)
}

func checkPortNumber(n int, raw, field string, errs *fieldErrs) (int, string, bool) {
	if n < 1 || n > 65535 {
		errs.add(field, raw, "must be between 1 and 65535, inclusive")
		return 0, "", false
	}
	return n, "", true
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

// simplifyPorts returns a minimal list of ranges covering the numeric ports,
// with named ports passed through, reproducing Calico's SimplifyPorts output
// exactly: when fewer than two numeric port numbers are covered, the input
// is returned unchanged; otherwise named ports come first (input order),
// then the merged numeric ranges in ascending order.
func simplifyPorts(ports []api.Port) []api.Port {
	if len(ports) <= 1 {
		return ports
	}
	var named, numeric []api.Port
	covered := 0
	for _, p := range ports {
		if p.IsNamed() {
			named = append(named, p)
			continue
		}
		numeric = append(numeric, p)
		covered += int(p.MaxPort) - int(p.MinPort) + 1
	}
	if covered <= 1 {
		return ports
	}
	slices.SortFunc(numeric, func(a, b api.Port) int { return int(a.MinPort) - int(b.MinPort) })
	out := named
	cur := numeric[0]
	for _, p := range numeric[1:] {
		if int(p.MinPort) <= int(cur.MaxPort)+1 {
			cur.MaxPort = max(cur.MaxPort, p.MaxPort)
			continue
		}
		out = append(out, cur)
		cur = p
	}
	return append(out, cur)
}
