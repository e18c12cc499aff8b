package controller

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultResyncPeriod  = 5 * time.Minute
	DefaultBatchDelay    = 50 * time.Millisecond
	DefaultWriteTimeout  = 10 * time.Second
	DefaultRetryDelay    = time.Second
	DefaultMaxRetryDelay = time.Minute
)

// Options configure AutoHEP. The zero value is usable: every zero field takes
// its default.
type Options struct {
	// ResyncPeriod is the time between periodic full syncs (default 5m).
	ResyncPeriod time.Duration
	// BatchDelay is how long node changes are collected before the dirty
	// nodes are synced (default 50ms, real time).
	BatchDelay time.Duration
	// WriteTimeout bounds every store call the controller makes (default 10s).
	WriteTimeout time.Duration
	// RetryDelay is the first delay before a failed sync is retried; it
	// doubles on each failing retry up to MaxRetryDelay (defaults 1s, 1m).
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Logger receives the controller's logs (default: discarded).
	Logger *slog.Logger
	// Clock drives the periodic resync and the retries (default: the system
	// clock).
	Clock Clock
	// Registerer, when set, gets the controller's Prometheus collectors.
	Registerer prometheus.Registerer
}

// withDefaults returns o with every unset or non-positive field defaulted.
func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ResyncPeriod, DefaultResyncPeriod)
	def(&o.BatchDelay, DefaultBatchDelay)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.RetryDelay, DefaultRetryDelay)
	def(&o.MaxRetryDelay, DefaultMaxRetryDelay)
	if o.MaxRetryDelay < o.RetryDelay {
		o.MaxRetryDelay = o.RetryDelay
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Clock == nil {
		o.Clock = SystemClock()
	}
	return o
}

// Clock is the controller's source of time.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer, as time.Timer.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// SystemClock returns the clock of package time.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

// NotReadyError says why the controller is not ready.
type NotReadyError struct{ Reason string }

func (e *NotReadyError) Error() string { return "automatic host endpoints not ready: " + e.Reason }

// WriteError is a failed store call on one host endpoint (or, with Op
// "list", on all of them).
type WriteError struct {
	Op   string // create, update, delete, list
	Name string
	Err  error
}

func (e *WriteError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("%s host endpoints: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("%s host endpoint %s: %v", e.Op, e.Name, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// ConfigError is a KubeControllersConfiguration the controller cannot act
// on; the controller leaves every endpoint alone until it is fixed.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string {
	return "KubeControllersConfiguration(default) controllers.node.hostEndpoint: " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }
