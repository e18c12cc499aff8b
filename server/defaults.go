package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/controller"
	"github.com/palisade-net/palisade/store"
	"github.com/palisade-net/palisade/version"
)

// DefaultTierOrder is the order of the default tier (docs/api.md §2.4).
const DefaultTierOrder = 1e6

// DefaultResources returns the resources every palisade datastore holds:
// the tier "default" (order 1e6, default action Deny), the
// FelixConfiguration "default" (empty spec) and the
// KubeControllersConfiguration "default" with automatic host endpoints
// Disabled. The profile projectcalico-default-allow is not among them: it
// is never stored (docs/api.md §9.1).
func DefaultResources() []api.Object {
	order, deny := float64(DefaultTierOrder), api.Deny
	tier := &api.Tier{Spec: api.TierSpec{Order: &order, DefaultAction: &deny}}
	tier.Name = api.DefaultTierName
	felix := &api.FelixConfiguration{}
	felix.Name = "default"
	objs := []api.Object{tier, felix, controller.DefaultKubeControllersConfiguration()}
	for _, o := range objs {
		api.SetTypeMeta(o)
	}
	return objs
}

// defaultsEvery is how often the leader checks that the default resources
// still exist.
var defaultsEvery = 5 * time.Second

// keepDefaults recreates a default resource that went missing (deleted
// around the CLI, which refuses to delete the default tier), while this
// server leads: policies without a tier fall into the default tier, which
// must exist.
func (s *Server) keepDefaults(ctx context.Context) {
	t := time.NewTicker(defaultsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		created, err := EnsureDefaults(wctx, s.st)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("checking the default resources", "error", err)
		case len(created) > 0:
			s.log.Warn("recreated default resources that had been deleted", "resources", created)
		}
	}
}

// recordVersion writes this server's version under version.ServersPrefix
// (for `palisade version`); a failure is only logged.
func (s *Server) recordVersion(ctx context.Context) {
	data, err := json.Marshal(version.Get())
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = s.st.Client().Put(wctx, version.ServersPrefix+s.cfg.Name, string(data))
		cancel()
	}
	if err != nil {
		s.log.Warn("recording the server's version", "error", err)
	}
}

// EnsureDefaults creates each default resource that is missing and leaves
// existing ones as they are. It returns the names of those it created.
func EnsureDefaults(ctx context.Context, st store.Store) ([]string, error) {
	var created []string
	for _, o := range DefaultResources() {
		_, err := st.Create(ctx, o)
		switch {
		case err == nil:
			created = append(created, api.ID(o))
		case store.IsAlreadyExists(err):
		default:
			return created, fmt.Errorf("creating default %s: %w", api.ID(o), err)
		}
	}
	return created, nil
}
