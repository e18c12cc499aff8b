package api

import (
	"encoding/json"
	"maps"
	"net/netip"
	"strings"
)

// AnnotationMetadata carries the v3 ObjectMeta on crd.projectcalico.org/v1
// objects (docs/api.md §1.1).
const AnnotationMetadata = "projectcalico.org/metadata"

// normaliseCRDV1 applies the lenient crd.projectcalico.org/v1 read path
// (docs/api.md §1.1): the v3 metadata annotation is folded back into the object,
// protocol names are put in Calico's spelling and rule nets are read the way
// Felix reads them (a bare IP is a host network, host bits are masked).
func normaliseCRDV1(o Object) []FieldError {
	var errs []FieldError
	if fe := applyMetadataAnnotation(o); fe != nil {
		errs = append(errs, *fe)
	}
	for _, rules := range ruleLists(o) {
		for i := range rules {
			normaliseRule(&rules[i])
		}
	}
	return errs
}

// applyMetadataAnnotation restores name, labels and annotations from the
// projectcalico.org/metadata annotation and removes the annotation.
func applyMetadataAnnotation(o Object) *FieldError {
	ann := o.GetAnnotations()
	raw, ok := ann[AnnotationMetadata]
	if !ok {
		return nil
	}
	var md struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		return &FieldError{Field: "metadata.annotations[" + AnnotationMetadata + "]",
			Rule: "must hold the JSON form of the v3 metadata: " + cleanJSONError(err)}
	}
	if md.Name != "" {
		o.SetName(md.Name)
	}
	if len(md.Labels) > 0 {
		labels := maps.Clone(o.GetLabels())
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, md.Labels)
		o.SetLabels(labels)
	}
	ann = maps.Clone(ann)
	delete(ann, AnnotationMetadata)
	maps.Copy(ann, md.Annotations)
	if len(ann) == 0 {
		ann = nil
	}
	o.SetAnnotations(ann)
	return nil
}

// ruleLists returns the rule slices of o (shared with o, so elements can be
// changed in place).
func ruleLists(o Object) [][]Rule {
	switch o := o.(type) {
	case *GlobalNetworkPolicy:
		return [][]Rule{o.Spec.Ingress, o.Spec.Egress}
	case *NetworkPolicy:
		return [][]Rule{o.Spec.Ingress, o.Spec.Egress}
	case *StagedGlobalNetworkPolicy:
		return [][]Rule{o.Spec.Ingress, o.Spec.Egress}
	case *StagedNetworkPolicy:
		return [][]Rule{o.Spec.Ingress, o.Spec.Egress}
	case *Profile:
		return [][]Rule{o.Spec.Ingress, o.Spec.Egress}
	}
	return nil
}

var protocolNames = map[string]string{
	"tcp": "TCP", "udp": "UDP", "icmp": "ICMP", "icmpv6": "ICMPv6", "sctp": "SCTP", "udplite": "UDPLite",
}

func normaliseProtocol(p *Protocol) {
	if p == nil || p.Name == "" {
		return
	}
	if canon, ok := protocolNames[strings.ToLower(p.Name)]; ok {
		p.Name = canon
	}
}

func normaliseRule(r *Rule) {
	normaliseProtocol(r.Protocol)
	normaliseProtocol(r.NotProtocol)
	for _, e := range []*EntityRule{&r.Source, &r.Destination} {
		normaliseNets(e.Nets)
		normaliseNets(e.NotNets)
	}
}

func normaliseNets(nets []string) {
	for i, s := range nets {
		nets[i] = normaliseNet(s)
	}
}

// normaliseNet reads s as a CIDR or an IP and returns the masked network;
// text that is neither is returned unchanged for validation to report.
func normaliseNet(s string) string {
	if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
		return p.Masked().String()
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()).String()
	}
	return s
}
