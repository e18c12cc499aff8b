package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Output of `get` (docs/api.md §8.4): ps and wide tables, custom columns, YAML,
// JSON and Go templates.

type cell func(o api.Object) string

// tableSpec is a kind's column set, as calicoctl's resource managers
// register them.
type tableSpec struct {
	ps, wide []string
	cols     map[string]cell
}

func nameCell(o api.Object) string      { return o.GetName() }
func namespaceCell(o api.Object) string { return o.GetNamespace() }

// optional prints a pointer as a Go template does: <nil>, or the value
// with %v (so 1e+06 for a million).
func optional[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

// joinTruncate joins items with sep and cuts the result to max characters
// ending in "..." (calicoctl's joinAndTruncate); max 0 means no limit.
func joinTruncate[T any](items []T, sep string, max int) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteString(sep)
		}
		fmt.Fprint(&b, it)
		if max > 0 && b.Len() > max {
			if max <= 3 {
				return b.String()[:max]
			}
			return b.String()[:max-3] + "..."
		}
	}
	return b.String()
}

// policyFields reads tier, order and selector from any Calico policy kind.
func policyFields(o api.Object) (tier string, order *float64, selector string) {
	switch p := o.(type) {
	case *api.GlobalNetworkPolicy:
		return p.Spec.Tier, p.Spec.Order, p.Spec.Selector
	case *api.NetworkPolicy:
		return p.Spec.Tier, p.Spec.Order, p.Spec.Selector
	case *api.StagedGlobalNetworkPolicy:
		return p.Spec.Tier, p.Spec.Order, p.Spec.Selector
	case *api.StagedNetworkPolicy:
		return p.Spec.Tier, p.Spec.Order, p.Spec.Selector
	}
	return "", nil, ""
}

var policyTable = &tableSpec{
	ps: []string{"NAME", "TIER"}, wide: []string{"NAME", "TIER", "ORDER", "SELECTOR"},
	cols: map[string]cell{
		"NAME":     nameCell,
		"TIER":     func(o api.Object) string { t, _, _ := policyFields(o); return t },
		"ORDER":    func(o api.Object) string { _, ord, _ := policyFields(o); return optional(ord) },
		"SELECTOR": func(o api.Object) string { _, _, sel := policyFields(o); return sel },
	},
}

func hep(o api.Object) *api.HostEndpoint     { return o.(*api.HostEndpoint) }
func wep(o api.Object) *api.WorkloadEndpoint { return o.(*api.WorkloadEndpoint) }
func calicoNode(o api.Object) *api.Node      { return o.(*api.Node) }
func nodeBGP(o api.Object) *api.NodeBGPSpec  { return calicoNode(o).Spec.BGP }
func netsOf(o api.Object) []string           { return netSpec(o).Nets }
func tierOf(o api.Object) *api.Tier          { return o.(*api.Tier) }
func profileOf(o api.Object) *api.Profile    { return o.(*api.Profile) }
func sknp(o api.Object) *api.StagedKubernetesNetworkPolicy {
	return o.(*api.StagedKubernetesNetworkPolicy)
}

func netSpec(o api.Object) api.NetworkSetSpec {
	switch n := o.(type) {
	case *api.GlobalNetworkSet:
		return n.Spec
	case *api.NetworkSet:
		return n.Spec
	}
	return api.NetworkSetSpec{}
}

// defaultASNumber is what calicoctl shows, in parentheses, for a node
// without its own AS number and no BGPConfiguration (palisade has none).
const defaultASNumber = "64512"

var nameOnly = &tableSpec{ps: []string{"NAME"}, wide: []string{"NAME"}, cols: map[string]cell{"NAME": nameCell}}

var tableSpecs = map[store.Kind]*tableSpec{
	api.KindGlobalNetworkPolicy:       policyTable,
	api.KindNetworkPolicy:             policyTable,
	api.KindStagedGlobalNetworkPolicy: policyTable,
	api.KindStagedNetworkPolicy:       policyTable,
	api.KindStagedKubernetesNetworkPolicy: {
		ps: []string{"NAME"}, wide: []string{"NAME", "PODSELECTOR"},
		cols: map[string]cell{"NAME": nameCell,
			"PODSELECTOR": func(o api.Object) string { return metav1.FormatLabelSelector(&sknp(o).Spec.PodSelector) }},
	},
	api.KindHostEndpoint: {
		ps: []string{"NAME", "NODE"}, wide: []string{"NAME", "NODE", "INTERFACE", "IPS", "PROFILES"},
		cols: map[string]cell{"NAME": nameCell,
			"NODE":      func(o api.Object) string { return hep(o).Spec.Node },
			"INTERFACE": func(o api.Object) string { return hep(o).Spec.InterfaceName },
			"IPS":       func(o api.Object) string { return joinTruncate(hep(o).Spec.ExpectedIPs, ",", 0) },
			"PROFILES":  func(o api.Object) string { return joinTruncate(hep(o).Spec.Profiles, ",", 0) }},
	},
	api.KindWorkloadEndpoint: {
		ps:   []string{"WORKLOAD", "NODE", "NETWORKS", "INTERFACE"},
		wide: []string{"NAME", "WORKLOAD", "NODE", "NETWORKS", "INTERFACE", "PROFILES", "NATS"},
		cols: map[string]cell{"NAME": nameCell,
			"WORKLOAD": func(o api.Object) string {
				if w := wep(o).Spec.Workload; w != "" {
					return w
				}
				return wep(o).Spec.Pod
			},
			"NODE":         func(o api.Object) string { return wep(o).Spec.Node },
			"ORCHESTRATOR": func(o api.Object) string { return wep(o).Spec.Orchestrator },
			"NETWORKS":     func(o api.Object) string { return joinTruncate(wep(o).Spec.IPNetworks, ",", 0) },
			"NATS":         func(o api.Object) string { return joinTruncate(wep(o).Spec.IPNATs, ",", 0) },
			"PROFILES":     func(o api.Object) string { return joinTruncate(wep(o).Spec.Profiles, ",", 0) },
			"INTERFACE":    func(o api.Object) string { return wep(o).Spec.InterfaceName }},
	},
	api.KindProfile: {
		ps: []string{"NAME"}, wide: []string{"NAME", "LABELS"},
		cols: map[string]cell{"NAME": nameCell, "LABELS": func(o api.Object) string {
			var kv []string
			for k, v := range profileOf(o).Spec.LabelsToApply {
				kv = append(kv, k+"="+v)
			}
			sort.Strings(kv)
			return strings.Join(kv, ",")
		}},
	},
	api.KindGlobalNetworkSet: netsetTable,
	api.KindNetworkSet:       netsetTable,
	api.KindTier: {
		ps: []string{"NAME", "ORDER"}, wide: []string{"NAME", "ORDER"},
		cols: map[string]cell{"NAME": nameCell, "ORDER": func(o api.Object) string { return optional(tierOf(o).Spec.Order) }},
	},
	api.KindNode: {
		ps: []string{"NAME"}, wide: []string{"NAME", "ASN", "IPV4", "IPV6"},
		cols: map[string]cell{"NAME": nameCell,
			"ASN": func(o api.Object) string {
				switch b := nodeBGP(o); {
				case b == nil:
					return ""
				case b.ASNumber != nil:
					return fmt.Sprint(*b.ASNumber)
				}
				return "(" + defaultASNumber + ")"
			},
			"IPV4": func(o api.Object) string {
				if b := nodeBGP(o); b != nil {
					return b.IPv4Address
				}
				return ""
			},
			"IPV6": func(o api.Object) string {
				if b := nodeBGP(o); b != nil {
					return b.IPv6Address
				}
				return ""
			}},
	},
}

// Kubernetes kinds get kubectl's useful columns.
func init() {
	labelsCell := func(o api.Object) string {
		var kv []string
		for k, v := range o.GetLabels() {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		return strings.Join(kv, ",")
	}
	pod := func(o api.Object) *corev1.Pod { return o.(*corev1.Pod) }
	svc := func(o api.Object) *corev1.Service { return o.(*corev1.Service) }
	tableSpecs[store.KindK8sPod] = &tableSpec{
		ps: []string{"NAME", "NODE"}, wide: []string{"NAME", "IP", "NODE", "LABELS"},
		cols: map[string]cell{"NAME": nameCell, "NODE": func(o api.Object) string { return pod(o).Spec.NodeName },
			"IP": func(o api.Object) string {
				var ips []string
				for _, ip := range pod(o).Status.PodIPs {
					ips = append(ips, ip.IP)
				}
				if len(ips) == 0 && pod(o).Status.PodIP != "" {
					ips = []string{pod(o).Status.PodIP}
				}
				return strings.Join(ips, ",")
			},
			"LABELS": labelsCell},
	}
	tableSpecs[store.KindK8sService] = &tableSpec{
		ps: []string{"NAME", "TYPE"}, wide: []string{"NAME", "TYPE", "CLUSTER-IP", "PORTS"},
		cols: map[string]cell{"NAME": nameCell,
			"TYPE": func(o api.Object) string {
				if t := svc(o).Spec.Type; t != "" {
					return string(t)
				}
				return string(corev1.ServiceTypeClusterIP)
			},
			"CLUSTER-IP": func(o api.Object) string { return svc(o).Spec.ClusterIP },
			"PORTS": func(o api.Object) string {
				var ps []string
				for _, p := range svc(o).Spec.Ports {
					proto := p.Protocol
					if proto == "" {
						proto = corev1.ProtocolTCP
					}
					if p.NodePort != 0 {
						ps = append(ps, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, proto))
					} else {
						ps = append(ps, fmt.Sprintf("%d/%s", p.Port, proto))
					}
				}
				return strings.Join(ps, ",")
			}},
	}
	tableSpecs[store.KindK8sNode] = &tableSpec{
		ps: []string{"NAME"}, wide: []string{"NAME", "ADDRESSES", "LABELS"},
		cols: map[string]cell{"NAME": nameCell,
			"ADDRESSES": func(o api.Object) string {
				var as []string
				for _, a := range o.(*corev1.Node).Status.Addresses {
					as = append(as, a.Address)
				}
				return strings.Join(as, ",")
			},
			"LABELS": labelsCell},
	}
	tableSpecs[store.KindK8sNamespace] = &tableSpec{ps: []string{"NAME"}, wide: []string{"NAME", "LABELS"},
		cols: map[string]cell{"NAME": nameCell, "LABELS": labelsCell}}
}

var netsetTable = &tableSpec{
	ps: []string{"NAME"}, wide: []string{"NAME", "NETS"},
	cols: map[string]cell{"NAME": nameCell, "NETS": func(o api.Object) string { return joinTruncate(netsOf(o), ",", 80) }},
}

// specFor returns a kind's table; kinds with no column set of their own
// (configuration kinds, Kubernetes kinds) print NAME.
func specFor(kind store.Kind) *tableSpec {
	if t, ok := tableSpecs[kind]; ok {
		return t
	}
	return nameOnly
}

// UnknownHeadingError: a custom column the kind does not have.
type UnknownHeadingError struct {
	Heading string
	Valid   []string
}

func (e *UnknownHeadingError) Error() string {
	return fmt.Sprintf("unknown heading %s, valid values are: %s", e.Heading, strings.Join(e.Valid, ", "))
}

// headings returns the columns to print for a kind: custom ones, or the ps
// or wide set; NAMESPACE goes first when -n or -A was given and the kind
// is namespaced.
func (t *tableSpec) headings(kind store.Kind, custom []string, wide, printNS bool) ([]string, error) {
	hs := t.ps
	if wide {
		hs = t.wide
	}
	if custom != nil {
		hs = custom
	}
	if printNS && kind.Namespaced() {
		hs = append([]string{"NAMESPACE"}, hs...)
	}
	for _, h := range hs {
		if t.cell(kind, h) == nil {
			valid := sortedKeys(t.cols)
			if kind.Namespaced() {
				valid = append(valid, "NAMESPACE")
				sort.Strings(valid)
			}
			return nil, &UnknownHeadingError{Heading: h, Valid: valid}
		}
	}
	return hs, nil
}

func (t *tableSpec) cell(kind store.Kind, h string) cell {
	if h == "NAMESPACE" && kind.Namespaced() {
		return namespaceCell
	}
	return t.cols[h]
}

// writeTable prints one table: calicoctl's tabwriter settings (minimum
// width 5, padding 3), every cell followed by a tab so lines end in
// padding, and a blank line after the table.
func writeTable(w io.Writer, kind store.Kind, hs []string, objs []api.Object) {
	t := specFor(kind)
	tw := tabwriter.NewWriter(w, 5, 1, 3, ' ', 0)
	var b strings.Builder
	for _, h := range hs {
		b.WriteString(h)
		b.WriteByte('\t')
	}
	b.WriteByte('\n')
	for _, o := range objs {
		for _, h := range hs {
			b.WriteString(t.cell(kind, h)(o))
			b.WriteByte('\t')
		}
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(tw, b.String())
	_ = tw.Flush()
	fmt.Fprintln(w)
}

// outputFormat is a parsed -o value.
type outputFormat struct {
	kind     string   // ps, wide, custom, kubecolumns, yaml, json, template, jsonpath, name
	columns  []string // custom-columns
	kubeCols []kubeColumn
	tmpl     string // go-template or jsonpath text
}

// OutputFormatError: the -o value is not usable.
type OutputFormatError struct{ Msg string }

func (e *OutputFormatError) Error() string { return e.Msg }

func parseOutput(o string) (outputFormat, error) {
	switch o {
	case "", "ps":
		return outputFormat{kind: "ps"}, nil
	case "wide", "yaml", "json", "name":
		return outputFormat{kind: o}, nil
	case "yml":
		return outputFormat{kind: "yaml"}, nil
	}
	key, val, _ := strings.Cut(o, "=")
	switch key {
	case "custom-columns":
		if val == "" {
			return outputFormat{}, &OutputFormatError{"need to specify at least one column"}
		}
		if strings.Contains(val, ":") {
			cols, err := parseKubeColumns(val)
			if err != nil {
				return outputFormat{}, err
			}
			return outputFormat{kind: "kubecolumns", kubeCols: cols}, nil
		}
		var cols []string
		for _, c := range strings.Split(val, ",") {
			cols = append(cols, strings.ToUpper(strings.TrimSpace(c)))
		}
		return outputFormat{kind: "custom", columns: cols}, nil
	case "go-template":
		if val == "" {
			return outputFormat{}, &OutputFormatError{"need to specify a template"}
		}
		return outputFormat{kind: "template", tmpl: val}, nil
	case "jsonpath", "jsonpath-file":
		if val == "" {
			return outputFormat{}, &OutputFormatError{"template format specified but no template given"}
		}
		if key == "jsonpath-file" {
			data, err := os.ReadFile(val)
			if err != nil {
				return outputFormat{}, err
			}
			val = string(data)
		}
		if _, err := parseJSONPath("check", val); err != nil {
			return outputFormat{}, err
		}
		return outputFormat{kind: "jsonpath", tmpl: val}, nil
	case "go-template-file":
		if val == "" {
			return outputFormat{}, &OutputFormatError{"need to specify a template file"}
		}
		data, err := os.ReadFile(val)
		if err != nil {
			return outputFormat{}, err
		}
		return outputFormat{kind: "template", tmpl: string(data)}, nil
	}
	return outputFormat{}, &OutputFormatError{fmt.Sprintf("unrecognized output format '%s'", o)}
}

// encodeResults prints YAML or JSON: one result as itself, several as a
// sequence (a list is one result, the <Kind>List object).
func encodeResults(w io.Writer, format string, results []any) error {
	var v any = results
	if len(results) == 1 {
		v = results[0]
	}
	if objs, ok := v.([]any); ok {
		items := make([]api.Object, 0, len(objs))
		for _, r := range objs {
			if o, ok := r.(api.Object); ok {
				items = append(items, o)
			}
		}
		if len(items) == len(objs) {
			v = items
		}
	}
	var data []byte
	var err error
	if format == "json" {
		data, err = api.EncodeJSON(v)
		data = append(data, '\n')
	} else {
		data, err = api.EncodeYAML(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// runTemplate executes a user template over the results with calicoctl's
// functions join, joinAndTruncate and config.
func runTemplate(w io.Writer, text string, results []any) error {
	funcs := template.FuncMap{
		"join":            func(items any, sep string) string { return joinAny(items, sep, 0) },
		"joinAndTruncate": joinAny,
		"config": func(name string) (string, error) {
			if strings.EqualFold(name, "asnumber") {
				return defaultASNumber, nil
			}
			return "", fmt.Errorf("unhandled config type %q", name)
		},
	}
	t, err := template.New("get").Funcs(funcs).Parse(text)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, results); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// joinAny is calicoctl's joinAndTruncate over any slice or map (maps as
// sorted k=v).
func joinAny(items any, sep string, max int) string {
	if items == nil {
		return ""
	}
	v := reflect.ValueOf(items)
	var parts []any
	switch v.Kind() {
	case reflect.Map:
		var kv []string
		for _, k := range v.MapKeys() {
			kv = append(kv, fmt.Sprintf("%v=%v", k.Interface(), v.MapIndex(k).Interface()))
		}
		sort.Strings(kv)
		for _, s := range kv {
			parts = append(parts, s)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			parts = append(parts, v.Index(i).Interface())
		}
	default:
		parts = []any{items}
	}
	return joinTruncate(parts, sep, max)
}
