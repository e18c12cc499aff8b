package autohep

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/selector"
)

// The label that marks a host endpoint as the controller's. Any host
// endpoint carrying it is treated as managed, whoever created it.
const (
	CreatedByLabel = "projectcalico.org/created-by"
	CreatedByValue = "calico-kube-controllers"
)

// NameSuffix ends every automatic host endpoint name.
const NameSuffix = "auto-hep"

// DefaultInterfaceName is the interface of the default endpoint: all of
// the host's interfaces.
const DefaultInterfaceName = "*"

// maxNameLength is the DNS-1123 subdomain limit on resource names.
const maxNameLength = 253

// Configuration values of autoCreate and createDefaultHostEndpoint.
const (
	Enabled  = "Enabled"
	Disabled = "Disabled"
)

// Name returns the name of an automatic host endpoint:
// "<node>-auto-hep" when suffix is empty, else "<node>-<suffix>-auto-hep"
// (suffix is "<generateName>" or "<generateName>-<interface>" for template
// endpoints). A name longer than 253 characters is replaced by the
// lower-cased unpadded base64url SHA-256 of the full name with '-', '_' and
// '.' removed, followed by "-auto-hep", cut to 253 characters.
func Name(nodeName, suffix string) string {
	full := nodeName + "-" + NameSuffix
	if suffix != "" {
		full = nodeName + "-" + suffix + "-" + NameSuffix
	}
	if len(full) <= maxNameLength {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	hash := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' {
			return -1
		}
		return r
	}, base64.RawURLEncoding.EncodeToString(sum[:]))
	name := strings.ToLower(hash + "-" + NameSuffix)
	return name[:min(len(name), maxNameLength)]
}

// ExpectedIPs returns the addresses of the default endpoint in the order of
// docs/api.md §7.3: the address parts of the BGP IPv4 and IPv6 addresses, the
// IPIP tunnel address, the VXLAN IPv4 and IPv6 tunnel addresses and the
// WireGuard IPv4 and IPv6 interface addresses (these seven are not
// de-duplicated among themselves, as in Calico), then InternalIP addresses
// and then interface addresses, each only if not already listed.
// Unparseable entries are dropped; addresses are printed canonically.
func ExpectedIPs(n NodeInfo) []string {
	var out []string
	seen := map[netip.Addr]bool{}
	for _, s := range []string{n.BGPv4, n.BGPv6, n.IPIPTunnelAddr, n.VXLANv4, n.VXLANv6, n.WireguardV4, n.WireguardV6} {
		if a, ok := parseAddr(s); ok {
			out = append(out, a.String())
			seen[a] = true
		}
	}
	addNew := func(s string) {
		if a, ok := parseAddr(s); ok && !seen[a] {
			out = append(out, a.String())
			seen[a] = true
		}
	}
	for _, s := range n.InternalIPs {
		addNew(s)
	}
	for _, f := range n.Interfaces {
		for _, s := range f.Addresses {
			addNew(s)
		}
	}
	return out
}

// ForNode returns the host endpoints the controller wants for one node,
// given the controller configuration, sorted by name. It is pure.
//
// A nil cfg, or autoCreate other than Enabled, wants none (the controller
// then deletes every managed endpoint). Otherwise the default endpoint is
// wanted unless createDefaultHostEndpoint is Disabled, plus the endpoints of
// every template whose nodeSelector matches the node's labels (§7.4). An
// invalid configuration (unknown Enabled/Disabled value, bad template) is
// an error and no endpoints are returned: Calico's validation would have
// refused it.
func ForNode(node NodeInfo, cfg *api.AutoHostEndpointConfig) ([]*api.HostEndpoint, error) {
	if cfg == nil {
		return nil, nil
	}
	templates, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.AutoCreate != Enabled {
		return nil, nil
	}
	byName := map[string]*api.HostEndpoint{}
	ips := ExpectedIPs(node)
	if cfg.CreateDefaultHostEndpoint != Disabled {
		h := newHEP(node, Name(node.Name, ""), DefaultInterfaceName, ips, nil, nil)
		byName[h.Name] = h
	}
	for _, t := range templates {
		// A later template wins a name collision, as Calico's successive
		// create-or-update calls would.
		for _, h := range t.endpoints(node, ips) {
			byName[h.Name] = h
		}
	}
	out := slices.Collect(maps.Values(byName))
	slices.SortFunc(out, func(a, b *api.HostEndpoint) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// newHEP builds one endpoint. Labels are the node's, then extra (template
// labels win), then the created-by label.
func newHEP(node NodeInfo, name, iface string, ips []string, extra, annotations map[string]string) *api.HostEndpoint {
	labels := make(map[string]string, len(node.Labels)+len(extra)+1)
	maps.Copy(labels, node.Labels)
	maps.Copy(labels, extra)
	labels[CreatedByLabel] = CreatedByValue
	return &api.HostEndpoint{
		TypeMeta: metav1.TypeMeta{Kind: api.KindHostEndpoint, APIVersion: api.GroupVersionV3},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      labels,
			Annotations: maps.Clone(annotations),
		},
		Spec: api.HostEndpointSpec{
			Node:          node.Name,
			InterfaceName: iface,
			ExpectedIPs:   slices.Clone(ips),
			Profiles:      []string{api.DefaultAllowProfile},
		},
	}
}

// template is a validated, compiled AutoHostEndpointTemplate.
type template struct {
	api.AutoHostEndpointTemplate
	selector *selector.Selector
	cidrs    []netip.Prefix
	pattern  *regexp.Regexp // nil when interfacePattern is empty
}

// compile validates cfg and compiles its templates. It reports every
// problem it finds.
func compile(cfg *api.AutoHostEndpointConfig) ([]template, error) {
	var errs []error
	if !validSwitch(cfg.AutoCreate) {
		errs = append(errs, fmt.Errorf("autoCreate: %q is not Enabled or Disabled", cfg.AutoCreate))
	}
	if !validSwitch(cfg.CreateDefaultHostEndpoint) {
		errs = append(errs, fmt.Errorf("createDefaultHostEndpoint: %q is not Enabled or Disabled", cfg.CreateDefaultHostEndpoint))
	}
	seen := map[string]bool{}
	var out []template
	for i, t := range cfg.Templates {
		ct, err := compileTemplate(t)
		if t.GenerateName != "" && seen[t.GenerateName] {
			err = errors.Join(err, errors.New("Template name must be unique"))
		}
		seen[t.GenerateName] = true
		if err != nil {
			errs = append(errs, fmt.Errorf("templates[%d] (%q): %w", i, t.GenerateName, err))
			continue
		}
		out = append(out, ct)
	}
	return out, errors.Join(errs...)
}

func validSwitch(v string) bool { return v == "" || v == Enabled || v == Disabled }

func compileTemplate(t api.AutoHostEndpointTemplate) (template, error) {
	var errs []error
	switch {
	case t.GenerateName == "":
		errs = append(errs, errors.New("Template name must be specified"))
	case len(t.GenerateName) >= maxNameLength:
		errs = append(errs, errors.New("Template name must be shorter than 253 characters"))
	}
	if len(t.InterfaceCIDRs) == 0 && t.InterfacePattern == "" {
		errs = append(errs, errors.New("InterfaceCIDRs or InterfacePattern must be specified"))
	}
	ct := template{AutoHostEndpointTemplate: t}
	for _, c := range t.InterfaceCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("interfaceCIDRs: invalid CIDR %q", c))
			continue
		}
		ct.cidrs = append(ct.cidrs, p.Masked())
	}
	if t.InterfacePattern != "" {
		re, err := regexp.Compile(t.InterfacePattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("interfacePattern: %w", err))
		}
		ct.pattern = re
	}
	sel, err := selector.Parse(t.NodeSelector)
	if err != nil {
		errs = append(errs, fmt.Errorf("nodeSelector %q: %w", t.NodeSelector, err))
	}
	ct.selector = sel
	return ct, errors.Join(errs...)
}

// endpoints returns the template's endpoints for node, whose default
// expected IPs are ips (§7.4).
func (t template) endpoints(node NodeInfo, ips []string) []*api.HostEndpoint {
	if !t.selector.Matches(selector.Map(node.Labels)) {
		return nil
	}
	var candidates []string
	for _, s := range ips {
		a, _ := netip.ParseAddr(s) // ips are canonical addresses
		if slices.ContainsFunc(t.cidrs, func(p netip.Prefix) bool { return p.Contains(a) }) {
			candidates = append(candidates, s)
		}
	}
	if t.pattern == nil {
		if len(candidates) == 0 {
			return nil // no interface and no IP: not a valid endpoint
		}
		name := Name(node.Name, t.GenerateName)
		return []*api.HostEndpoint{newHEP(node, name, "", candidates, t.Labels, t.Annotations)}
	}
	var out []*api.HostEndpoint
	for _, f := range node.Interfaces {
		if !t.pattern.MatchString(f.Name) {
			continue
		}
		name := Name(node.Name, t.GenerateName+"-"+f.Name)
		out = append(out, newHEP(node, name, f.Name, withInterfaceIPs(candidates, f), t.Labels, t.Annotations))
	}
	return out
}

// withInterfaceIPs appends the interface's parseable addresses that are not
// already in ips, to a new slice.
func withInterfaceIPs(ips []string, f api.NodeInterface) []string {
	out := slices.Clone(ips)
	for _, s := range f.Addresses {
		a, ok := parseAddr(s)
		if ok && !slices.Contains(out, a.String()) {
			out = append(out, a.String())
		}
	}
	return out
}
