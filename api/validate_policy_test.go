package api

import (
	"strings"
	"testing"
)

// vcase is one validation case: a document and either no error (field and
// rule empty) or an error at field whose rule contains rule.
type vcase struct {
	name        string
	doc         string
	field, rule string
}

// res builds a projectcalico.org/v3 document from flow-style metadata and
// spec.
func res(kind, meta, spec string) string {
	return "apiVersion: projectcalico.org/v3\nkind: " + kind + "\nmetadata: " + meta + "\nspec: " + spec + "\n"
}

func gnp(spec string) string { return res("GlobalNetworkPolicy", "{name: p}", spec) }
func np(spec string) string  { return res("NetworkPolicy", "{name: p, namespace: ns}", spec) }

// ingress wraps one rule in a GlobalNetworkPolicy.
func ingress(rule string) string { return gnp("{ingress: [" + rule + "]}") }

func runValidation(t *testing.T, cases []vcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Decode("v.yaml", []byte(tc.doc))
			if tc.field == "" && tc.rule == "" {
				if len(errs) > 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want one error at %s (%s), got %v", tc.field, tc.rule, errs)
			}
			de, ok := errs[0].(*DocumentError)
			if !ok {
				t.Fatalf("error is %T: %v", errs[0], errs[0])
			}
			for _, f := range de.Fields {
				if f.Field == tc.field && strings.Contains(f.Rule, tc.rule) {
					return
				}
			}
			t.Errorf("want %s: ...%s..., got %v", tc.field, tc.rule, de)
		})
	}
}

func TestValidateMetadata(t *testing.T) {
	runValidation(t, []vcase{
		{"name required", res("Tier", "{labels: {a: b}}", "{}"), "metadata.name", "name must be specified"},
		{"gnp name two labels", res("GlobalNetworkPolicy", "{name: sec.allow-dns}", "{tier: sec}"), "", ""},
		{"gnp name three labels", res("GlobalNetworkPolicy", "{name: a.b.c}", "{}"), "metadata.name", "one or two DNS-1123 labels"},
		{"gnp name upper case", res("GlobalNetworkPolicy", "{name: Allow}", "{}"), "metadata.name", "DNS-1123"},
		{"np name three labels", res("NetworkPolicy", "{name: a.b.c}", "{}"), "metadata.name", "knp.default"},
		{"np knp name", res("NetworkPolicy", "{name: knp.default.allow.web}", "{}"), "", ""},
		{"np ossg name", res("NetworkPolicy", "{name: ossg.default.x}", "{}"), "", ""},
		{"tier name with dot", res("Tier", "{name: a.b}", "{}"), "metadata.name", "DNS-1123 label"},
		{"tier name", res("Tier", "{name: security-1}", "{order: 100}"), "", ""},
		{"kcc name", res("KubeControllersConfiguration", "{name: other}", "{controllers: {}}"), "metadata.name",
			`Cannot create a Kube Controllers Configuration resource with a name other than "default"`},
		{"kcc default", res("KubeControllersConfiguration", "{name: default}", "{controllers: {}}"), "", ""},
		{"felix node name", res("FelixConfiguration", "{name: node.worker-1}", "{}"), "", ""},
		{"felix other name", res("FelixConfiguration", "{name: custom}", "{}"), "metadata.name", `"default" or "node.<nodename>"`},
		{"felix bad node name", res("FelixConfiguration", "{name: node.Bad_Node}", "{}"), "metadata.name", "node.<nodename>"},
		{"hep name", res("HostEndpoint", "{name: Bad_Name}", "{node: n, interfaceName: eth0}"), "metadata.name", "subdomain"},
		{"name too long", res("GlobalNetworkSet", "{name: "+strings.Repeat("a", 254)+"}", "{}"), "metadata.name", "at most 253"},
		{"namespace invalid", res("NetworkSet", "{name: a, namespace: Bad_NS}", "{}"), "metadata.namespace", "DNS-1123 label"},
		{"namespace on cluster kind", res("Tier", "{name: a, namespace: x}", "{}"), "metadata.namespace",
			"Tier is not a namespaced resource"},
		{"label key", res("Tier", "{name: a, labels: {'a b': x}}", "{}"), "metadata.labels[a b]", "invalid label key"},
		{"label value", res("Tier", "{name: a, labels: {a: -x}}", "{}"), "metadata.labels[a]", "invalid label value"},
		{"label prefixed key", res("Tier", "{name: a, labels: {example.com/a: x}}", "{}"), "", ""},
		{"annotation key", res("Tier", "{name: a, annotations: {'a b': x}}", "{}"), "metadata.annotations[a b]", "invalid annotation key"},
		{"annotation key upper case", res("Tier", "{name: a, annotations: {Example.com/Note: x}}", "{}"), "", ""},
		{"annotations too large", res("Tier", "{name: a, annotations: {a: "+strings.Repeat("x", 256*1024)+"}}", "{}"),
			"metadata.annotations", "256 KiB"},
		{"networkset namespace label", res("NetworkSet", "{name: a, labels: {projectcalico.org/namespace: x}}", "{}"),
			"metadata.labels[projectcalico.org/namespace]", "projectcalico.org/namespace is not a valid label name"},
		{"globalnetworkset namespace label", res("GlobalNetworkSet", "{name: a, labels: {projectcalico.org/namespace: x}}", "{}"),
			"metadata.labels[projectcalico.org/namespace]", "not a valid label name"},
	})
}

func TestValidateNamespaceRequired(t *testing.T) {
	errs := Validate(&NetworkPolicy{})
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := "metadata.namespace: namespace is not specified on namespaced resource"
	if !strings.Contains(strings.Join(got, "\n"), want) {
		t.Errorf("errors %v lack %q", got, want)
	}
}

func TestValidatePolicy(t *testing.T) {
	runValidation(t, []vcase{
		{"tier invalid", gnp("{tier: Bad.Tier}"), "spec.tier", "DNS-1123 label"},
		{"selector invalid", gnp(`{selector: "a =="}`), "spec.selector", "invalid selector"},
		{"selector global", gnp(`{selector: "global()"}`), "spec.selector", "global() can only be used in an EntityRule namespaceSelector"},
		{"namespaceSelector global", gnp(`{namespaceSelector: "global()"}`), "spec.namespaceSelector", "global() can only be used"},
		{"serviceAccountSelector invalid", np(`{serviceAccountSelector: "a b"}`), "spec.serviceAccountSelector", "invalid selector"},
		{"selector too long", gnp(`{selector: "a == '` + strings.Repeat("x", 1020) + `'"}`), "spec.selector", "at most 1024"},
		{"selectors valid", gnp(`{selector: "has(a) && b in {'x'}", namespaceSelector: all(), serviceAccountSelector: "c == 'd'"}`), "", ""},
		{"type invalid", gnp("{types: [Both]}"), "spec.types[0]", "type must be Ingress or Egress"},
		{"type twice", gnp("{types: [Ingress, Ingress]}"), "spec.types[1]", "'Ingress' type specified more than once"},
		{"types both", gnp("{types: [Ingress, Egress]}"), "", ""},
		{"preDNAT and doNotTrack", gnp("{preDNAT: true, doNotTrack: true, applyOnForward: true}"), "spec.preDNAT",
			"preDNAT and doNotTrack cannot both be true"},
		{"preDNAT egress rules", gnp("{preDNAT: true, applyOnForward: true, egress: [{action: Allow}]}"), "spec.egress",
			"preDNAT policy cannot have any egress rules"},
		{"preDNAT egress type", gnp("{preDNAT: true, applyOnForward: true, types: [Egress]}"), "spec.types",
			"preDNAT policy cannot have 'Egress' type"},
		{"preDNAT without applyOnForward", gnp("{preDNAT: true, ingress: [{action: Deny}]}"), "spec.applyOnForward",
			"applyOnForward must be true if either preDNAT or doNotTrack is true"},
		{"doNotTrack without applyOnForward", gnp("{doNotTrack: true}"), "spec.applyOnForward", "applyOnForward must be true"},
		{"preDNAT valid", gnp("{preDNAT: true, applyOnForward: true, ingress: [{action: Deny}]}"), "", ""},
		{"doNotTrack valid", gnp("{doNotTrack: true, applyOnForward: true, egress: [{action: Allow}]}"), "", ""},
		{"performance hint invalid", gnp("{performanceHints: [Fast]}"), "spec.performanceHints[0]", "AssumeNeededOnEveryNode"},
		{"performance hint twice", gnp("{performanceHints: [AssumeNeededOnEveryNode, AssumeNeededOnEveryNode]}"),
			"spec.performanceHints[1]", "more than once"},
		{"performance hint", np("{performanceHints: [AssumeNeededOnEveryNode]}"), "", ""},
		{"staged action invalid", res("StagedGlobalNetworkPolicy", "{name: p}", "{stagedAction: Maybe}"),
			"spec.stagedAction", "Set, Delete, Learn, Ignore"},
		{"staged delete with fields", res("StagedNetworkPolicy", "{name: p}", "{stagedAction: Delete, selector: all()}"),
			"spec", "Spec fields, except Tier, should all be zero-value if stagedAction is Delete"},
		{"staged delete", res("StagedGlobalNetworkPolicy", "{name: p}", "{stagedAction: Delete, tier: default}"), "", ""},
		{"staged set validates rules", res("StagedGlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Accept}]}"),
			"spec.ingress[0].action", "Allow, Deny, Log, Pass"},
		{"staged learn", res("StagedNetworkPolicy", "{name: p}", "{stagedAction: Learn, ingress: [{action: Allow}]}"), "", ""},
	})
}

func TestValidateRules(t *testing.T) {
	runValidation(t, []vcase{
		{"action missing", ingress("{protocol: TCP}"), "spec.ingress[0].action", "action must be specified"},
		{"action invalid", ingress("{action: Accept}"), "spec.ingress[0].action", "Allow, Deny, Log, Pass"},
		{"actions", gnp("{ingress: [{action: Log}, {action: Pass}, {action: Deny}, {action: Allow}]}"), "", ""},
		{"ipVersion", ingress("{action: Allow, ipVersion: 5}"), "spec.ingress[0].ipVersion", "ipVersion must be 4 or 6"},
		{"protocol zero", ingress("{action: Allow, protocol: 0}"), "spec.ingress[0].protocol", "protocol number invalid"},
		{"protocol 256", ingress("{action: Allow, protocol: 256}"), "spec.ingress[0].protocol", "protocol number invalid"},
		{"protocol lower case", ingress("{action: Allow, protocol: tcp}"), "spec.ingress[0].protocol", "protocol name invalid"},
		{"notProtocol", ingress("{action: Allow, notProtocol: GRE}"), "spec.ingress[0].notProtocol", "protocol name invalid"},
		{"protocols", gnp(`{ingress: [{action: Allow, protocol: UDPLite}, {action: Allow, protocol: "6"}, {action: Allow, protocol: 47, notProtocol: ICMPv6}]}`), "", ""},
		{"icmp code without type", ingress("{action: Allow, protocol: ICMP, icmp: {code: 1}}"), "spec.ingress[0].icmp.code",
			"ICMP code specified without an ICMP type"},
		{"icmp type range", ingress("{action: Allow, protocol: ICMP, icmp: {type: 255}}"), "spec.ingress[0].icmp.type", "0-254"},
		{"icmp code range", ingress("{action: Allow, protocol: ICMP, notICMP: {type: 3, code: 256}}"), "spec.ingress[0].notICMP.code", "0-255"},
		{"icmp without protocol", ingress("{action: Allow, icmp: {type: 8}}"), "spec.ingress[0].icmp", "require protocol ICMP or ICMPv6"},
		{"icmp with tcp", ingress("{action: Allow, protocol: TCP, notICMP: {type: 8}}"), "spec.ingress[0].notICMP", "require protocol"},
		{"icmp v6 version", ingress("{action: Allow, protocol: ICMP, ipVersion: 6}"), "spec.ingress[0].ipVersion", "protocol ICMP requires ipVersion 4"},
		{"icmpv6 v4 version", ingress("{action: Allow, protocol: 58, ipVersion: 4}"), "spec.ingress[0].ipVersion", "protocol ICMPv6 requires ipVersion 6"},
		{"icmp", gnp("{ingress: [{action: Allow, protocol: ICMP, ipVersion: 4, icmp: {type: 8, code: 0}}, {action: Allow, protocol: ICMPv6, notICMP: {type: 128}}]}"), "", ""},
		{"http on deny", ingress("{action: Deny, http: {methods: [GET]}}"), "spec.ingress[0].http", "only allowed on Allow rules"},
		{"http in egress", gnp("{egress: [{action: Allow, http: {methods: [GET]}}]}"), "spec.egress[0].http", "not allowed in egress rules"},
		{"http with udp", ingress("{action: Allow, protocol: UDP, http: {methods: [GET]}}"), "spec.ingress[0].http", "requires protocol TCP"},
		{"http method twice", ingress("{action: Allow, http: {methods: [GET, GET]}}"), "spec.ingress[0].http.methods[1]", "more than once"},
		{"http path both", ingress("{action: Allow, http: {paths: [{exact: /a, prefix: /b}]}}"), "spec.ingress[0].http.paths[0]", "exactly one of exact or prefix"},
		{"http path relative", ingress("{action: Allow, http: {paths: [{prefix: a}]}}"), "spec.ingress[0].http.paths[0]", "must start with /"},
		{"http path query", ingress("{action: Allow, http: {paths: [{exact: '/a?b'}]}}"), "spec.ingress[0].http.paths[0]", "must not contain"},
		{"http", ingress("{action: Allow, protocol: TCP, http: {methods: [GET, PUT], paths: [{exact: /a}, {prefix: /b/}]}}"), "", ""},
		{"rule annotations", ingress("{action: Allow, metadata: {annotations: {'bad key': x}}}"),
			"spec.ingress[0].metadata.annotations[bad key]", "invalid annotation key"},
	})
}

func TestValidateRulePortsAndNets(t *testing.T) {
	runValidation(t, []vcase{
		{"numeric port without protocol", ingress("{action: Allow, destination: {ports: [80]}}"), "spec.ingress[0].destination.ports",
			"rules with numeric port or port range must set protocol to TCP or UDP or SCTP"},
		{"port with icmp", ingress("{action: Allow, protocol: ICMP, source: {notPorts: [http]}}"), "spec.ingress[0].source.notPorts",
			"rules that specify ports must set protocol to TCP or UDP or SCTP"},
		{"named port without protocol", ingress("{action: Allow, destination: {ports: [http, metrics]}}"), "", ""},
		{"port zero", ingress("{action: Allow, protocol: TCP, destination: {ports: [0]}}"), "spec.ingress[0].destination.ports[0]", "1-65535"},
		{"port name", ingress("{action: Allow, destination: {ports: [Bad_Name]}}"), "spec.ingress[0].destination.ports[0]", "invalid port name"},
		{"too many ports", ingress("{action: Allow, protocol: TCP, destination: {ports: [" + strings.Repeat("1,", 50) + "1]}}"),
			"spec.ingress[0].destination.ports", "at most 50"},
		{"ports", ingress(`{action: Allow, protocol: SCTP, destination: {ports: [1, "2:3", 65535]}, source: {notPorts: ["1024:65535"]}}`), "", ""},
		{"net host bits", ingress("{action: Allow, source: {nets: [10.0.0.1/24]}}"), "spec.ingress[0].source.nets[0]",
			"host bits must be zero (did you mean 10.0.0.0/24?)"},
		{"net bare ip", ingress("{action: Allow, destination: {notNets: [10.0.0.1]}}"), "spec.ingress[0].destination.notNets[0]", "invalid CIDR"},
		{"net garbage", ingress("{action: Allow, destination: {nets: [example.com]}}"), "spec.ingress[0].destination.nets[0]", "invalid CIDR"},
		{"mixed families", ingress("{action: Allow, source: {nets: [10.0.0.0/8]}, destination: {nets: ['fd00::/8']}}"),
			"spec.ingress[0]", "rule contains both IPv4 and IPv6 CIDRs"},
		{"ipVersion mismatch", ingress("{action: Allow, ipVersion: 6, source: {nets: [10.0.0.0/8]}}"), "spec.ingress[0].ipVersion",
			"rule IP version doesn't match CIDR version"},
		{"catch-all notNets", ingress("{action: Allow, source: {notNets: ['::/0']}}"), "spec.ingress[0].source.notNets[0]",
			"catch-all CIDR in negation creates logical contradiction (matches no traffic)"},
		{"catch-all nets", ingress("{action: Allow, ipVersion: 4, source: {nets: [0.0.0.0/0], notNets: [10.0.0.0/8]}}"), "", ""},
		{"v6 nets", ingress("{action: Allow, ipVersion: 6, destination: {nets: ['fd00::/8', '2001:db8::1/128']}}"), "", ""},
		{"notSelector global", ingress(`{action: Allow, source: {notSelector: "global()"}}`), "spec.ingress[0].source.notSelector",
			"global() can only be used"},
		{"entity selector global", ingress(`{action: Allow, source: {selector: "global() || a == 'b'"}}`), "spec.ingress[0].source.selector",
			"global() can only be used"},
		{"namespaceSelector global combined", ingress(`{action: Allow, source: {namespaceSelector: "global() && a == 'b'"}}`),
			"spec.ingress[0].source.namespaceSelector", "global() cannot be combined with other selectors"},
		{"namespaceSelector global", ingress(`{action: Allow, source: {namespaceSelector: " global( ) "}}`), "", ""},
		{"entity selector invalid", ingress(`{action: Allow, destination: {selector: "a = 'b'"}}`), "spec.ingress[0].destination.selector",
			"invalid selector: expected =="},
		{"service account selector", ingress(`{action: Allow, source: {serviceAccounts: {selector: "x ==", names: [a]}}}`),
			"spec.ingress[0].source.serviceAccounts.selector", "invalid selector"},
		{"service account name", ingress(`{action: Allow, source: {serviceAccounts: {names: [Bad_SA]}}}`),
			"spec.ingress[0].source.serviceAccounts.names[0]", "subdomain"},
	})
}

func TestValidateRuleServices(t *testing.T) {
	runValidation(t, []vcase{
		{"ingress destination services", ingress("{action: Allow, destination: {services: {name: a, namespace: b}}}"),
			"spec.ingress[0].destination.services", "not allowed in ingress rule destination"},
		{"egress source services", gnp("{egress: [{action: Allow, source: {services: {name: a, namespace: b}}}]}"),
			"spec.egress[0].source.services", "not allowed in egress rule source"},
		{"global services namespace", gnp("{egress: [{action: Allow, destination: {services: {name: a}}}]}"),
			"spec.egress[0].destination.services.namespace", "must specify a namespace"},
		{"namespaced services", np("{egress: [{action: Allow, destination: {services: {name: a}}}]}"), "", ""},
		{"services name", np("{ingress: [{action: Allow, source: {services: {namespace: b}}}]}"),
			"spec.ingress[0].source.services.name", "service name must be specified"},
		{"services with selector", np(`{ingress: [{action: Allow, source: {selector: "a == 'b'", services: {name: s}}}]}`),
			"spec.ingress[0].source.services", "services cannot be combined with selector"},
		{"services with ports", np("{egress: [{action: Allow, protocol: TCP, destination: {ports: [80], services: {name: s}}}]}"),
			"spec.egress[0].destination.services", "ports and notPorts cannot be specified with services"},
		{"services", gnp("{ingress: [{action: Allow, source: {services: {name: a, namespace: b}}}], egress: [{action: Allow, protocol: TCP, destination: {services: {name: kubernetes, namespace: default}}}]}"), "", ""},
	})
}
