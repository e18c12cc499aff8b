package api

import (
	"strings"
	"testing"
)

func hep(spec string) string   { return res("HostEndpoint", "{name: h}", spec) }
func wep(spec string) string   { return res("WorkloadEndpoint", "{name: w, namespace: ns}", spec) }
func felix(spec string) string { return res("FelixConfiguration", "{name: default}", spec) }
func kcc(spec string) string   { return res("KubeControllersConfiguration", "{name: default}", spec) }
func node(spec string) string  { return res("Node", "{name: n1}", spec) }

// knp builds a networking.k8s.io/v1 NetworkPolicy.
func knp(spec string) string {
	return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: ns}\nspec: " + spec + "\n"
}

func TestValidateEndpoints(t *testing.T) {
	runValidation(t, []vcase{
		{"hep node required", hep("{interfaceName: eth0}"), "spec.node", "node must be specified"},
		{"hep node name", hep("{node: Node_1, interfaceName: eth0}"), "spec.node", "subdomain"},
		{"hep interface name", hep("{node: n, interfaceName: 'eth0:1'}"), "spec.interfaceName", "invalid interface name"},
		{"hep interface too long", hep("{node: n, interfaceName: a1234567890123456}"), "spec.interfaceName", "1-15 characters"},
		{"hep wildcard", hep(`{node: n, interfaceName: "*"}`), "", ""},
		{"hep expected ip", hep("{node: n, expectedIPs: [10.0.0.1/32]}"), "spec.expectedIPs[0]", "invalid IP address"},
		{"hep expected ips only", hep("{node: n, expectedIPs: [10.0.0.1, 'fd00::1']}"), "", ""},
		{"hep neither", hep("{node: n}"), "spec", "at least one of interfaceName or expectedIPs must be specified"},
		{"hep profiles", hep("{node: n, interfaceName: eth0, profiles: [Bad_Profile]}"), "spec.profiles[0]", "subdomain"},
		{"hep port name", hep("{node: n, interfaceName: eth0, ports: [{name: Bad_Port, protocol: TCP, port: 80}]}"),
			"spec.ports[0].name", "invalid port name"},
		{"hep port protocol", hep("{node: n, interfaceName: eth0, ports: [{name: ping, protocol: ICMP, port: 1}]}"),
			"spec.ports[0].protocol", "protocol must be TCP, UDP or SCTP"},
		{"hep port zero", hep("{node: n, interfaceName: eth0, ports: [{name: web, protocol: TCP, port: 0}]}"),
			"spec.ports[0].port", "1-65535"},
		{"hep ports", hep("{node: n, interfaceName: eth0, profiles: [projectcalico-default-allow], ports: [{name: web, protocol: 6, port: 80}]}"), "", ""},
		{"wep interface required", wep("{ipNetworks: [10.0.0.1/32]}"), "spec.interfaceName", "interfaceName must be specified"},
		{"wep network size", wep("{interfaceName: cali1, ipNetworks: [10.0.0.0/24]}"), "spec.ipNetworks[0]",
			"IP network contains multiple addresses"},
		{"wep nat outside", wep("{interfaceName: cali1, ipNetworks: [10.0.0.1/32], ipNATs: [{internalIP: 10.0.0.2, externalIP: 1.2.3.4}]}"),
			"spec.ipNATs[0].internalIP", "NAT is not in the endpoint networks"},
		{"wep gateway family", wep("{interfaceName: cali1, ipv6Gateway: 10.0.0.1}"), "spec.ipv6Gateway", "must be an IPv6 address"},
		{"wep mac", wep("{interfaceName: cali1, mac: 'zz:zz'}"), "spec.mac", "invalid MAC address"},
		{"wep port name", wep("{interfaceName: cali1, ports: [{protocol: TCP, port: 80}]}"), "spec.ports[0].name",
			"unless hostPort is set"},
		{"wep spoofed prefix", wep("{interfaceName: cali1, allowSpoofedSourcePrefixes: [nope]}"),
			"spec.allowSpoofedSourcePrefixes[0]", "invalid CIDR"},
		{"wep", wep(`{node: n1, orchestrator: k8s, pod: web-1, endpoint: eth0, interfaceName: cali0123456789a,
			ipNetworks: [10.0.0.1/32, 'fd00::1'], ipNATs: [{internalIP: 10.0.0.1, externalIP: 192.0.2.1}],
			ipv4Gateway: 169.254.1.1, mac: "ee:ee:ee:ee:ee:ee", profiles: [kns.ns, ksa.ns.default],
			ports: [{name: http, protocol: TCP, port: 80}, {protocol: UDP, port: 53, hostPort: 53, hostIP: 0.0.0.0}],
			allowSpoofedSourcePrefixes: [192.0.2.0/24]}`), "", ""},
	})
}

func TestValidateSetsProfilesTiersNodes(t *testing.T) {
	runValidation(t, []vcase{
		{"networkset net", res("NetworkSet", "{name: a}", "{nets: [10.0.0.0/33]}"), "spec.nets[0]", "invalid CIDR or IP address"},
		{"networkset host bits", res("GlobalNetworkSet", "{name: a, labels: {role: db}}", "{nets: [10.0.0.1/24, 192.0.2.7, 'fd00::/64']}"), "", ""},
		{"profile labels", res("Profile", "{name: a}", "{labelsToApply: {'-bad': x}}"), "spec.labelsToApply[-bad]", "invalid label key"},
		{"profile rules", res("Profile", "{name: a}", "{egress: [{action: Allow, destination: {ports: [53]}}]}"),
			"spec.egress[0].destination.ports", "must set protocol"},
		{"profile", res("Profile", "{name: kns.default}", "{ingress: [{action: Allow}], egress: [{action: Allow}], labelsToApply: {pcns.a: b}}"), "", ""},
		{"tier action", res("Tier", "{name: t}", "{defaultAction: Allow}"), "spec.defaultAction", "defaultAction must be Deny or Pass"},
		{"tier pass", res("Tier", "{name: t}", "{order: 100, defaultAction: Pass}"), "", ""},
		{"node empty bgp", node("{bgp: {}}"), "spec.bgp", "Spec.BGP should not be empty"},
		{"node bgp family", node("{bgp: {ipv4Address: 'fd00::1/64'}}"), "spec.bgp.ipv4Address", "must be an IPv4 address"},
		{"node route reflector", node("{bgp: {ipv4Address: 10.0.0.5/24, routeReflectorClusterID: x}}"),
			"spec.bgp.routeReflectorClusterID", "invalid IP address"},
		{"node vxlan mac", node("{vxlanTunnelMACAddr: nope}"), "spec.vxlanTunnelMACAddr", "invalid MAC address"},
		{"node address type", node("{addresses: [{address: 10.0.0.5, type: PublicIP}]}"), "spec.addresses[0].type", "must be one of"},
		{"node orchRef", node("{orchRefs: [{nodeName: n1}]}"), "spec.orchRefs[0].orchestrator", "must be specified"},
		{"node interface address", node("{interfaces: [{name: eth0, addresses: [bad]}]}"), "spec.interfaces[0].addresses[0]", "invalid IP"},
		{"node", node(`{bgp: {asNumber: 64512, ipv4Address: 10.0.0.5/24, ipv4IPIPTunnelAddr: 192.168.1.0},
			ipv4VXLANTunnelAddr: 192.168.2.1, vxlanTunnelMACAddr: "66:e0:1b:2c:3d:4e",
			wireguard: {interfaceIPv4Address: 192.168.3.1}, orchRefs: [{nodeName: n1, orchestrator: k8s}],
			addresses: [{address: 10.0.0.5/24, type: CalicoNodeIP}, {address: 10.0.0.5, type: InternalIP}],
			interfaces: [{name: eth0, addresses: [10.0.0.5]}]}`), "", ""},
	})
}

func TestValidateFelixConfiguration(t *testing.T) {
	runValidation(t, []vcase{
		{"failsafe sctp", felix("{failsafeInboundHostPorts: [{protocol: SCTP, port: 22}]}"),
			"spec.failsafeInboundHostPorts[0].protocol", "failsafe protocol must be TCP or UDP"},
		{"failsafe other", felix("{failsafeOutboundHostPorts: [{protocol: icmp, port: 1}]}"),
			"spec.failsafeOutboundHostPorts[0].protocol", "protocol must be 'TCP' or 'UDP'"},
		{"failsafe port", felix("{failsafeInboundHostPorts: [{protocol: TCP}]}"), "spec.failsafeInboundHostPorts[0].port", "must be specified"},
		{"failsafe net", felix("{failsafeInboundHostPorts: [{protocol: TCP, port: 22, net: x}]}"),
			"spec.failsafeInboundHostPorts[0].net", "invalid CIDR"},
		{"failsafe port range", felix("{failsafeInboundHostPorts: [{protocol: TCP, port: 65536}]}"),
			"spec.failsafeInboundHostPorts[0].port", "number out of range"},
		{"failsafes", felix("{failsafeInboundHostPorts: [{protocol: tcp, port: 22}, {port: 6443, net: 10.0.0.0/8}], failsafeOutboundHostPorts: []}"), "", ""},
		{"endpoint to host action", felix("{defaultEndpointToHostAction: Allow}"), "spec.defaultEndpointToHostAction", "Drop, Accept, Return"},
		{"endpoint to host action case", felix("{defaultEndpointToHostAction: ACCEPT}"), "", ""},
		{"filter allow action", felix("{iptablesFilterAllowAction: Drop}"), "spec.iptablesFilterAllowAction", "Accept, Return"},
		{"nft deny action", felix("{nftablesFilterDenyAction: Accept}"), "spec.nftablesFilterDenyAction", "Drop, Reject"},
		{"ip forwarding", felix("{ipForwarding: enabled}"), "spec.ipForwarding", "Enabled, Disabled"},
		{"log prefix", felix("{logPrefix: 'a;b'}"), "spec.logPrefix", "logPrefix may only contain"},
		{"node port ranges", felix("{kubeNodePortRanges: [http]}"), "spec.kubeNodePortRanges[0]", "port number or range"},
		{"chain insert mode", felix("{chainInsertMode: Prepend}"), "spec.chainInsertMode", "must match"},
		{"log rate limit", felix("{logActionRateLimit: 10/week}"), "spec.logActionRateLimit", "must match"},
		{"log rate burst", felix("{logActionRateLimitBurst: 10000}"), "spec.logActionRateLimitBurst", "0-9999"},
		{"unknown field", felix("{ipipEnabled: true, ipipenabled: true}"), "spec.ipipenabled", RuleUnknownField},
		{"felix", felix(`{defaultEndpointToHostAction: Return, iptablesFilterAllowAction: accept, iptablesFilterDenyAction: Reject,
			chainInsertMode: Append, iptablesBackend: NFT, nftablesMode: Enabled, logPrefix: "calico-drop %t %n",
			logActionRateLimit: 100/second, logActionRateLimitBurst: 5, kubeNodePortRanges: ["30000:32767", 40000],
			ipipEnabled: true, logSeverityScreen: Info, reportingInterval: 0s, healthPort: 9099,
			healthTimeoutOverrides: [{name: InternalDataplaneMainLoop, timeout: 90s}], routeTableRanges: [{min: 1, max: 250}],
			bpfConntrackTimeouts: {tcpEstablished: 1h}, natPortRange: "32768:65535", iptablesMarkMask: 0xffff0000}`), "", ""},
		{"felix nested extra", felix("{routeTableRange: {min: 1, maximum: 2}}"), "spec.routeTableRange.maximum", RuleUnknownField},
	})
}

func TestValidateKubeControllersConfiguration(t *testing.T) {
	runValidation(t, []vcase{
		{"log severity", kcc("{logSeverityScreen: Verbose, controllers: {}}"), "spec.logSeverityScreen", "must be one of"},
		{"metrics port", kcc("{prometheusMetricsPort: 70000, controllers: {}}"), "spec.prometheusMetricsPort", "0-65535"},
		{"auto create", kcc("{controllers: {node: {hostEndpoint: {autoCreate: true}}}}"),
			"spec.controllers.node.hostEndpoint.autoCreate", "Enabled, Disabled"},
		{"template name", kcc("{controllers: {node: {hostEndpoint: {templates: [{interfaceCIDRs: [10.0.0.0/8]}]}}}}"),
			"spec.controllers.node.hostEndpoint.templates[0].generateName", "Template name must be specified"},
		{"template name length", kcc("{controllers: {node: {hostEndpoint: {templates: [{generateName: " + strings.Repeat("a", 254) +
			", interfaceCIDRs: [10.0.0.0/8]}]}}}}"), "spec.controllers.node.hostEndpoint.templates[0].generateName",
			"Template name must be shorter than 253 characters"},
		{"template name unique", kcc("{controllers: {node: {hostEndpoint: {templates: [{generateName: a, interfaceCIDRs: [10.0.0.0/8]}, {generateName: a, interfacePattern: eth.*}]}}}}"),
			"spec.controllers.node.hostEndpoint.templates[1].generateName", "Template name must be unique"},
		{"template match", kcc("{controllers: {node: {hostEndpoint: {templates: [{generateName: a}]}}}}"),
			"spec.controllers.node.hostEndpoint.templates[0]", "InterfaceCIDRs or InterfacePattern must be specified"},
		{"template cidr", kcc("{controllers: {node: {hostEndpoint: {templates: [{generateName: a, interfaceCIDRs: [10.0.0.0]}]}}}}"),
			"spec.controllers.node.hostEndpoint.templates[0].interfaceCIDRs[0]", "invalid CIDR"},
		{"template pattern", kcc("{controllers: {node: {hostEndpoint: {templates: [{generateName: a, interfacePattern: '(eth'}]}}}}"),
			"spec.controllers.node.hostEndpoint.templates[0].interfacePattern", "invalid regular expression"},
		{"template selector", kcc(`{controllers: {node: {hostEndpoint: {templates: [{generateName: a, interfacePattern: eth0, nodeSelector: "a =="}]}}}}`),
			"spec.controllers.node.hostEndpoint.templates[0].nodeSelector", "invalid selector"},
		{"kcc", kcc(`{logSeverityScreen: Info, healthChecks: Enabled, etcdV3CompactionPeriod: 10m, prometheusMetricsPort: 9094,
			controllers: {node: {reconcilerPeriod: 5m, syncLabels: Enabled, leakGracePeriod: 15m,
			hostEndpoint: {autoCreate: Enabled, createDefaultHostEndpoint: Disabled, templates: [{generateName: int,
			interfaceCIDRs: [10.0.0.0/8], labels: {a: b}, nodeSelector: "has(a)"}]}},
			policy: {reconcilerPeriod: 5m}, loadBalancer: {assignIPs: AllServices}, migration: {policyNameMigrator: Enabled}}}`), "", ""},
	})
}

func TestValidateKubernetesNetworkPolicy(t *testing.T) {
	runValidation(t, []vcase{
		{"cidr", knp("{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.300/8}}]}]}"), "spec.egress[0].to[0].ipBlock.cidr", "must be a valid CIDR"},
		{"cidr bare ip", knp("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.1}}]}]}"), "spec.ingress[0].from[0].ipBlock.cidr", "valid CIDR"},
		{"except invalid", knp("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [x]}}]}]}"),
			"spec.ingress[0].from[0].ipBlock.except[0]", "must be a valid CIDR"},
		{"except outside", knp("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]}"),
			"spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of cidr"},
		{"except equal", knp("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]}"),
			"spec.ingress[0].from[0].ipBlock.except[0]", "strict subset"},
		{"except family", knp("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0, except: ['::/64']}}]}]}"),
			"spec.ingress[0].from[0].ipBlock.except[0]", "strict subset"},
		{"ipblock", knp("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.1.2.3/8, except: [10.1.0.0/16]}}]}]}"), "", ""},
		{"port zero", knp("{podSelector: {}, ingress: [{ports: [{port: 0}]}]}"), "spec.ingress[0].ports[0].port", "between 1 and 65535"},
		{"port large", knp("{podSelector: {}, ingress: [{ports: [{port: 70000}]}]}"), "spec.ingress[0].ports[0].port", "between 1 and 65535"},
		{"port name", knp("{podSelector: {}, ingress: [{ports: [{port: Web_1}]}]}"), "spec.ingress[0].ports[0].port", "invalid port name"},
		{"end port below", knp("{podSelector: {}, egress: [{ports: [{port: 100, endPort: 99}]}]}"), "spec.egress[0].ports[0].endPort",
			"greater than or equal to port"},
		{"end port named", knp("{podSelector: {}, egress: [{ports: [{port: http, endPort: 99}]}]}"), "spec.egress[0].ports[0].endPort",
			"numeric port"},
		{"protocol", knp("{podSelector: {}, egress: [{ports: [{protocol: ICMP}]}]}"), "spec.egress[0].ports[0].protocol", "TCP, UDP or SCTP"},
		{"ports", knp("{podSelector: {}, egress: [{ports: [{port: 32000, endPort: 32768}, {protocol: UDP, port: dns}, {protocol: SCTP}, {}]}]}"), "", ""},
		{"empty peer", knp("{podSelector: {}, ingress: [{from: [{}]}]}"), "spec.ingress[0].from[0]", "must specify a peer"},
		{"ipblock and selector", knp("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}"),
			"spec.ingress[0].from[0]", "may not specify both ipBlock and another peer"},
		{"selector operator", knp("{podSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}}"),
			"spec.podSelector", "invalid label selector"},
		{"peer selector", knp("{podSelector: {}, egress: [{to: [{namespaceSelector: {matchLabels: {'a b': c}}}]}]}"),
			"spec.egress[0].to[0].namespaceSelector", "invalid label selector"},
		{"policy type", knp("{podSelector: {}, policyTypes: [Both]}"), "spec.policyTypes[0]", "Ingress or Egress"},
		{"name", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: Bad_Name}\nspec: {}\n", "metadata.name", "subdomain"},
		{"staged action", res("StagedKubernetesNetworkPolicy", "{name: p}", "{stagedAction: Now}"), "spec.stagedAction", "Set, Delete"},
		{"staged delete", res("StagedKubernetesNetworkPolicy", "{name: p}", "{stagedAction: Delete, podSelector: {matchLabels: {a: b}}}"),
			"spec", "should all be zero-value"},
		{"staged rules", res("StagedKubernetesNetworkPolicy", "{name: p}", "{ingress: [{ports: [{port: 0}]}]}"),
			"spec.ingress[0].ports[0].port", "between 1 and 65535"},
		{"staged", res("StagedKubernetesNetworkPolicy", "{name: p}", "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {}}], ports: [{port: 80}]}]}"), "", ""},
		{"namespace name", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n", "metadata.name", "DNS-1123 label"},
		{"service name", "apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\n", "metadata.name", "DNS-1035"},
	})
}
