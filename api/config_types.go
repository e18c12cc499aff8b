package api

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FelixConfiguration holds per-cluster (name "default") or per-node (name
// "node.<node>") agent settings (docs/api.md §2.10).
type FelixConfiguration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              FelixConfigurationSpec `json:"spec,omitempty"`
}

// FelixConfigurationSpec types the fields that matter to policy. Every other
// field that Calico's FelixConfiguration knows is accepted, kept verbatim in
// Extra and written back on output; a field Calico does not know is an error.
type FelixConfigurationSpec struct {
	FailsafeInboundHostPorts     *[]ProtoPort `json:"failsafeInboundHostPorts,omitempty"`
	FailsafeOutboundHostPorts    *[]ProtoPort `json:"failsafeOutboundHostPorts,omitempty"`
	DefaultEndpointToHostAction  string       `json:"defaultEndpointToHostAction,omitempty"`
	InterfacePrefix              string       `json:"interfacePrefix,omitempty"`
	InterfaceExclude             string       `json:"interfaceExclude,omitempty"`
	IptablesFilterAllowAction    string       `json:"iptablesFilterAllowAction,omitempty"`
	IptablesMangleAllowAction    string       `json:"iptablesMangleAllowAction,omitempty"`
	IptablesFilterDenyAction     string       `json:"iptablesFilterDenyAction,omitempty"`
	NftablesFilterAllowAction    string       `json:"nftablesFilterAllowAction,omitempty"`
	NftablesMangleAllowAction    string       `json:"nftablesMangleAllowAction,omitempty"`
	NftablesFilterDenyAction     string       `json:"nftablesFilterDenyAction,omitempty"`
	LogPrefix                    string       `json:"logPrefix,omitempty"`
	KubeNodePortRanges           []Port       `json:"kubeNodePortRanges,omitempty"`
	ServiceLoopPrevention        string       `json:"serviceLoopPrevention,omitempty"`
	WorkloadSourceSpoofing       string       `json:"workloadSourceSpoofing,omitempty"`
	IPForwarding                 string       `json:"ipForwarding,omitempty"`
	DisableConntrackInvalidCheck *bool        `json:"disableConntrackInvalidCheck,omitempty"`

	// Palisade's own fields (Calico has no equivalent): flow logs.
	// FlowLogs is Disabled (default), Denied (log denied flows) or All
	// (denied flows and allowed new connections).
	FlowLogs string `json:"flowLogs,omitempty"`
	// FlowLogsRateLimit bounds, per node and per second, the packets the
	// kernel sends to the flow log (default 100); FlowLogsRateLimitBurst is
	// the burst above it (default 200).
	FlowLogsRateLimit      *int `json:"flowLogsRateLimit,omitempty"`
	FlowLogsRateLimitBurst *int `json:"flowLogsRateLimitBurst,omitempty"`

	// Extra holds the other Calico FelixConfiguration fields, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// ProtoPort is one failsafe entry.
type ProtoPort struct {
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
	Net      string `json:"net,omitempty"`
}

// KubeControllersConfiguration is the singleton "default" controller
// configuration (docs/api.md §2.11).
type KubeControllersConfiguration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              KubeControllersConfigurationSpec    `json:"spec,omitempty"`
	Status            *KubeControllersConfigurationStatus `json:"status,omitempty"`
}

// KubeControllersConfigurationSpec is the spec of KubeControllersConfiguration.
type KubeControllersConfigurationSpec struct {
	LogSeverityScreen      string            `json:"logSeverityScreen,omitempty"`
	HealthChecks           string            `json:"healthChecks,omitempty"`
	EtcdV3CompactionPeriod *metav1.Duration  `json:"etcdV3CompactionPeriod,omitempty"`
	PrometheusMetricsPort  *int              `json:"prometheusMetricsPort,omitempty"`
	DebugProfilePort       *int32            `json:"debugProfilePort,omitempty"`
	Controllers            ControllersConfig `json:"controllers"`
}

// ControllersConfig enables and configures each controller.
type ControllersConfig struct {
	Node             *NodeControllerConfig         `json:"node,omitempty"`
	Policy           *ReconcilerControllerConfig   `json:"policy,omitempty"`
	WorkloadEndpoint *ReconcilerControllerConfig   `json:"workloadEndpoint,omitempty"`
	ServiceAccount   *ReconcilerControllerConfig   `json:"serviceAccount,omitempty"`
	Namespace        *ReconcilerControllerConfig   `json:"namespace,omitempty"`
	LoadBalancer     *LoadBalancerControllerConfig `json:"loadBalancer,omitempty"`
	Migration        *MigrationControllerConfig    `json:"migration,omitempty"`
}

// NodeControllerConfig configures the node controller.
type NodeControllerConfig struct {
	ReconcilerPeriod *metav1.Duration        `json:"reconcilerPeriod,omitempty"`
	SyncLabels       string                  `json:"syncLabels,omitempty"`
	HostEndpoint     *AutoHostEndpointConfig `json:"hostEndpoint,omitempty"`
	LeakGracePeriod  *metav1.Duration        `json:"leakGracePeriod,omitempty"`
}

// AutoHostEndpointConfig configures automatic host endpoints (docs/api.md §7).
type AutoHostEndpointConfig struct {
	AutoCreate                string                     `json:"autoCreate,omitempty"`
	CreateDefaultHostEndpoint string                     `json:"createDefaultHostEndpoint,omitempty"`
	Templates                 []AutoHostEndpointTemplate `json:"templates,omitempty"`
}

// AutoHostEndpointTemplate generates extra host endpoints per node.
type AutoHostEndpointTemplate struct {
	GenerateName     string            `json:"generateName,omitempty"`
	InterfaceCIDRs   []string          `json:"interfaceCIDRs,omitempty"`
	InterfacePattern string            `json:"interfacePattern,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	Annotations      map[string]string `json:"annotations,omitempty"`
	NodeSelector     string            `json:"nodeSelector,omitempty"`
}

// ReconcilerControllerConfig configures a controller's reconcile period.
type ReconcilerControllerConfig struct {
	ReconcilerPeriod *metav1.Duration `json:"reconcilerPeriod,omitempty"`
}

// LoadBalancerControllerConfig configures the load balancer controller.
type LoadBalancerControllerConfig struct {
	AssignIPs string `json:"assignIPs,omitempty"`
}

// MigrationControllerConfig configures the migration controllers.
type MigrationControllerConfig struct {
	PolicyNameMigrator string `json:"policyNameMigrator,omitempty"`
}

// KubeControllersConfigurationStatus is written by the controllers.
type KubeControllersConfigurationStatus struct {
	RunningConfig   *KubeControllersConfigurationSpec `json:"runningConfig,omitempty"`
	EnvironmentVars map[string]string                 `json:"environmentVars,omitempty"`
}

// AutoHostEndpointsEnabled reports whether the configuration switches on
// automatic host endpoints.
func (k *KubeControllersConfiguration) AutoHostEndpointsEnabled() bool {
	n := k.Spec.Controllers.Node
	return n != nil && n.HostEndpoint != nil && n.HostEndpoint.AutoCreate == "Enabled"
}
