package policy

import (
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// buildServices resolves every NodePort (and LoadBalancer) service port to
// the pods kube-proxy would DNAT it to: the ready endpoints of its
// EndpointSlices, or without slices the pods of the service's namespace
// whose labels match its selector, on the target port (a number, or a
// container port name resolved per pod).
func (b *builder) buildServices() {
	for _, s := range b.services {
		if s.Spec.Type != corev1.ServiceTypeNodePort && s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		out := &Service{Namespace: s.Namespace, Name: s.Name,
			Local: s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal}
		for _, sp := range s.Spec.Ports {
			if sp.NodePort == 0 {
				continue
			}
			port := ServicePort{Proto: k8sProto(sp.Protocol), NodePort: uint16(sp.NodePort)}
			port.Backends = b.backends(s, sp)
			out.Ports = append(out.Ports, port)
		}
		if len(out.Ports) > 0 {
			b.m.Services = append(b.m.Services, out)
		}
	}
}

// backends are the pods kube-proxy sends a service port's connections to:
// the ready endpoints of the service's EndpointSlices when it has any (the
// ones that are pods palisade knows), else the pods its selector selects.
func (b *builder) backends(s *corev1.Service, sp corev1.ServicePort) []Backend {
	if slices := b.slicesOf(s); len(slices) > 0 {
		return b.sliceBackends(slices, sp)
	}
	if len(s.Spec.Selector) == 0 {
		return nil
	}
	var out []Backend
	for _, w := range b.m.Workloads {
		if w.Namespace != s.Namespace || len(w.IPs) == 0 || !selects(s.Spec.Selector, w) {
			continue
		}
		if p, ok := targetPort(sp, w); ok {
			out = append(out, Backend{Workload: w, Port: p})
		}
	}
	return out
}

// slicesOf returns the EndpointSlices of a service (by their
// kubernetes.io/service-name label).
func (b *builder) slicesOf(s *corev1.Service) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, es := range b.slices {
		if es.Namespace == s.Namespace && es.Labels[discoveryv1.LabelServiceName] == s.Name {
			out = append(out, es)
		}
	}
	return out
}

// sliceBackends resolves a service port through EndpointSlices: the slice
// port of the same name and protocol, on every endpoint not known to be
// unready whose address is a workload's.
func (b *builder) sliceBackends(slices []*discoveryv1.EndpointSlice, sp corev1.ServicePort) []Backend {
	byIP := map[netip.Addr]*Workload{}
	for _, w := range b.m.Workloads {
		if w.Namespace != slices[0].Namespace {
			continue
		}
		for _, ip := range w.IPs {
			byIP[ip] = w
		}
	}
	proto := k8sProto(sp.Protocol)
	seen := map[Backend]bool{}
	var out []Backend
	for _, es := range slices {
		port, ok := slicePort(es, sp.Name, proto)
		if !ok {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if w := byIP[ip.Unmap()]; err == nil && w != nil && !seen[Backend{w, port}] {
					seen[Backend{w, port}] = true
					out = append(out, Backend{Workload: w, Port: port})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Workload.Key() < out[j].Workload.Key() })
	return out
}

func slicePort(es *discoveryv1.EndpointSlice, name string, proto uint8) (uint16, bool) {
	for _, p := range es.Ports {
		pn, pp := "", corev1.ProtocolTCP
		if p.Name != nil {
			pn = *p.Name
		}
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pn == name && k8sProto(pp) == proto && p.Port != nil {
			return uint16(*p.Port), true
		}
	}
	return 0, false
}

func selects(sel map[string]string, w *Workload) bool {
	for k, v := range sel {
		if got, ok := w.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func targetPort(sp corev1.ServicePort, w *Workload) (uint16, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		proto := k8sProto(sp.Protocol)
		for _, np := range w.Ports {
			if np.Name == tp.StrVal && np.Proto == proto {
				return np.Port, true
			}
		}
		return 0, false
	case tp.IntVal != 0:
		return uint16(tp.IntVal), true
	}
	return uint16(sp.Port), true
}

// nodePort finds the service port for proto/port, if any.
func (m *Model) nodePort(proto uint8, port uint16) (*Service, *ServicePort) {
	for _, s := range m.Services {
		for i := range s.Ports {
			if s.Ports[i].Proto == proto && s.Ports[i].NodePort == port {
				return s, &s.Ports[i]
			}
		}
	}
	return nil, nil
}
