package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The FelixConfiguration spec fields Calico knows that palisade does not
// type, with the Go type used to check and convert them. Names and order
// follow Calico's FelixConfigurationSpec (api/pkg/apis/projectcalico/v3/
// felixconfig.go, v3.28 to master); a typed field of FelixConfigurationSpec
// appears in this list with a nil type so that output keeps Calico's order.
type felixField struct {
	name string
	typ  reflect.Type
}

type (
	felixHealthTimeoutOverride struct {
		Name    string          `json:"name"`
		Timeout metav1.Duration `json:"timeout"`
	}
	felixRouteTableRange struct {
		Min int `json:"min"`
		Max int `json:"max"`
	}
	felixBPFConntrackTimeouts struct {
		CreationGracePeriod string `json:"creationGracePeriod,omitempty"`
		TCPSynSent          string `json:"tcpSynSent,omitempty"`
		TCPEstablished      string `json:"tcpEstablished,omitempty"`
		TCPFinsSeen         string `json:"tcpFinsSeen,omitempty"`
		TCPResetSeen        string `json:"tcpResetSeen,omitempty"`
		UDPTimeout          string `json:"udpTimeout,omitempty"`
		GenericTimeout      string `json:"genericTimeout,omitempty"`
		ICMPTimeout         string `json:"icmpTimeout,omitempty"`
	}
)

var (
	tStr      = reflect.TypeFor[string]()
	tBool     = reflect.TypeFor[bool]()
	tInt      = reflect.TypeFor[int]()
	tUint32   = reflect.TypeFor[uint32]()
	tDuration = reflect.TypeFor[metav1.Duration]()
	tStrs     = reflect.TypeFor[[]string]()
	tStrMap   = reflect.TypeFor[map[string]string]()
	tPort     = reflect.TypeFor[Port]()
)

var felixFields = []felixField{
	{"useInternalDataplaneDriver", tBool}, {"dataplaneDriver", tStr}, {"dataplaneWatchdogTimeout", tDuration},
	{"ipv6Support", tBool}, {"routeRefreshInterval", tDuration}, {"interfaceRefreshInterval", tDuration},
	{"iptablesRefreshInterval", tDuration}, {"iptablesPostWriteCheckInterval", tDuration},
	{"iptablesLockFilePath", tStr}, {"iptablesLockTimeout", tDuration}, {"iptablesLockProbeInterval", tDuration},
	{"featureDetectOverride", tStr}, {"featureGates", tStr}, {"ipsetsRefreshInterval", tDuration},
	{"maxIpsetSize", tInt}, {"iptablesBackend", tStr}, {"xdpRefreshInterval", tDuration},
	{"netlinkTimeout", tDuration}, {"metadataAddr", tStr}, {"metadataPort", tInt}, {"openstackRegion", tStr},
	{"interfacePrefix", nil}, {"interfaceExclude", nil}, {"chainInsertMode", tStr},
	{"defaultEndpointToHostAction", nil}, {"iptablesFilterAllowAction", nil}, {"iptablesMangleAllowAction", nil},
	{"iptablesFilterDenyAction", nil}, {"logPrefix", nil}, {"logActionRateLimit", tStr},
	{"logActionRateLimitBurst", tInt}, {"logFilePath", tStr}, {"logSeverityFile", tStr},
	{"logSeverityScreen", tStr}, {"logSeveritySys", tStr}, {"logDebugFilenameRegex", tStr},
	{"ipipEnabled", tBool}, {"ipipMTU", tInt}, {"vxlanEnabled", tBool}, {"vxlanMTU", tInt},
	{"vxlanMTUV6", tInt}, {"vxlanPort", tInt}, {"vxlanVNI", tInt}, {"allowVXLANPacketsFromWorkloads", tBool},
	{"allowIPIPPacketsFromWorkloads", tBool}, {"reportingInterval", tDuration}, {"reportingTTL", tDuration},
	{"endpointReportingEnabled", tBool}, {"endpointReportingDelay", tDuration},
	{"endpointStatusPathPrefix", tStr}, {"iptablesMarkMask", tUint32}, {"disableConntrackInvalidCheck", nil},
	{"healthEnabled", tBool}, {"healthHost", tStr}, {"healthPort", tInt},
	{"healthTimeoutOverrides", reflect.TypeFor[[]felixHealthTimeoutOverride]()},
	{"prometheusMetricsEnabled", tBool}, {"prometheusMetricsHost", tStr}, {"prometheusMetricsPort", tInt},
	{"prometheusGoMetricsEnabled", tBool}, {"prometheusProcessMetricsEnabled", tBool},
	{"prometheusWireGuardMetricsEnabled", tBool}, {"failsafeInboundHostPorts", nil},
	{"failsafeOutboundHostPorts", nil}, {"kubeNodePortRanges", nil}, {"policySyncPathPrefix", tStr},
	{"usageReportingEnabled", tBool}, {"usageReportingInitialDelay", tDuration},
	{"usageReportingInterval", tDuration}, {"natPortRange", tPort}, {"natOutgoingAddress", tStr},
	{"natOutgoingExclusions", tStr}, {"deviceRouteSourceAddress", tStr}, {"deviceRouteSourceAddressIPv6", tStr},
	{"deviceRouteProtocol", tInt}, {"removeExternalRoutes", tBool}, {"programClusterRoutes", tStr},
	{"ipForwarding", nil}, {"externalNodesList", tStrs}, {"debugMemoryProfilePath", tStr},
	{"debugDisableLogDropping", tBool}, {"debugSimulateCalcGraphHangAfter", tDuration},
	{"debugSimulateDataplaneHangAfter", tDuration}, {"debugSimulateDataplaneApplyDelay", tDuration},
	{"debugHost", tStr}, {"debugPort", tInt}, {"iptablesNATOutgoingInterfaceFilter", tStr},
	{"sidecarAccelerationEnabled", tBool}, {"xdpEnabled", tBool}, {"genericXDPEnabled", tBool},
	{"nftablesMode", tStr}, {"nftablesRefreshInterval", tDuration}, {"nftablesFilterAllowAction", nil},
	{"nftablesMangleAllowAction", nil}, {"nftablesFilterDenyAction", nil}, {"nftablesMarkMask", tUint32},
	{"bpfEnabled", tBool}, {"bpfDisableUnprivileged", tBool}, {"bpfJITHardening", tStr},
	{"bpfLogLevel", tStr}, {"bpfConntrackLogLevel", tStr}, {"bpfConntrackMode", tStr},
	{"bpfConntrackTimeouts", reflect.TypeFor[felixBPFConntrackTimeouts]()}, {"bpfLogFilters", tStrMap},
	{"bpfCTLBLogFilter", tStr}, {"bpfDataIfacePattern", tStr}, {"bpfL3IfacePattern", tStr},
	{"bpfConnectTimeLoadBalancingEnabled", tBool}, {"bpfConnectTimeLoadBalancing", tStr},
	{"bpfHostNetworkedNATWithoutCTLB", tStr}, {"bpfExternalServiceMode", tStr}, {"bpfDSROptoutCIDRs", tStrs},
	{"bpfExtToServiceConnmark", tInt}, {"bpfKubeProxyIptablesCleanupEnabled", tBool},
	{"bpfKubeProxyMinSyncPeriod", tDuration}, {"bpfKubeProxyEndpointSlicesEnabled", tBool},
	{"bpfPSNATPorts", tPort}, {"bpfMapSizeNATFrontend", tInt}, {"bpfMapSizeNATBackend", tInt},
	{"bpfMapSizeNATAffinity", tInt}, {"bpfMapSizeRoute", tInt}, {"bpfMapSizeConntrack", tInt},
	{"bpfMapSizePerCpuConntrack", tInt}, {"bpfMapSizeConntrackScaling", tStr},
	{"bpfMapSizeConntrackCleanupQueue", tInt}, {"bpfMapSizeIPSets", tInt}, {"bpfMapSizeIfState", tInt},
	{"bpfMaglevMaxEndpointsPerService", tInt}, {"bpfMaglevMaxServices", tInt},
	{"bpfHostConntrackBypass", tBool}, {"bpfEnforceRPF", tStr}, {"bpfPolicyDebugEnabled", tBool},
	{"bpfForceTrackPacketsFromIfaces", tStrs}, {"bpfDisableGROForIfaces", tStr},
	{"bpfExcludeCIDRsFromNAT", tStrs}, {"bpfExportBufferSizeMB", tInt}, {"bpfAttachType", tStr},
	{"flowLogsPolicyEvaluationMode", tStr}, {"bpfRedirectToPeer", tStr}, {"flowLogsFlushInterval", tDuration},
	{"flowLogsCollectorDebugTrace", tBool}, {"flowLogsGoldmaneServer", tStr}, {"flowLogsLocalReporter", tStr},
	{"bpfProfiling", tStr}, {"routeSource", tStr},
	{"routeTableRanges", reflect.TypeFor[[]felixRouteTableRange]()},
	{"routeTableRange", reflect.TypeFor[felixRouteTableRange]()}, {"routeSyncDisabled", tBool},
	{"wireguardEnabled", tBool}, {"wireguardEnabledV6", tBool}, {"wireguardThreadingEnabled", tBool},
	{"wireguardListeningPort", tInt}, {"wireguardListeningPortV6", tInt}, {"wireguardRoutingRulePriority", tInt},
	{"wireguardInterfaceName", tStr}, {"wireguardInterfaceNameV6", tStr}, {"wireguardMTU", tInt},
	{"wireguardMTUV6", tInt}, {"wireguardHostEncryptionEnabled", tBool}, {"wireguardKeepAlive", tDuration},
	{"awsSrcDstCheck", tStr}, {"serviceLoopPrevention", nil}, {"workloadSourceSpoofing", nil},
	{"mtuIfacePattern", tStr}, {"floatingIPs", tStr}, {"windowsManageFirewallRules", tStr},
	{"goGCThreshold", tInt}, {"goMemoryLimitMB", tInt}, {"goMaxProcs", tInt}, {"requireMTUFile", tBool},
	{"cgroupV2Path", tStr},
	// Palisade's own fields, after Calico's.
	{"flowLogs", nil}, {"flowLogsRateLimit", nil}, {"flowLogsRateLimitBurst", nil},
}

var (
	felixExtraTypes = map[string]reflect.Type{} // untyped known fields
	felixOrder      = map[string]int{}          // output position of every field
	felixTypedType  = reflect.TypeFor[felixTyped]()
)

// felixTyped is FelixConfigurationSpec without its methods.
type felixTyped FelixConfigurationSpec

func init() {
	typed := structFields(felixTypedType)
	for i, f := range felixFields {
		felixOrder[f.name] = i
		if f.typ == nil {
			if _, ok := typed[f.name]; !ok {
				panic("api: felix field " + f.name + " is marked typed but FelixConfigurationSpec lacks it")
			}
			continue
		}
		felixExtraTypes[f.name] = f.typ
	}
	for name := range typed {
		if _, ok := felixOrder[name]; !ok {
			panic("api: typed felix field " + name + " missing from felixFields")
		}
	}
}

// IsFelixConfigurationField reports whether name is a FelixConfiguration spec
// field Calico knows.
func IsFelixConfigurationField(name string) bool {
	_, ok := felixOrder[name]
	return ok
}

// MarshalJSON writes typed fields and Extra together, in Calico's field order.
func (s FelixConfigurationSpec) MarshalJSON() ([]byte, error) {
	typed, err := json.Marshal(felixTyped(s))
	if err != nil {
		return nil, err
	}
	all := map[string]json.RawMessage{}
	if err := json.Unmarshal(typed, &all); err != nil {
		return nil, err
	}
	for k, v := range s.Extra {
		if _, clash := all[k]; !clash {
			all[k] = v
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, iok := felixOrder[keys[i]]
		oj, jok := felixOrder[keys[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, k)
		buf.WriteByte(':')
		buf.Write(all[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads the typed fields and keeps every other field Calico
// knows in Extra; a field Calico does not know is an error.
func (s *FelixConfigurationSpec) UnmarshalJSON(b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	typedNames := structFields(felixTypedType)
	typed := map[string]json.RawMessage{}
	var extra map[string]json.RawMessage
	for k, v := range all {
		switch {
		case typedNames[k].typ != nil:
			typed[k] = v
		case felixExtraTypes[k] != nil:
			if extra == nil {
				extra = map[string]json.RawMessage{}
			}
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return err
			}
			extra[k] = c.Bytes()
		default:
			return fmt.Errorf("unknown FelixConfiguration field %q", k)
		}
	}
	tb, err := json.Marshal(typed)
	if err != nil {
		return err
	}
	var t felixTyped
	if err := json.Unmarshal(tb, &t); err != nil {
		return err
	}
	t.Extra = extra
	*s = FelixConfigurationSpec(t)
	return nil
}

// felixSpec converts a FelixConfiguration spec: typed fields against their
// Go types, known untyped fields against their Calico types, anything else
// is an unknown field.
func (c *converter) felixSpec(n *yaml.Node, path string, buf *bytes.Buffer) {
	if n.Kind != yaml.MappingNode {
		c.fail(path, n, "expected an object")
		buf.WriteString("null")
		return
	}
	typed := structFields(felixTypedType)
	buf.WriteByte('{')
	first := true
	for _, p := range c.pairs(n, path) {
		name := p.key.Value
		fpath := joinPath(path, name)
		t := typed[name].typ
		if t == nil {
			t = felixExtraTypes[name]
		}
		if t == nil {
			c.fail(fpath, nil, RuleUnknownField)
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeJSONString(buf, name)
		buf.WriteByte(':')
		c.convert(p.val, t, fpath, buf)
	}
	buf.WriteByte('}')
}
