package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Name resolution in the lab's pods: Kubernetes DNS is stood in for by a
// hosts file per pod namespace, in /etc/netns/<namespace>/ where `ip netns
// exec` (and so `palisade lab exec`) mounts it over /etc/hosts: every
// service's <svc>.<ns>.svc.cluster.local, <svc>.<ns>.svc and <svc>.<ns>
// names its cluster IP (or, without one, its pods, as for a headless
// service), and the pod's own namespace's services answer to
// their short names too, as a pod's resolv.conf search path makes them. A
// resolv.conf with no reachable server makes other names fail at once.

// netnsEtc is where ip netns exec finds a namespace's own /etc files.
var netnsEtc = "/etc/netns"

// labEtcMarker marks a directory of netnsEtc as the lab's.
const labEtcMarker = ".palisade-lab"

// serviceAddrs lists the topology's services and the addresses their
// names resolve to: the cluster IP, or for a service without one (the
// topology's services have none) its pods' addresses, as Kubernetes DNS
// answers for a headless service.
func (t *Topology) serviceAddrs() []svcAddrs {
	var pods []*corev1.Pod
	for _, o := range t.Objects {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	var out []svcAddrs
	for _, o := range t.Objects {
		s, ok := o.(*corev1.Service)
		if !ok {
			continue
		}
		sa := svcAddrs{ns: s.Namespace, name: s.Name}
		if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			sa.addrs = []string{ip}
		} else if len(s.Spec.Selector) > 0 {
			sel := labels.SelectorFromSet(s.Spec.Selector)
			for _, p := range pods {
				if p.Namespace == s.Namespace && sel.Matches(labels.Set(p.Labels)) && p.Status.PodIP != "" {
					sa.addrs = append(sa.addrs, p.Status.PodIP)
				}
			}
		}
		if len(sa.addrs) > 0 {
			out = append(out, sa)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ns+"/"+out[i].name < out[j].ns+"/"+out[j].name })
	return out
}

type svcAddrs struct {
	ns, name string
	addrs    []string
}

// HostsFor is the hosts file of a pod in namespace ns.
func (t *Topology) HostsFor(ns string) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, s := range t.serviceAddrs() {
		names := []string{s.name + "." + s.ns + ".svc.cluster.local", s.name + "." + s.ns + ".svc", s.name + "." + s.ns}
		if s.ns == ns {
			names = append(names, s.name)
		}
		for _, a := range s.addrs {
			fmt.Fprintf(&b, "%s\t%s\n", a, strings.Join(names, " "))
		}
	}
	return b.String()
}

// resolvFor is a pod's resolv.conf: Kubernetes' search path, and a server
// that refuses at once (names are in the hosts file).
func resolvFor(ns string) string {
	return fmt.Sprintf("search %s.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n", ns)
}

// writeNames writes every pod namespace's hosts and resolv.conf.
func (t *Topology) writeNames() error {
	for _, p := range t.Pods {
		dir := filepath.Join(netnsEtc, PodNS(p.Namespace, p.Name))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("lab: pod names: %w", err)
		}
		for name, data := range map[string]string{labEtcMarker: "", "hosts": t.HostsFor(p.Namespace), "resolv.conf": resolvFor(p.Namespace)} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				return fmt.Errorf("lab: pod names: %w", err)
			}
		}
	}
	return nil
}

// removeNames removes the lab's directories of netnsEtc for the given
// namespaces (only those the lab marked as its own).
func removeNames(namespaces []string) error {
	for _, n := range namespaces {
		dir := filepath.Join(netnsEtc, n)
		if _, err := os.Stat(filepath.Join(dir, labEtcMarker)); err != nil {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

// hasNames reports whether the namespace has the lab's name files.
func hasNames(ns string) bool {
	_, err := os.Stat(filepath.Join(netnsEtc, ns, labEtcMarker))
	return err == nil
}
