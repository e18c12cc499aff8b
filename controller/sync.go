package controller

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/autohep"
	"github.com/palisade-net/palisade/store"
)

// DefaultKubeControllersConfiguration returns the configuration
// kube-controllers creates when "default" is missing (docs/api.md §2.11), with
// automatic host endpoints Disabled.
func DefaultKubeControllersConfiguration() *api.KubeControllersConfiguration {
	k := &api.KubeControllersConfiguration{}
	api.SetTypeMeta(k)
	k.Name = ConfigName
	k.Spec.Controllers.Node = &api.NodeControllerConfig{
		HostEndpoint: &api.AutoHostEndpointConfig{AutoCreate: autohep.Disabled},
	}
	return k
}

// desired returns the endpoints wanted for the named nodes (nodes unknown to
// the cache want none).
func (c *cache) desired(nodes []string) ([]*api.HostEndpoint, error) {
	cfg := c.hepConfig()
	// Validate the configuration even when no known node is asked for, so
	// that an invalid one never leads to deletions.
	if _, err := autohep.ForNode(autohep.NodeInfo{}, cfg); err != nil {
		return nil, &ConfigError{Err: err}
	}
	var out []*api.HostEndpoint
	for _, name := range nodes {
		info, ok := c.node(name)
		if !ok {
			continue
		}
		heps, err := autohep.ForNode(info, cfg)
		if err != nil {
			return nil, &ConfigError{Err: err}
		}
		out = append(out, heps...)
	}
	return out, nil
}

// plan is the writes one sync makes.
type plan struct{ create, update, del []*api.HostEndpoint }

// diff computes the plan from desired to existing. Besides what
// autohep.Diff compares, an endpoint whose spec.node was edited is
// rewritten.
func diff(desired, existing []*api.HostEndpoint) plan {
	var p plan
	p.create, p.update, p.del = autohep.Diff(desired, existing)
	byName := map[string]*api.HostEndpoint{}
	for _, h := range existing {
		if autohep.IsManaged(h) {
			byName[h.Name] = h
		}
	}
	queued := map[string]bool{}
	for _, h := range p.update {
		queued[h.Name] = true
	}
	for _, d := range desired {
		cur := byName[d.Name]
		if cur == nil || queued[d.Name] || cur.Spec.Node == d.Spec.Node {
			continue
		}
		u := cloneHEP(d)
		u.ResourceVersion, u.UID, u.CreationTimestamp = cur.ResourceVersion, cur.UID, cur.CreationTimestamp
		p.update = append(p.update, u)
		queued[d.Name] = true
	}
	return p
}

// syncNodes brings the endpoints of the given nodes to the desired state.
// It returns the nodes whose sync failed.
func (a *AutoHEP) syncNodes(ctx context.Context, c *cache, nodes []string) []string {
	a.metrics.syncs.WithLabelValues("node").Inc()
	desired, err := c.desired(nodes)
	if err != nil {
		a.fail(err)
		return nil // retried when the configuration changes
	}
	var failed []string
	for _, node := range nodes {
		var want []*api.HostEndpoint
		names := map[string]bool{}
		for _, d := range desired {
			if d.Spec.Node == node {
				want = append(want, d)
				names[d.Name] = true
			}
		}
		if err := a.execute(ctx, c, diff(want, c.managedFor(node, names))); err != nil {
			failed = append(failed, node)
		}
	}
	return failed
}

// syncAll re-lists the host endpoints and brings every node's endpoints to
// the desired state, deleting managed endpoints of unknown nodes.
func (a *AutoHEP) syncAll(ctx context.Context, c *cache) error {
	a.metrics.syncs.WithLabelValues("full").Inc()
	if c.kcc == nil {
		a.ensureConfig(ctx)
	}
	desired, err := c.desired(c.nodeNames())
	if err != nil {
		a.fail(err)
		return nil // nothing is written while the configuration is unusable
	}
	lctx, cancel := context.WithTimeout(ctx, a.opts.WriteTimeout)
	list, rev, err := a.st.List(lctx, store.Kind(api.KindHostEndpoint), "")
	cancel()
	if err != nil {
		err = &WriteError{Op: "list", Err: err}
		a.fail(err)
		return err
	}
	c.replaceHEPs(list, rev)
	return a.execute(ctx, c, diff(desired, c.allManaged()))
}

// ensureConfig creates the default configuration when it is missing, as
// kube-controllers does. The watch brings it back into the cache.
func (a *AutoHEP) ensureConfig(ctx context.Context) {
	wctx, cancel := context.WithTimeout(ctx, a.opts.WriteTimeout)
	defer cancel()
	_, err := a.st.Create(wctx, DefaultKubeControllersConfiguration())
	switch {
	case err == nil:
		a.log.Info("created KubeControllersConfiguration default", "autoCreate", autohep.Disabled)
	case !store.IsAlreadyExists(err):
		a.fail(&WriteError{Op: "create", Name: "KubeControllersConfiguration(default)", Err: err})
	}
}

// execute makes the writes of a plan, recording each result in the cache.
// Every failure is logged and counted; the first is returned.
func (a *AutoHEP) execute(ctx context.Context, c *cache, p plan) error {
	var errs []error
	for _, h := range p.create {
		errs = append(errs, a.write(ctx, "create", h, func(wctx context.Context) error {
			got, err := a.st.Create(wctx, h)
			if err == nil {
				c.put(got.(*api.HostEndpoint))
				a.metrics.created.Inc()
			}
			return err
		}))
	}
	for _, h := range p.update {
		errs = append(errs, a.write(ctx, "update", h, func(wctx context.Context) error {
			got, err := a.st.Update(wctx, h)
			if err == nil {
				c.put(got.(*api.HostEndpoint))
				a.metrics.updated.Inc()
			}
			return err
		}))
	}
	for _, h := range p.del {
		errs = append(errs, a.write(ctx, "delete", h, func(wctx context.Context) error {
			_, err := a.st.Delete(wctx, store.KeyOf(h), h.ResourceVersion)
			if err == nil || store.IsNotFound(err) {
				c.remove(h)
				a.metrics.deleted.Inc()
				return nil
			}
			return err
		}))
	}
	a.metrics.managed.Set(float64(len(c.heps)))
	return errors.Join(errs...)
}

// write runs one store call with the write timeout, logging the outcome.
func (a *AutoHEP) write(ctx context.Context, op string, h *api.HostEndpoint, call func(context.Context) error) error {
	wctx, cancel := context.WithTimeout(ctx, a.opts.WriteTimeout)
	defer cancel()
	if err := call(wctx); err != nil {
		err = &WriteError{Op: op, Name: h.Name, Err: err}
		a.fail(err)
		return err
	}
	a.log.Info(op+"d host endpoint", "name", h.Name, "node", h.Spec.Node, "expectedIPs", h.Spec.ExpectedIPs)
	return nil
}

// fail logs and counts an error and remembers it for Status.
func (a *AutoHEP) fail(err error) {
	a.metrics.errors.Inc()
	a.log.Warn("automatic host endpoints", slog.Any("error", err))
	a.mu.Lock()
	a.status.LastError = err.Error()
	a.status.LastErrorTime = a.opts.Clock.Now()
	a.mu.Unlock()
}

// cloneHEP copies h deeply enough that changes to the copy never reach h.
func cloneHEP(h *api.HostEndpoint) *api.HostEndpoint {
	c := *h
	c.ObjectMeta = *h.ObjectMeta.DeepCopy()
	c.Spec.ExpectedIPs = slices.Clone(h.Spec.ExpectedIPs)
	c.Spec.Profiles = slices.Clone(h.Spec.Profiles)
	c.Spec.Ports = slices.Clone(h.Spec.Ports)
	return &c
}
