package k8sconv

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-net/palisade/api"
)

// Small constructors for table entries.

func proto(s string) *api.Protocol { p := api.ProtocolFromString(s); return &p }

func protoPtr(p corev1.Protocol) *corev1.Protocol { return &p }

func portNum(n int) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(int32(n))
	return networkingv1.NetworkPolicyPort{Port: &v}
}

func portName(s string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(s)
	return networkingv1.NetworkPolicyPort{Port: &v}
}

func withProto(p networkingv1.NetworkPolicyPort, pr corev1.Protocol) networkingv1.NetworkPolicyPort {
	p.Protocol = &pr
	return p
}

func withEnd(p networkingv1.NetworkPolicyPort, end int32) networkingv1.NetworkPolicyPort {
	p.EndPort = &end
	return p
}

func labels(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func knp(spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec:       spec,
	}
}

func ingressOnly(rules ...networkingv1.NetworkPolicyIngressRule) *networkingv1.NetworkPolicy {
	return knp(networkingv1.NetworkPolicySpec{Ingress: rules, PolicyTypes: []networkingv1.PolicyType{"Ingress"}})
}

func ingressPorts(ports ...networkingv1.NetworkPolicyPort) *networkingv1.NetworkPolicy {
	return ingressOnly(networkingv1.NetworkPolicyIngressRule{Ports: ports})
}

func dstPorts(p *api.Protocol, ports ...api.Port) api.Rule {
	return api.Rule{Action: api.Allow, Protocol: p, Destination: api.EntityRule{Ports: ports}}
}

func TestConvertIngressRules(t *testing.T) {
	tcp, udp, sctp := proto("TCP"), proto("UDP"), proto("SCTP")
	const orch = OrchestratorClause
	tests := []struct {
		name string
		in   *networkingv1.NetworkPolicy
		want []api.Rule
	}{
		{"no ports: any protocol", ingressOnly(networkingv1.NetworkPolicyIngressRule{}),
			[]api.Rule{{Action: api.Allow}}},
		{"missing protocol is TCP", ingressPorts(portNum(443)),
			[]api.Rule{dstPorts(tcp, api.SinglePort(443))}},
		{"protocols sorted SCTP < TCP < UDP", ingressPorts(withProto(portNum(53), "UDP"), portNum(80), withProto(portNum(9), "SCTP")),
			[]api.Rule{dstPorts(sctp, api.SinglePort(9)), dstPorts(tcp, api.SinglePort(80)), dstPorts(udp, api.SinglePort(53))}},
		{"ports merged into ranges", ingressPorts(portNum(82), portNum(80), portNum(9090), portNum(81)),
			[]api.Rule{dstPorts(tcp, api.PortRange(80, 82), api.SinglePort(9090))}},
		{"duplicate ports merge", ingressPorts(portNum(80), portNum(80)),
			[]api.Rule{dstPorts(tcp, api.SinglePort(80))}},
		{"endPort is a range", ingressPorts(withEnd(portNum(8000), 8080)),
			[]api.Rule{dstPorts(tcp, api.PortRange(8000, 8080))}},
		{"endPort equal to port", ingressPorts(withEnd(portNum(8000), 8000)),
			[]api.Rule{dstPorts(tcp, api.SinglePort(8000))}},
		{"overlapping ranges merge", ingressPorts(withEnd(portNum(10), 20), withEnd(portNum(15), 30), portNum(31)),
			[]api.Rule{dstPorts(tcp, api.PortRange(10, 31))}},
		{"named and numeric: single number keeps input order", ingressPorts(portNum(80), portName("http")),
			[]api.Rule{dstPorts(tcp, api.SinglePort(80), api.NamedPort("http"))}},
		{"named and numeric: merged numbers go after names", ingressPorts(portNum(80), portNum(81), portName("http")),
			[]api.Rule{dstPorts(tcp, api.NamedPort("http"), api.PortRange(80, 81))}},
		{"digit-only string port is numeric", ingressPorts(portName("8080")),
			[]api.Rule{dstPorts(tcp, api.SinglePort(8080))}},
		{"port-less entry absorbs earlier entries", ingressPorts(withProto(portNum(53), "UDP"), networkingv1.NetworkPolicyPort{Protocol: protoPtr("UDP")}),
			[]api.Rule{dstPorts(udp)}},
		{"port-less entry absorbs later entries", ingressPorts(networkingv1.NetworkPolicyPort{Protocol: protoPtr("UDP")}, withProto(portNum(53), "UDP"), portNum(80)),
			[]api.Rule{dstPorts(tcp, api.SinglePort(80)), dstPorts(udp)}},
		{"peers × protocols, protocols outermost", ingressOnly(networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{withProto(portNum(90), "UDP"), portNum(80)},
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: labels("k", "v")}, {PodSelector: labels("k2", "v2")}},
		}), []api.Rule{
			{Action: api.Allow, Protocol: tcp, Source: api.EntityRule{Selector: orch + " && k == 'v'"}, Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(80)}}},
			{Action: api.Allow, Protocol: tcp, Source: api.EntityRule{Selector: orch + " && k2 == 'v2'"}, Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(80)}}},
			{Action: api.Allow, Protocol: udp, Source: api.EntityRule{Selector: orch + " && k == 'v'"}, Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(90)}}},
			{Action: api.Allow, Protocol: udp, Source: api.EntityRule{Selector: orch + " && k2 == 'v2'"}, Destination: api.EntityRule{Ports: []api.Port{api.SinglePort(90)}}},
		}},
		{"ipBlock normalised, except kept", ingressOnly(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.1.2.3/16", Except: []string{"10.1.2.0/24", "10.1.3.7/24"}}}},
		}), []api.Rule{{Action: api.Allow, Source: api.EntityRule{Nets: []string{"10.1.0.0/16"}, NotNets: []string{"10.1.2.0/24", "10.1.3.0/24"}}}}},
		{"IPv6 ipBlock", ingressOnly(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "fd00:0:0:0::1/64", Except: []string{"fd00:0:0:0:8000::/65"}}}},
		}), []api.Rule{{Action: api.Allow, Source: api.EntityRule{Nets: []string{"fd00::/64"}, NotNets: []string{"fd00::8000:0:0:0/65"}}}}},
		{"empty namespaceSelector is all()", ingressOnly(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
		}), []api.Rule{{Action: api.Allow, Source: api.EntityRule{Selector: orch, NamespaceSelector: "all()"}}}},
		{"pod and namespace selector on one peer are ANDed", ingressOnly(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}, NamespaceSelector: labels("b", "2", "a", "1")}},
		}), []api.Rule{{Action: api.Allow, Source: api.EntityRule{Selector: orch, NamespaceSelector: "a == '1' && b == '2'"}}}},
		{"empty peer: pods of the policy's namespace (Calico)", ingressOnly(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{}},
		}), []api.Rule{{Action: api.Allow, Source: api.EntityRule{Selector: orch}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Convert(tc.in)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if diff := cmp.Diff(tc.want, got.Spec.Ingress); diff != "" {
				t.Errorf("ingress rules (-want +got):\n%s", diff)
			}
			if got.Spec.Egress != nil {
				t.Errorf("egress = %v, want none", got.Spec.Egress)
			}
		})
	}
}

func TestConvertEgressPutsPeerAndPortsInDestination(t *testing.T) {
	np := knp(networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{"Egress"},
		Egress: []networkingv1.NetworkPolicyEgressRule{{
			Ports: []networkingv1.NetworkPolicyPort{portNum(443)},
			To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"169.254.169.254/32"}}}},
		}},
	})
	got, err := Convert(np)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Rule{{Action: api.Allow, Protocol: proto("TCP"), Destination: api.EntityRule{
		Nets: []string{"0.0.0.0/0"}, NotNets: []string{"169.254.169.254/32"}, Ports: []api.Port{api.SinglePort(443)},
	}}}
	if diff := cmp.Diff(want, got.Spec.Egress); diff != "" {
		t.Errorf("egress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]api.PolicyType{api.PolicyTypeEgress}, got.Spec.Types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
}

func TestConvertIdentityAndTypes(t *testing.T) {
	ts := metav1.Unix(1700000000, 0)
	np := &networkingv1.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{Kind: "NetworkPolicy", APIVersion: "networking.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "allow-web", Namespace: "prod", UID: "1234", ResourceVersion: "42", CreationTimestamp: ts,
			Labels: map[string]string{"app": "x"}, Annotations: map[string]string{"a": "b"},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{
				MatchLabels: map[string]string{"tier": "web", "app": "shop"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod", "stage"}},
					{Key: "canary", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"yes"}},
					{Key: "owner", Operator: metav1.LabelSelectorOpExists},
					{Key: "legacy", Operator: metav1.LabelSelectorOpDoesNotExist},
				},
			},
			// Egress rules without the Egress type are converted but not enforced.
			Egress: []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
	got, err := Convert(np)
	if err != nil {
		t.Fatal(err)
	}
	order := 1000.0
	want := &api.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{Kind: "NetworkPolicy", APIVersion: "projectcalico.org/v3"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "allow-web", Namespace: "prod", UID: "1234", ResourceVersion: "42", CreationTimestamp: ts,
		},
		Spec: api.NetworkPolicySpec{
			Tier:  "default",
			Order: &order,
			Selector: "projectcalico.org/orchestrator == 'k8s' && app == 'shop' && tier == 'web'" +
				" && env in { 'prod', 'stage' } && canary not in { 'yes' } && has(owner) && ! has(legacy)",
			Types:  []api.PolicyType{api.PolicyTypeIngress},
			Egress: []api.Rule{{Action: api.Allow}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Convert (-want +got):\n%s", diff)
	}
}

func TestApplyDefaults(t *testing.T) {
	tests := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want []networkingv1.PolicyType
	}{
		{"no rules", networkingv1.NetworkPolicySpec{}, []networkingv1.PolicyType{"Ingress"}},
		{"egress rules", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}},
			[]networkingv1.PolicyType{"Ingress", "Egress"}},
		{"empty egress list does not add Egress", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{}},
			[]networkingv1.PolicyType{"Ingress"}},
		{"explicit types kept", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Egress"}},
			[]networkingv1.PolicyType{"Egress"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := knp(tc.spec)
			got := ApplyDefaults(in)
			if diff := cmp.Diff(tc.want, got.Spec.PolicyTypes); diff != "" {
				t.Errorf("policyTypes (-want +got):\n%s", diff)
			}
			if in.Spec.PolicyTypes != nil && len(tc.spec.PolicyTypes) == 0 {
				t.Errorf("input was modified")
			}
		})
	}
	in := ingressPorts(portNum(80), withProto(portNum(53), "UDP"))
	got := ApplyDefaults(in)
	if p := got.Spec.Ingress[0].Ports[0].Protocol; p == nil || *p != corev1.ProtocolTCP {
		t.Errorf("port protocol not defaulted to TCP: %v", p)
	}
	if in.Spec.Ingress[0].Ports[0].Protocol != nil {
		t.Errorf("input port was modified")
	}
}

func TestSimplifyPorts(t *testing.T) {
	p, r, n := api.SinglePort, api.PortRange, api.NamedPort
	tests := []struct {
		name     string
		in, want []api.Port
	}{
		{"nil", nil, nil},
		{"one", []api.Port{p(5)}, []api.Port{p(5)}},
		{"one range alone", []api.Port{r(1, 9)}, []api.Port{r(1, 9)}},
		{"Calico doc example", []api.Port{p(80), p(81), p(82), p(9090), n("foo")}, []api.Port{n("foo"), r(80, 82), p(9090)}},
		{"only names keep order", []api.Port{n("b"), n("a")}, []api.Port{n("b"), n("a")}},
		{"range then name, range counts as many", []api.Port{r(1, 2), n("x")}, []api.Port{n("x"), r(1, 2)}},
		{"adjacent ranges join", []api.Port{r(10, 19), r(20, 29)}, []api.Port{r(10, 29)}},
		{"contained range", []api.Port{r(1, 100), p(50)}, []api.Port{r(1, 100)}},
		{"edges", []api.Port{p(65535), p(1), p(65534)}, []api.Port{p(1), r(65534, 65535)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, simplifyPorts(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvertRejectsBadFields(t *testing.T) {
	peerRule := func(peer networkingv1.NetworkPolicyPeer) *networkingv1.NetworkPolicy {
		return ingressOnly(networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{peer}})
	}
	block := func(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
	}
	tests := []struct {
		name      string
		in        *networkingv1.NetworkPolicy
		fields    []string // expected FieldError.Field values, in order
		nilPolicy bool
	}{
		{"bad cidr", peerRule(block("10.0.0/8")), []string{"spec.ingress[0].from[0].ipBlock.cidr"}, false},
		{"bare IP cidr", peerRule(block("10.0.0.1")), []string{"spec.ingress[0].from[0].ipBlock.cidr"}, false},
		{"empty cidr", peerRule(block("")), []string{"spec.ingress[0].from[0].ipBlock.cidr"}, false},
		{"bad except", peerRule(block("10.0.0.0/8", "10.1.0.0/16", "bogus")), []string{"spec.ingress[0].from[0].ipBlock.except[1]"}, false},
		{"except outside cidr", peerRule(block("10.0.0.0/8", "11.0.0.0/16")), []string{"spec.ingress[0].from[0].ipBlock.except[0]"}, false},
		{"except equal to cidr", peerRule(block("10.0.0.0/8", "10.0.0.0/8")), []string{"spec.ingress[0].from[0].ipBlock.except[0]"}, false},
		{"except other family", peerRule(block("10.0.0.0/8", "fd00::/64")), []string{"spec.ingress[0].from[0].ipBlock.except[0]"}, false},
		{"ipBlock with podSelector", peerRule(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: labels("a", "b")}),
			[]string{"spec.ingress[0].from[0]"}, false},
		{"port zero", ingressPorts(portNum(0)), []string{"spec.ingress[0].ports[0].port"}, false},
		{"port too big", ingressPorts(portNum(70000)), []string{"spec.ingress[0].ports[0].port"}, false},
		{"endPort below port", ingressPorts(withEnd(portNum(90), 80)), []string{"spec.ingress[0].ports[0].endPort"}, false},
		{"endPort too big", ingressPorts(withEnd(portNum(90), 70000)), []string{"spec.ingress[0].ports[0].endPort"}, false},
		{"endPort without port", ingressPorts(networkingv1.NetworkPolicyPort{EndPort: new(int32(9))}), []string{"spec.ingress[0].ports[0].endPort"}, false},
		{"endPort with named port", ingressPorts(withEnd(portName("http"), 90)), []string{"spec.ingress[0].ports[0].endPort"}, false},
		{"invalid port name", ingressPorts(portNum(80), portName("-50:-1")), []string{"spec.ingress[0].ports[1].port"}, false},
		{"empty port name", ingressPorts(portName("")), []string{"spec.ingress[0].ports[0].port"}, false},
		{"bad protocol", ingressPorts(withProto(portNum(80), "tcp")), []string{"spec.ingress[0].ports[0].protocol"}, false},
		{"bad peer selector operator", peerRule(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Gt", Values: []string{"1"}}}}}),
			[]string{"spec.ingress[0].from[0].podSelector.matchExpressions[0].operator"}, false},
		{"In without values", peerRule(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "In"}}}}),
			[]string{"spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values"}, false},
		{"Exists with values", peerRule(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Exists", Values: []string{"x"}}}}}),
			[]string{"spec.ingress[0].from[0].podSelector.matchExpressions[0].values"}, false},
		{"label value with a quote", peerRule(networkingv1.NetworkPolicyPeer{PodSelector: labels("a", "x' || all() || '")}),
			[]string{"spec.ingress[0].from[0].podSelector.matchLabels[a]"}, false},
		{"bad policy selector key", knp(networkingv1.NetworkPolicySpec{PodSelector: *labels("bad key", "v")}),
			[]string{"spec.podSelector.matchLabels[bad key]"}, true},
		{"unknown policy type", knp(networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "egress"}}),
			[]string{"spec.policyTypes[1]"}, true},
		{"no namespace", &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "x"}},
			[]string{"metadata.namespace"}, true},
		{"policy-level and rule errors reported together", knp(networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{"ingress"},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{block("300.0.0.0/8")}}},
		}), []string{"spec.policyTypes[0]", "spec.ingress[0].from[0].ipBlock.cidr"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Convert(tc.in)
			var cerr *ConversionError
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v, want a *ConversionError", err)
			}
			var fields []string
			for _, fe := range cerr.Errors {
				fields = append(fields, fe.Field)
			}
			if diff := cmp.Diff(tc.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.Contains(err.Error(), "error with field "+tc.fields[0]) {
				t.Errorf("message %q does not name the field", err)
			}
			if (got == nil) != tc.nilPolicy {
				t.Fatalf("policy nil = %v, want %v", got == nil, tc.nilPolicy)
			}
			if got != nil && (len(got.Spec.Ingress) != 0 || len(cerr.DroppedIngress) != 1) {
				t.Errorf("bad rule kept: ingress %v, dropped %v", got.Spec.Ingress, cerr.DroppedIngress)
			}
		})
	}
}

// A bad rule is left out, the good ones stay, and the error says which.
func TestConvertDropsOnlyBadRules(t *testing.T) {
	np := knp(networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"},
		Ingress: []networkingv1.NetworkPolicyIngressRule{
			{Ports: []networkingv1.NetworkPolicyPort{portNum(80)}},
			{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/33"}}}},
			{Ports: []networkingv1.NetworkPolicyPort{portNum(443)}},
		},
		Egress: []networkingv1.NetworkPolicyEgressRule{
			{Ports: []networkingv1.NetworkPolicyPort{portNum(80), portName("-22:-3")}, To: []networkingv1.NetworkPolicyPeer{{PodSelector: labels("k", "v")}}},
		},
	})
	got, err := Convert(np)
	var cerr *ConversionError
	if !errors.As(err, &cerr) || got == nil {
		t.Fatalf("got %v, %v; want a policy and a *ConversionError", got, err)
	}
	tcp := proto("TCP")
	want := []api.Rule{dstPorts(tcp, api.SinglePort(80)), dstPorts(tcp, api.SinglePort(443))}
	if diff := cmp.Diff(want, got.Spec.Ingress); diff != "" {
		t.Errorf("ingress (-want +got):\n%s", diff)
	}
	if got.Spec.Egress != nil {
		t.Errorf("egress = %v, want the bad rule dropped", got.Spec.Egress)
	}
	if diff := cmp.Diff([]int{1}, cerr.DroppedIngress); diff != "" {
		t.Errorf("DroppedIngress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0}, cerr.DroppedEgress); diff != "" {
		t.Errorf("DroppedEgress (-want +got):\n%s", diff)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "spec.ingress[1].from[0].ipBlock.cidr" || fe.Value != "10.0.0.0/33" {
		t.Errorf("first field error = %+v", fe)
	}
}
