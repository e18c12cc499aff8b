package agent

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/palisade-net/palisade/cni"
)

// Defaults of Config.
const (
	DefaultHealthListen    = "127.0.0.1:9091"
	DefaultBatchDelay      = 10 * time.Millisecond
	DefaultMaxBatchDelay   = 50 * time.Millisecond
	DefaultRetryDelay      = 100 * time.Millisecond
	DefaultMaxRetryDelay   = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultApplyTimeout    = 30 * time.Second
	DefaultProbeInterval   = time.Second
	DefaultProbeTimeout    = 1500 * time.Millisecond
	DefaultDriftInterval   = 500 * time.Millisecond
	DefaultDriftResync     = 10 * time.Second
	DefaultLivenessTimeout = 90 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultCNIStateDir     = "/var/run/palisade"
	// HostnameLabel is the label every registered node carries.
	HostnameLabel = "kubernetes.io/hostname"
)

// Config configures an Agent. The zero value of every field but Node takes
// its default (Defaults).
type Config struct {
	// Node is the name of this node (required; the CLI defaults it to the
	// hostname).
	Node string
	// NodeLabels are merged into the Calico Node's labels at registration,
	// with kubernetes.io/hostname=Node.
	NodeLabels map[string]string
	// HealthListen is the address of /liveness, /readiness and /metrics
	// (default 127.0.0.1:9091; port 0 picks a free one; "-" disables them).
	HealthListen string
	// BatchDelay is the quiet period that ends a burst of changes, and
	// MaxBatchDelay bounds how long a change waits for the burst to end
	// (defaults 10ms and 50ms).
	BatchDelay, MaxBatchDelay time.Duration
	// RetryDelay is the first delay before a failed transaction is retried;
	// it doubles up to MaxRetryDelay (defaults 100ms, 10s). The same pacing
	// applies to failed registrations and watch starts.
	RetryDelay, MaxRetryDelay time.Duration
	// WriteTimeout bounds every datastore call (default 10s).
	WriteTimeout time.Duration
	// ApplyTimeout bounds one kernel transaction (default 30s).
	ApplyTimeout time.Duration
	// ProbeInterval is the period of the datastore read behind readiness
	// (default 1s), and ProbeTimeout bounds that read (default 1.5s): a
	// lost datastore makes the agent unready within their sum.
	ProbeInterval, ProbeTimeout time.Duration
	// DriftInterval is the period at which the agent reads its table back
	// from the kernel and restores it when anything else changed or
	// removed it (default 500ms), when the applier cannot monitor changes;
	// with a monitor (the kernel applier has one) every reported change is
	// checked at once, and the table is read back every DriftResync
	// (default 10s) as a safety net.
	DriftInterval, DriftResync time.Duration
	// LivenessTimeout: /liveness fails when the main loop has not turned
	// for this long (default 90s, above ApplyTimeout).
	LivenessTimeout time.Duration
	// ShutdownTimeout bounds stopping (default 10s).
	ShutdownTimeout time.Duration
	// Engine is EngineIncremental (calc.Engine, the default) or
	// EngineRebuild (policy.NewModel over every object, per batch).
	Engine string
	// Rules is RulesCompiled (the default: each endpoint's policy becomes
	// identity and verdict map lookups, render.Compile) or RulesLinear (one
	// nft rule per policy rule, walked in order).
	Rules string
	// NoRegister stops the agent from writing its Node to the datastore;
	// the local model still gets the discovered interfaces.
	NoRegister bool
	// CNISocket, when set, is the unix socket (mode 0600) on which the
	// agent serves palisade-cni, the chained CNI plugin (package cni).
	CNISocket string
	// CNIStateDir keeps the plugin's attachments across restarts (default
	// /var/run/palisade).
	CNIStateDir string
	// CNIConfDir, when set (with CNISocket), is the CNI configuration
	// directory (/etc/cni/net.d) the agent keeps palisade-cni in: inserted
	// before the agent reports ready, re-inserted when the primary CNI
	// rewrites its file, removed when the agent stops.
	CNIConfDir string
	// CNITimeout is the plugin's policySetupTimeoutSeconds (default 10s).
	CNITimeout time.Duration
	// RuleMetrics sets the granularity of palisade_rule_packets_total and
	// palisade_rule_bytes_total: RuleMetricsRules (default, one series per
	// rule), RuleMetricsPolicies (a policy's rules summed) or RuleMetricsOff.
	RuleMetrics string
	// FlowLogFile, when set, is a file the agent appends each flow log
	// record to as a JSON line (flow logs are turned on by FelixConfiguration
	// spec.flowLogs). FlowLogBuffer is how many recent records /flows keeps
	// (default 10000).
	FlowLogFile   string
	FlowLogBuffer int
	// StateFile is where the agent keeps the ruleset it applied, so that a
	// restart takes over the kernel's table instead of reloading it
	// (default /var/run/palisade/ruleset-<node>.state; "-": never).
	StateFile string
	// Logger receives the agent's logs (default: discarded).
	Logger *slog.Logger
}

// ConfigError is a configuration the agent cannot start with.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("agent configuration: %s: %v", e.Field, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Defaults returns c with every unset field defaulted.
func (c Config) Defaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.BatchDelay, DefaultBatchDelay)
	def(&c.MaxBatchDelay, DefaultMaxBatchDelay)
	def(&c.RetryDelay, DefaultRetryDelay)
	def(&c.MaxRetryDelay, DefaultMaxRetryDelay)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.ApplyTimeout, DefaultApplyTimeout)
	def(&c.ProbeInterval, DefaultProbeInterval)
	def(&c.ProbeTimeout, DefaultProbeTimeout)
	def(&c.DriftInterval, DefaultDriftInterval)
	def(&c.DriftResync, DefaultDriftResync)
	def(&c.LivenessTimeout, DefaultLivenessTimeout)
	def(&c.ShutdownTimeout, DefaultShutdownTimeout)
	c.MaxBatchDelay = max(c.MaxBatchDelay, c.BatchDelay)
	c.MaxRetryDelay = max(c.MaxRetryDelay, c.RetryDelay)
	if c.HealthListen == "" {
		c.HealthListen = DefaultHealthListen
	}
	if c.Engine == "" {
		c.Engine = EngineIncremental
	}
	if c.Rules == "" {
		c.Rules = RulesCompiled
	}
	if c.RuleMetrics == "" {
		c.RuleMetrics = RuleMetricsRules
	}
	if c.StateFile == "" && c.Node != "" {
		c.StateFile = filepath.Join(DefaultCNIStateDir, "ruleset-"+c.Node+".state")
	}
	if c.CNIStateDir == "" {
		c.CNIStateDir = DefaultCNIStateDir
	}
	def(&c.CNITimeout, cni.DefaultTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate reports the first problem with a defaulted configuration.
func (c Config) Validate() error {
	if c.Node == "" {
		return &ConfigError{Field: "node", Err: fmt.Errorf("must not be empty")}
	}
	if errs := validation.IsDNS1123Subdomain(c.Node); len(errs) > 0 {
		return &ConfigError{Field: "node", Err: fmt.Errorf("%q: %s", c.Node, errs[0])}
	}
	for k, v := range c.NodeLabels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return &ConfigError{Field: "node-labels", Err: fmt.Errorf("key %q: %s", k, errs[0])}
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return &ConfigError{Field: "node-labels", Err: fmt.Errorf("value %q of %s: %s", v, k, errs[0])}
		}
	}
	if c.Engine != EngineIncremental && c.Engine != EngineRebuild {
		return &ConfigError{Field: "engine", Err: fmt.Errorf("%q is not %s or %s", c.Engine, EngineIncremental, EngineRebuild)}
	}
	if err := ValidRules(c.Rules); err != nil {
		return &ConfigError{Field: "rules", Err: err}
	}
	if err := validRuleMetrics(c.RuleMetrics); err != nil {
		return &ConfigError{Field: "rule-metrics", Err: err}
	}
	if c.HealthListen != "-" {
		if _, _, err := net.SplitHostPort(c.HealthListen); err != nil {
			return &ConfigError{Field: "health-listen", Err: err}
		}
	}
	return nil
}
