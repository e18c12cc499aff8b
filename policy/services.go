package policy

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// buildServices resolves every NodePort (and LoadBalancer) service port to
// the pods kube-proxy would DNAT it to: the ready pods of the service's
// namespace whose labels match its selector, on the target port (a number,
// or a container port name resolved per pod).
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

func (b *builder) backends(s *corev1.Service, sp corev1.ServicePort) []Backend {
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
