package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/integrity"
	"github.com/palisade-net/palisade/store"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Datastore selection, as calicoctl does it (docs/api.md §8.1): the
// --etcd-endpoints flag, then the environment (ETCD_ENDPOINTS,
// ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE), then the config file
// (-c/--config, palisade's own or a calicoctl CalicoAPIConfig document),
// then http://127.0.0.1:2379.

// DefaultConfigPath is where the datastore commands look for their
// configuration when -c is not given; a missing file there is not an error.
const DefaultConfigPath = "/etc/palisade/palisade.cfg"

// newStore opens the datastore; tests replace it to inject a store.
var newStore = func(cfg store.EtcdConfig) (store.Store, error) {
	e, err := store.NewEtcd(cfg)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// getenv reads the environment; tests replace it.
var getenv = os.Getenv

// opTimeout bounds one datastore call on top of the store's own timeouts,
// so that no command can hang.
const opTimeout = 15 * time.Second

// datastoreOpts are the flags every datastore command shares.
type datastoreOpts struct {
	endpoints string
	config    string
	cmd       *cobra.Command // to tell whether -c was given
}

func addDatastoreFlags(c *cobra.Command, o *datastoreOpts) {
	o.cmd = c
	f := c.Flags()
	f.StringVar(&o.endpoints, "etcd-endpoints", "",
		"comma-separated etcd endpoints (http://, https://, unix://); overrides $ETCD_ENDPOINTS and the config file")
	f.StringVarP(&o.config, "config", "c", DefaultConfigPath,
		"path to the datastore configuration (palisade's or a calicoctl CalicoAPIConfig document)")
	f.Bool("allow-version-mismatch", false, "accepted for calicoctl compatibility; palisade checks no version")
	_ = f.MarkHidden("allow-version-mismatch")
}

// ConfigError: the datastore configuration cannot be used.
type ConfigError struct {
	Source string
	Err    error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("datastore configuration %s: %v", e.Source, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// apiConfigSpec holds the datastore fields of a config file. Both the
// palisade form (these keys at the top level) and calicoctl's
// CalicoAPIConfig (these keys under spec) are read.
type apiConfigSpec struct {
	DatastoreType  string `json:"datastoreType,omitempty"`
	EtcdEndpoints  string `json:"etcdEndpoints,omitempty"`
	EtcdCACertFile string `json:"etcdCACertFile,omitempty"`
	EtcdCertFile   string `json:"etcdCertFile,omitempty"`
	EtcdKeyFile    string `json:"etcdKeyFile,omitempty"`
}

type apiConfigDoc struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	Spec       apiConfigSpec  `json:"spec"`
}

// readConfigFile reads path; a missing file is ignored unless required.
func readConfigFile(path string, required bool) (apiConfigSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !required {
			return apiConfigSpec{}, nil
		}
		return apiConfigSpec{}, &ConfigError{Source: path, Err: err}
	}
	var probe struct {
		Kind          string `json:"kind"`
		DatastoreType string `json:"datastoreType"`
		Spec          struct {
			DatastoreType string `json:"datastoreType"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return apiConfigSpec{}, &ConfigError{Source: path, Err: err}
	}
	// The datastore type first: a Kubernetes-datastore configuration has
	// fields palisade does not know, and the type is what to say.
	for _, t := range []string{probe.DatastoreType, probe.Spec.DatastoreType} {
		if err := checkDatastoreType(t); err != nil {
			return apiConfigSpec{}, &ConfigError{Source: path, Err: err}
		}
	}
	var spec apiConfigSpec
	switch probe.Kind {
	case "CalicoAPIConfig":
		var doc apiConfigDoc
		if err := yaml.UnmarshalStrict(data, &doc); err != nil {
			return spec, &ConfigError{Source: path, Err: err}
		}
		if doc.APIVersion != "" && doc.APIVersion != api.GroupVersionV3 {
			return spec, &ConfigError{Source: path, Err: fmt.Errorf("apiVersion %q: want %s", doc.APIVersion, api.GroupVersionV3)}
		}
		spec = doc.Spec
	case "":
		if err := yaml.UnmarshalStrict(data, &spec); err != nil {
			return spec, &ConfigError{Source: path, Err: err}
		}
	default:
		return spec, &ConfigError{Source: path, Err: fmt.Errorf("kind %q: want CalicoAPIConfig", probe.Kind)}
	}
	if err := checkDatastoreType(spec.DatastoreType); err != nil {
		return spec, &ConfigError{Source: path, Err: err}
	}
	return spec, nil
}

func checkDatastoreType(t string) error {
	switch strings.ToLower(t) {
	case "", "etcdv3":
		return nil
	}
	return fmt.Errorf("datastoreType %q is not supported: palisade's datastore is etcd (etcdv3)", t)
}

// resolveDatastore applies the precedence flag > environment > config file
// > default to every setting.
func resolveDatastore(o *datastoreOpts) (store.EtcdConfig, error) {
	path, required := DefaultConfigPath, false
	if o != nil && o.config != "" {
		path = o.config
		required = o.cmd != nil && o.cmd.Flags().Changed("config")
	}
	spec, err := readConfigFile(path, required)
	if err != nil {
		return store.EtcdConfig{}, err
	}
	if err := checkDatastoreType(getenv("DATASTORE_TYPE")); err != nil {
		return store.EtcdConfig{}, &ConfigError{Source: "$DATASTORE_TYPE", Err: err}
	}
	flagEndpoints := ""
	if o != nil {
		flagEndpoints = o.endpoints
	}
	endpoints := pick(flagEndpoints, getenv("ETCD_ENDPOINTS"), spec.EtcdEndpoints, store.DefaultEtcdEndpoint)
	return store.EtcdConfig{
		Endpoints: splitList(endpoints),
		CAFile:    pick(getenv("ETCD_CA_CERT_FILE"), spec.EtcdCACertFile),
		CertFile:  pick(getenv("ETCD_CERT_FILE"), spec.EtcdCertFile),
		KeyFile:   pick(getenv("ETCD_KEY_FILE"), spec.EtcdKeyFile),
	}, nil
}

// pick returns the first non-empty value (flag, environment, file,
// default).
func pick(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// session is one command's connection to the datastore.
type session struct {
	st        store.Store
	endpoints []string
}

// openSession resolves the datastore settings and opens the store. It does
// not contact the datastore (the store connects lazily).
func openSession(o *datastoreOpts) (*session, error) {
	cfg, err := resolveDatastore(o)
	if err != nil {
		return nil, err
	}
	st, err := newStore(cfg)
	if err != nil {
		return nil, err
	}
	// Writes that would leave a dangling reference are refused.
	return &session{st: integrity.Wrap(st), endpoints: cfg.Endpoints}, nil
}

func (s *session) close() { _ = s.st.Close() }

// wrap turns a timeout into an *UnavailableError naming the endpoints.
func (s *session) wrap(err error) error {
	if err != nil && !store.IsUnavailable(err) &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return &store.UnavailableError{Endpoints: s.endpoints, Err: err}
	}
	return err
}

func (s *session) get(k store.Key) (api.Object, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	o, err := s.st.Get(ctx, k)
	return o, s.wrap(err)
}

func (s *session) list(kind store.Kind, ns string) ([]api.Object, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	objs, rev, err := s.st.List(ctx, kind, ns)
	return objs, rev, s.wrap(err)
}

func (s *session) create(o api.Object) (api.Object, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.st.Create(ctx, o)
	return out, s.wrap(err)
}

func (s *session) update(o api.Object) (api.Object, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.st.Update(ctx, o)
	return out, s.wrap(err)
}

func (s *session) delete(k store.Key, rv string) (api.Object, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.st.Delete(ctx, k, rv)
	return out, s.wrap(err)
}

// unreachable renders an *UnavailableError for the user, with where the
// endpoints came from.
func unreachable(err error) string {
	return err.Error() + "\n(set the endpoints with --etcd-endpoints, $ETCD_ENDPOINTS or the config file " +
		DefaultConfigPath + "; is `palisade server` running?)"
}

// fail prints msg on stderr and returns the exit status 1.
func fail(s *streams, format string, args ...any) error {
	fmt.Fprintf(s.err, format, args...)
	if !strings.HasSuffix(format, "\n") {
		fmt.Fprintln(s.err)
	}
	return &exitError{code: 1}
}

// failErr prints err (clearly, when the datastore is unreachable) and
// returns the exit status 1.
func failErr(s *streams, err error) error {
	if store.IsUnavailable(err) {
		return fail(s, "%s", unreachable(err))
	}
	return fail(s, "%s", err.Error())
}
