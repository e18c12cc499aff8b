package api

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/palisade-net/palisade/selector"
)

// Validate checks o against Calico's rules (docs/api.md §1.2, §2, §3) and the
// decisions palisade adds, and returns every broken rule with its field
// path. It expects a defaulted object (see Default); it does not change o.
func Validate(o Object) []FieldError {
	v := &validator{}
	v.meta(o)
	switch o := o.(type) {
	case *GlobalNetworkPolicy:
		v.policy("spec", policyViewGNP(&o.Spec), true)
	case *NetworkPolicy:
		v.policy("spec", policyViewNP(&o.Spec), false)
	case *StagedGlobalNetworkPolicy:
		v.stagedGNP(o)
	case *StagedNetworkPolicy:
		v.stagedNP(o)
	case *StagedKubernetesNetworkPolicy:
		v.stagedK8s(o)
	case *Tier:
		v.tier(o)
	case *HostEndpoint:
		v.hostEndpoint(&o.Spec)
	case *WorkloadEndpoint:
		v.workloadEndpoint(&o.Spec)
	case *Profile:
		v.profile(&o.Spec)
	case *GlobalNetworkSet:
		v.networkSet(o.Labels, &o.Spec)
	case *NetworkSet:
		v.networkSet(o.Labels, &o.Spec)
	case *FelixConfiguration:
		v.felix(&o.Spec)
	case *KubeControllersConfiguration:
		v.kubeControllers(&o.Spec)
	case *Node:
		v.node(&o.Spec)
	case *networkingv1.NetworkPolicy:
		v.k8sPolicySpec("spec", &o.Spec.PodSelector, o.Spec.Ingress, o.Spec.Egress, o.Spec.PolicyTypes)
	}
	return v.errs
}

// validator collects FieldErrors.
type validator struct {
	errs []FieldError
}

func (v *validator) add(path, value, rule string) {
	v.errs = append(v.errs, FieldError{Field: path, Value: value, Rule: rule})
}

// ---- metadata (docs/api.md §1.2) ----

const (
	dnsLabel      = `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
	maxNameLength = 253
)

var (
	gnpNameRE       = regexp.MustCompile(`^(` + dnsLabel + `\.)?` + dnsLabel + `$`)
	npNameRE        = regexp.MustCompile(`^` + dnsLabel + `(\.` + dnsLabel + `)?$`)
	interfaceNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,15}$`)
)

const (
	ruleSubdomain = "must be a DNS-1123 subdomain: lower case alphanumeric characters, '-' or '.', " +
		"starting and ending with an alphanumeric character, at most 253 characters"
	ruleLabel = "must be a DNS-1123 label: lower case alphanumeric characters or '-', " +
		"starting and ending with an alphanumeric character, at most 63 characters"
)

func (v *validator) meta(o Object) {
	kind := KindOf(o)
	name := o.GetName()
	if name == "" {
		v.add("metadata.name", "", "name must be specified")
	} else if msg := nameRule(o, kind, name); msg != "" {
		v.add("metadata.name", name, msg)
	}
	ns := o.GetNamespace()
	switch {
	case IsNamespaced(kind) && ns == "":
		v.add("metadata.namespace", "", "namespace is not specified on namespaced resource")
	case !IsNamespaced(kind) && ns != "":
		v.add("metadata.namespace", ns, fmt.Sprintf(
			"namespace should not be specified for a non-namespaced resource. %s is not a namespaced resource", kind))
	case ns != "" && len(validation.IsDNS1123Label(ns)) > 0:
		v.add("metadata.namespace", ns, ruleLabel)
	}
	v.labels("metadata.labels", o.GetLabels())
	v.annotations("metadata.annotations", o.GetAnnotations())
}

// nameRule returns what is wrong with name for kind, or "".
func nameRule(o Object, kind, name string) string {
	if IsKubernetes(o) {
		return k8sNameRule(o, name)
	}
	if len(name) > maxNameLength {
		return "name must be at most 253 characters"
	}
	switch kind {
	case KindGlobalNetworkPolicy, KindStagedGlobalNetworkPolicy:
		if !gnpNameRE.MatchString(name) {
			return "name must be one or two DNS-1123 labels separated by a dot (lower case alphanumeric characters or '-')"
		}
	case KindNetworkPolicy, KindStagedNetworkPolicy:
		if !npNameRE.MatchString(name) && !isMirrorPolicyName(name) {
			return "name must be one or two DNS-1123 labels separated by a dot, or knp.default.<name> / ossg.default.<name>"
		}
	case KindTier:
		if len(validation.IsDNS1123Label(name)) > 0 {
			return "tier name " + ruleLabel
		}
	case KindKubeControllersConfiguration:
		if name != "default" {
			return `Cannot create a Kube Controllers Configuration resource with a name other than "default"`
		}
	case KindFelixConfiguration:
		node, isNode := strings.CutPrefix(name, "node.")
		if name != "default" && !(isNode && len(validation.IsDNS1123Subdomain(node)) == 0) {
			return `name must be "default" or "node.<nodename>"`
		}
	default:
		if len(validation.IsDNS1123Subdomain(name)) > 0 {
			return "name " + ruleSubdomain
		}
	}
	return ""
}

func isMirrorPolicyName(name string) bool {
	for _, p := range []string{"knp.default.", "ossg.default."} {
		if rest, ok := strings.CutPrefix(name, p); ok && len(validation.IsDNS1123Subdomain(rest)) == 0 {
			return true
		}
	}
	return false
}

func k8sNameRule(o Object, name string) string {
	switch o.(type) {
	case *corev1.Namespace:
		if len(validation.IsDNS1123Label(name)) > 0 {
			return "name " + ruleLabel
		}
	case *corev1.Service:
		if len(validation.IsDNS1035Label(name)) > 0 {
			return "name must be a DNS-1035 label: lower case alphanumeric characters or '-', starting with a letter"
		}
	default:
		if len(validation.IsDNS1123Subdomain(name)) > 0 {
			return "name " + ruleSubdomain
		}
	}
	return ""
}

func (v *validator) labels(path string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			v.add(path+"["+k+"]", k, "invalid label key: "+errs[0])
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			v.add(path+"["+k+"]", labels[k], "invalid label value: "+errs[0])
		}
	}
}

// totalAnnotationSizeLimit is Kubernetes' (and Calico's) 256 KiB limit.
const totalAnnotationSizeLimit = 256 * 1024

func (v *validator) annotations(path string, ann map[string]string) {
	total := 0
	for _, k := range sortedKeys(ann) {
		total += len(k) + len(ann[k])
		if errs := validation.IsQualifiedName(strings.ToLower(k)); len(errs) > 0 {
			v.add(path+"["+k+"]", k, "invalid annotation key: "+errs[0])
		}
	}
	if total > totalAnnotationSizeLimit {
		v.add(path, "", "annotations may not be larger than 256 KiB in total")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- shared field checks ----

const maxSelectorLength = 1024

// selectorMode says where a selector sits and so whether global() may be used.
type selectorMode int

const (
	noGlobal      selectorMode = iota // global() not allowed at all
	wholeGlobalOK                     // allowed as the entire expression only
)

func (v *validator) selector(path, s string, mode selectorMode) {
	if s == "" {
		return
	}
	if len(s) > maxSelectorLength {
		v.add(path, truncate(s), "selector must be at most 1024 characters")
		return
	}
	sel, err := selector.Parse(s)
	if err != nil {
		v.add(path, s, "invalid selector: "+err.Error())
		return
	}
	switch {
	case !sel.UsesGlobal():
	case mode == noGlobal:
		v.add(path, s, "global() can only be used in an EntityRule namespaceSelector")
	case !sel.IsExactlyGlobal():
		v.add(path, s, "global() cannot be combined with other selectors")
	}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// strictCIDR parses a CIDR whose host bits are zero (docs/api.md §3.2).
func strictCIDR(s string) (netip.Prefix, string) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if _, aerr := netip.ParseAddr(s); aerr == nil {
			return p, "invalid CIDR: a network in CIDR notation is required (for example " + s + "/32)"
		}
		return p, "invalid CIDR"
	}
	if p != p.Masked() {
		return p, "invalid CIDR: host bits must be zero (did you mean " + p.Masked().String() + "?)"
	}
	return p, ""
}

// looseCIDR parses a CIDR (host bits allowed) or a bare IP.
func looseCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func (v *validator) ip(path, s string, want int) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		v.add(path, s, "invalid IP address")
	case want == 4 && !a.Is4():
		v.add(path, s, "must be an IPv4 address")
	case want == 6 && (!a.Is6() || a.Is4In6()):
		v.add(path, s, "must be an IPv6 address")
	}
}

func (v *validator) subdomains(path string, names []string) {
	for i, n := range names {
		if len(validation.IsDNS1123Subdomain(n)) > 0 {
			v.add(fmt.Sprintf("%s[%d]", path, i), n, ruleSubdomain)
		}
	}
}

func (v *validator) oneOf(path, value string, fold bool, allowed ...string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a || (fold && strings.EqualFold(value, a)) {
			return
		}
	}
	v.add(path, value, "must be one of "+strings.Join(allowed, ", "))
}

func (v *validator) interfaceName(path, name string, required bool) {
	switch {
	case name == "" && required:
		v.add(path, "", "interfaceName must be specified")
	case name == "" || name == "*":
	case !interfaceNameRE.MatchString(name):
		v.add(path, name, `invalid interface name: must be "*" or 1-15 characters from [a-zA-Z0-9_.-]`)
	}
}
