package autohep

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-net/palisade/api"
)

// NodeInfo is what the controller knows about one node.
type NodeInfo struct {
	Name   string
	Labels map[string]string
	// BGPv4 and BGPv6 are as in spec.bgp: a CIDR (host bits set) or an address.
	BGPv4, BGPv6   string
	IPIPTunnelAddr string
	VXLANv4        string
	VXLANv6        string
	WireguardV4    string
	WireguardV6    string
	// InternalIPs are the node's InternalIP addresses (never ExternalIP).
	InternalIPs []string
	Interfaces  []api.NodeInterface
}

// Annotations on a Kubernetes Node that carry the Calico node spec in the
// Kubernetes datastore (libcalico-go/lib/backend/k8s/resources/node.go).
const (
	AnnotationIPv4Address       = "projectcalico.org/IPv4Address"
	AnnotationIPv6Address       = "projectcalico.org/IPv6Address"
	AnnotationIPv4IPIPTunnel    = "projectcalico.org/IPv4IPIPTunnelAddr"
	AnnotationIPv4VXLANTunnel   = "projectcalico.org/IPv4VXLANTunnelAddr"
	AnnotationIPv6VXLANTunnel   = "projectcalico.org/IPv6VXLANTunnelAddr"
	AnnotationIPv4WireguardAddr = "projectcalico.org/IPv4WireguardInterfaceAddr"
	AnnotationIPv6WireguardAddr = "projectcalico.org/IPv6WireguardInterfaceAddr"
	AnnotationInterfaces        = "projectcalico.org/Interfaces"
	// AnnotationMetadata holds the Calico-only metadata (labels) as JSON.
	AnnotationMetadata = "projectcalico.org/metadata"
)

// FromCalicoNode extracts the controller's inputs from a Calico Node.
func FromCalicoNode(n *api.Node) NodeInfo {
	info := NodeInfo{
		Name:       n.Name,
		Labels:     maps.Clone(n.Labels),
		VXLANv4:    n.Spec.IPv4VXLANTunnelAddr,
		VXLANv6:    n.Spec.IPv6VXLANTunnelAddr,
		Interfaces: cloneInterfaces(n.Spec.Interfaces),
	}
	if b := n.Spec.BGP; b != nil {
		info.BGPv4, info.BGPv6, info.IPIPTunnelAddr = b.IPv4Address, b.IPv6Address, b.IPv4IPIPTunnelAddr
	}
	if w := n.Spec.Wireguard; w != nil {
		info.WireguardV4, info.WireguardV6 = w.InterfaceIPv4Address, w.InterfaceIPv6Address
	}
	for _, a := range n.Spec.Addresses {
		if a.Type == api.NodeAddressInternalIP {
			info.InternalIPs = append(info.InternalIPs, a.Address)
		}
	}
	return info
}

// FromKubernetesNode extracts the controller's inputs from a Kubernetes Node
// the way Calico's Kubernetes datastore derives a Calico Node from it:
// labels are the Calico-only labels (from the projectcalico.org/metadata
// annotation) overlaid by the Kubernetes labels; addresses come from the
// projectcalico.org/* annotations (values of the wrong IP family or that do
// not parse are ignored, as Calico ignores them) and InternalIP entries of
// status.addresses. ExternalIP entries are not used.
func FromKubernetesNode(n *corev1.Node) NodeInfo {
	ann := n.Annotations
	info := NodeInfo{
		Name:           n.Name,
		Labels:         kubernetesLabels(n),
		BGPv4:          familyOnly(ann[AnnotationIPv4Address], true),
		BGPv6:          familyOnly(ann[AnnotationIPv6Address], false),
		IPIPTunnelAddr: familyOnly(ann[AnnotationIPv4IPIPTunnel], true),
		VXLANv4:        familyOnly(ann[AnnotationIPv4VXLANTunnel], true),
		VXLANv6:        familyOnly(ann[AnnotationIPv6VXLANTunnel], false),
		WireguardV4:    familyOnly(ann[AnnotationIPv4WireguardAddr], true),
		WireguardV6:    familyOnly(ann[AnnotationIPv6WireguardAddr], false),
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			info.InternalIPs = append(info.InternalIPs, a.Address)
		}
	}
	if raw := ann[AnnotationInterfaces]; raw != "" {
		var ifaces []api.NodeInterface
		if json.Unmarshal([]byte(raw), &ifaces) == nil {
			info.Interfaces = ifaces
		}
	}
	return info
}

// kubernetesLabels merges Calico-only labels with the Kubernetes labels;
// the Kubernetes labels win (docs/api.md §2.9).
func kubernetesLabels(n *corev1.Node) map[string]string {
	var meta struct {
		Labels map[string]string `json:"labels"`
	}
	if raw := n.Annotations[AnnotationMetadata]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &meta) // unreadable: no Calico-only labels
	}
	if len(meta.Labels) == 0 && len(n.Labels) == 0 {
		return nil
	}
	out := maps.Clone(meta.Labels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, n.Labels)
	return out
}

// familyOnly returns s if it is an address or CIDR of the wanted family,
// else "".
func familyOnly(s string, v4 bool) string {
	a, ok := parseAddr(s)
	if !ok || a.Is4() != v4 {
		return ""
	}
	return s
}

// Merge combines a Calico Node and a Kubernetes Node of the same name; either
// may be nil. The Calico Node's address fields win where set and the
// Kubernetes annotations fill the gaps; InternalIPs are the Calico Node's
// followed by the Kubernetes ones not already listed; interfaces come from
// the Calico Node unless it has none. Labels are the Calico Node's overlaid
// by the Kubernetes labels: Kubernetes wins, as in Calico's Kubernetes
// datastore mapping and its etcd-mode label sync (docs/api.md §2.9, §7.5).
func Merge(calico *api.Node, k8s *corev1.Node) NodeInfo {
	switch {
	case calico == nil && k8s == nil:
		return NodeInfo{}
	case k8s == nil:
		return FromCalicoNode(calico)
	case calico == nil:
		return FromKubernetesNode(k8s)
	}
	c, k := FromCalicoNode(calico), FromKubernetesNode(k8s)
	out := c
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&out.BGPv4, k.BGPv4}, {&out.BGPv6, k.BGPv6}, {&out.IPIPTunnelAddr, k.IPIPTunnelAddr},
		{&out.VXLANv4, k.VXLANv4}, {&out.VXLANv6, k.VXLANv6},
		{&out.WireguardV4, k.WireguardV4}, {&out.WireguardV6, k.WireguardV6},
	} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	for _, ip := range k.InternalIPs {
		if !slices.Contains(out.InternalIPs, ip) {
			out.InternalIPs = append(out.InternalIPs, ip)
		}
	}
	if len(out.Interfaces) == 0 {
		out.Interfaces = k.Interfaces
	}
	if len(k.Labels) > 0 {
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		maps.Copy(out.Labels, k.Labels)
	}
	return out
}

// parseAddr reads an address, or the address part of a CIDR. Zoned IPv6
// addresses are refused (they cannot be expected IPs); IPv4-mapped IPv6
// addresses are read as IPv4, as Go's net package prints them.
func parseAddr(s string) (netip.Addr, bool) {
	var a netip.Addr
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = p.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil || a.Zone() != "" {
			return netip.Addr{}, false
		}
	}
	return a.Unmap(), true
}

func cloneInterfaces(in []api.NodeInterface) []api.NodeInterface {
	if in == nil {
		return nil
	}
	out := make([]api.NodeInterface, len(in))
	for i, f := range in {
		out[i] = api.NodeInterface{Name: f.Name, Addresses: slices.Clone(f.Addresses)}
	}
	return out
}
