package api

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func TestLookupKind(t *testing.T) {
	tests := map[string]string{
		"gnp": KindGlobalNetworkPolicy, "GlobalNetworkPolicies": KindGlobalNetworkPolicy, "GNPS": KindGlobalNetworkPolicy,
		"policy": KindNetworkPolicy, "pols": KindNetworkPolicy, "np": KindNetworkPolicy, "networkpolicies": KindNetworkPolicy,
		"sgnp": KindStagedGlobalNetworkPolicy, "stagedpolicies": KindStagedNetworkPolicy, "spol": KindStagedNetworkPolicy,
		"sknp": KindStagedKubernetesNetworkPolicy, "stagedkubernetespolicy": KindStagedKubernetesNetworkPolicy,
		"tiers": KindTier, "hep": KindHostEndpoint, "HostEndpoints": KindHostEndpoint, "weps": KindWorkloadEndpoint,
		"pro": KindProfile, "gnetsets": KindGlobalNetworkSet, "netsets": KindNetworkSet, "networkset": KindNetworkSet,
		"felixconfig": KindFelixConfiguration, "FelixConfigurations": KindFelixConfiguration,
		"kubecontrollersconfig": KindKubeControllersConfiguration, "no": KindNode, "nos": KindNode, "Nodes": KindNode,
	}
	for alias, want := range tests {
		if got, ok := LookupKind(alias); !ok || got != want {
			t.Errorf("LookupKind(%q) = %q, %v; want %q", alias, got, ok, want)
		}
	}
	for _, bad := range []string{"", "somekind", "netpol", "pod"} {
		if got, ok := LookupKind(bad); ok {
			t.Errorf("LookupKind(%q) = %q, want no match", bad, got)
		}
	}
}

func TestPlural(t *testing.T) {
	tests := map[string]string{
		KindGlobalNetworkPolicy: "globalnetworkpolicies", KindStagedGlobalNetworkPolicy: "stagedglobalnetworkpolicies",
		KindNetworkPolicy: "networkpolicies", KindStagedNetworkPolicy: "stagednetworkpolicies",
		KindStagedKubernetesNetworkPolicy: "stagedkubernetesnetworkpolicies", KindHostEndpoint: "hostendpoints",
		KindWorkloadEndpoint: "workloadendpoints", KindProfile: "profiles", KindGlobalNetworkSet: "globalnetworksets",
		KindNetworkSet: "networksets", KindTier: "tiers", KindFelixConfiguration: "felixconfigurations",
		KindKubeControllersConfiguration: "kubecontrollersconfigurations", KindNode: "nodes",
		"ClusterInformation": "clusterinformations", "IPPool": "ippools", "IPReservation": "ipreservations",
		"BGPConfiguration": "bgpconfigurations", "BGPPeer": "bgppeers", "IPAMConfiguration": "ipamconfigurations",
		"CalicoNodeStatus": "caliconodestatuses", KindNamespace: "namespaces", KindServiceAccount: "serviceaccounts",
	}
	for kind, want := range tests {
		if got := Plural(kind); got != want {
			t.Errorf("Plural(%q) = %q, want %q", kind, got, want)
		}
	}
}

func TestIsNamespaced(t *testing.T) {
	namespaced := []string{KindNetworkPolicy, KindStagedNetworkPolicy, KindStagedKubernetesNetworkPolicy,
		KindWorkloadEndpoint, KindNetworkSet, KindPod, KindService, KindServiceAccount}
	cluster := []string{KindGlobalNetworkPolicy, KindStagedGlobalNetworkPolicy, KindTier, KindHostEndpoint,
		KindProfile, KindGlobalNetworkSet, KindFelixConfiguration, KindKubeControllersConfiguration, KindNode,
		KindNamespace, "Unknown"}
	for _, k := range namespaced {
		if !IsNamespaced(k) {
			t.Errorf("IsNamespaced(%s) = false", k)
		}
	}
	for _, k := range cluster {
		if IsNamespaced(k) {
			t.Errorf("IsNamespaced(%s) = true", k)
		}
	}
}

func TestNew(t *testing.T) {
	for _, kind := range CalicoKinds() {
		o, err := New(kind, GroupVersionV3)
		if err != nil {
			t.Fatalf("New(%s): %v", kind, err)
		}
		if KindOf(o) != kind || o.GetObjectKind().GroupVersionKind().GroupVersion().String() != GroupVersionV3 {
			t.Errorf("New(%s) = %T with %v", kind, o, o.GetObjectKind().GroupVersionKind())
		}
		if IsKubernetes(o) {
			t.Errorf("New(%s) is a Kubernetes type", kind)
		}
	}
	if o, err := New(KindNetworkPolicy, GroupVersionNetV1); err != nil {
		t.Error(err)
	} else if _, ok := o.(*networkingv1.NetworkPolicy); !ok {
		t.Errorf("networking/v1 NetworkPolicy is %T", o)
	}
	if o, err := New(KindNode, GroupVersionCoreV1); err != nil {
		t.Error(err)
	} else if _, ok := o.(*corev1.Node); !ok {
		t.Errorf("v1 Node is %T", o)
	}
	o, err := New(KindTier, GroupVersionCRDV1)
	if err != nil || o.GetObjectKind().GroupVersionKind().GroupVersion().String() != GroupVersionV3 {
		t.Errorf("crd v1 Tier: %v %v", o, err)
	}
	_, err = New("Deployment", "apps/v1")
	if err == nil || err.Error() != "unknown resource type (Deployment) and/or version (apps/v1)" {
		t.Errorf("Deployment: %v", err)
	}
	if _, err := New(KindHostEndpoint, "projectcalico.org/v2"); !IsUnknownKind(err) {
		t.Errorf("v2: %v", err)
	}
}

func TestDefaultNamespace(t *testing.T) {
	np, gnp := &NetworkPolicy{}, &GlobalNetworkPolicy{}
	DefaultNamespace(np, "prod")
	DefaultNamespace(gnp, "prod")
	if np.Namespace != "prod" || gnp.Namespace != "" {
		t.Errorf("np %q gnp %q", np.Namespace, gnp.Namespace)
	}
	np.Namespace = "dev"
	DefaultNamespace(np, "prod")
	if np.Namespace != "dev" {
		t.Errorf("existing namespace overwritten: %q", np.Namespace)
	}
}

func TestFelixFieldList(t *testing.T) {
	for _, name := range []string{"ipipEnabled", "logSeverityScreen", "reportingInterval", "vxlanEnabled",
		"wireguardEnabled", "bpfEnabled", "healthPort", "prometheusMetricsEnabled", "routeRefreshInterval",
		"iptablesRefreshInterval", "failsafeInboundHostPorts", "defaultEndpointToHostAction", "chainInsertMode",
		"iptablesBackend", "nftablesMode", "policySyncPathPrefix", "endpointStatusPathPrefix", "logActionRateLimit",
		"logActionRateLimitBurst", "xdpEnabled", "genericXDPEnabled", "ipsetsRefreshInterval", "xdpRefreshInterval",
		"nftablesRefreshInterval", "nftablesMarkMask"} {
		if !IsFelixConfigurationField(name) {
			t.Errorf("%s is not a known FelixConfiguration field", name)
		}
	}
	if IsFelixConfigurationField("ipipenabled") || IsFelixConfigurationField("bogus") {
		t.Error("unknown names accepted")
	}
	_, err := DecodeOne("f", []byte("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\n"+
		"metadata: {name: default}\nspec: {ipipEnabled: maybe, reportingInterval: 30, bogusField: 1}\n"))
	for _, want := range []string{"spec.ipipEnabled: expected a boolean", "spec.reportingInterval: expected a string, got number",
		"spec.bogusField: " + RuleUnknownField} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}
