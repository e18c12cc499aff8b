package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"strings"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/palisade-net/palisade/version"
)

// localNode is what the agent knows of its node locally: its name, the
// labels it adds and its host interfaces (lo and workload interfaces left
// out).
type localNode struct {
	name   string
	labels map[string]string
	ifaces []HostInterface
	report api.InterfaceReport
}

// nodeKey is the store key of the Calico Node name.
func nodeKey(name string) store.Key { return store.Key{Kind: store.Kind(api.KindNode), Name: name} }

// hostInterfaces drops lo and the workload interfaces (names starting with
// one of prefixes, and those bound to a workload by route) from a list.
func hostInterfaces(all []HostInterface, prefixes []string, r api.InterfaceReport) []HostInterface {
	bound := map[string]bool{}
	for _, ifc := range r.Bound {
		bound[ifc] = true
	}
	var out []HostInterface
	for _, hi := range all {
		if hi.Name == "lo" || isWorkload(hi.Name, prefixes) || bound[hi.Name] {
			continue
		}
		out = append(out, hi)
	}
	return out
}

func isWorkload(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// desired returns a copy of existing (or a new Node) with the fields the
// agent owns set from what it discovered: labels (existing ones kept,
// the agent's added), spec.interfaces (each host interface with its
// addresses), spec.addresses (ExternalIP entries kept; the BGP addresses as
// CalicoNodeIP and every other global address as InternalIP, as CIDRs) and
// spec.bgp.ipv4Address / ipv6Address (kept while still on an interface,
// else the first address of the family). Every other field is kept.
func (ln localNode) desired(existing *api.Node) *api.Node {
	n := &api.Node{}
	if existing != nil {
		n = cloneNode(existing)
	}
	n.Name = ln.name
	api.SetTypeMeta(n)
	labels := maps.Clone(n.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, ln.labels)
	n.Labels = labels
	n.Annotations = maps.Clone(n.Annotations)
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[version.AgentAnnotation] = version.Get().String()
	api.SetNodeInterfaceReport(n, ln.report)

	var all []netip.Prefix
	n.Spec.Interfaces = nil
	for _, hi := range ln.ifaces {
		ni := api.NodeInterface{Name: hi.Name}
		for _, p := range hi.Addrs {
			ni.Addresses = append(ni.Addresses, p.Addr().String())
			all = append(all, p)
		}
		n.Spec.Interfaces = append(n.Spec.Interfaces, ni)
	}
	n.Spec.BGP = chooseBGP(n.Spec.BGP, all)
	n.Spec.Addresses = nodeAddresses(n.Spec.Addresses, n.Spec.BGP, all)
	return n
}

// chooseBGP keeps the BGP addresses that are still on an interface and
// picks the first address of the family otherwise; other fields are kept.
// It returns nil rather than an empty spec (which validation refuses).
func chooseBGP(cur *api.NodeBGPSpec, all []netip.Prefix) *api.NodeBGPSpec {
	b := api.NodeBGPSpec{}
	if cur != nil {
		b = *cur
	}
	pick := func(old string, v4 bool) string {
		var first string
		for _, p := range all {
			if p.Addr().Is4() != v4 {
				continue
			}
			if first == "" {
				first = p.String()
			}
			if o, err := netip.ParsePrefix(old); err == nil && o.Addr() == p.Addr() {
				return old
			}
			if a, err := netip.ParseAddr(old); err == nil && a == p.Addr() {
				return old
			}
		}
		return first
	}
	b.IPv4Address = pick(b.IPv4Address, true)
	b.IPv6Address = pick(b.IPv6Address, false)
	if b == (api.NodeBGPSpec{}) {
		return nil
	}
	return &b
}

// nodeAddresses keeps ExternalIP entries and lists every discovered
// address: the BGP ones as CalicoNodeIP, the others as InternalIP.
func nodeAddresses(cur []api.NodeAddress, bgp *api.NodeBGPSpec, all []netip.Prefix) []api.NodeAddress {
	var out []api.NodeAddress
	for _, a := range cur {
		if a.Type == api.NodeAddressExternalIP {
			out = append(out, a)
		}
	}
	isBGP := func(p netip.Prefix) bool {
		return bgp != nil && (bgp.IPv4Address == p.String() || bgp.IPv6Address == p.String())
	}
	for _, p := range all {
		t := api.NodeAddressInternalIP
		if isBGP(p) {
			t = api.NodeAddressCalicoNodeIP
		}
		out = append(out, api.NodeAddress{Address: p.String(), Type: t})
	}
	return out
}

// cloneNode deep-copies a Node.
func cloneNode(n *api.Node) *api.Node {
	data, err := json.Marshal(n)
	if err != nil {
		panic(fmt.Sprintf("agent: encoding a Node: %v", err))
	}
	out := &api.Node{}
	if err := json.Unmarshal(data, out); err != nil {
		panic(fmt.Sprintf("agent: decoding a Node: %v", err))
	}
	return out
}

// sameNode reports whether a and b agree on everything the agent owns.
func sameNode(a, b *api.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	owned := func(n *api.Node) []byte {
		data, _ := json.Marshal(struct {
			L map[string]string
			R string
			V string
			A []api.NodeAddress
			I []api.NodeInterface
			B *api.NodeBGPSpec
		}{n.Labels, n.Annotations[api.InterfacesAnnotation], n.Annotations[version.AgentAnnotation], n.Spec.Addresses,
			n.Spec.Interfaces, n.Spec.BGP})
		return data
	}
	return bytes.Equal(owned(a), owned(b))
}

// registrar writes the agent's Node to the datastore: on request, with
// retries (backoff) until it succeeds or a newer request comes, and with
// a re-read on every conflict.
type registrar struct {
	st     store.Store
	cfg    Config
	log    *slog.Logger
	want   chan localNode // capacity 1: the latest request wins
	report func(error)    // the outcome of each attempt, for readiness
}

func newRegistrar(st store.Store, cfg Config, report func(error)) *registrar {
	return &registrar{st: st, cfg: cfg, log: cfg.Logger, want: make(chan localNode, 1), report: report}
}

// request asks for the Node to be brought to ln; it never blocks (one
// sender: the loop).
func (r *registrar) request(ln localNode) {
	select {
	case <-r.want:
	default:
	}
	r.want <- ln
}

func (r *registrar) run(ctx context.Context) {
	for {
		var ln localNode
		select {
		case <-ctx.Done():
			return
		case ln = <-r.want:
		}
		delay := r.cfg.RetryDelay
		for {
			err := r.ensure(ctx, ln)
			if ctx.Err() != nil {
				return
			}
			r.report(err)
			if err == nil {
				break
			}
			r.log.Warn("registering the node failed; retrying", "node", ln.name, "error", err, "in", delay)
			select {
			case <-ctx.Done():
				return
			case ln = <-r.want:
				continue
			case <-time.After(delay):
			}
			delay = min(2*delay, r.cfg.MaxRetryDelay)
		}
	}
}

// maxConflicts bounds the read-modify-write attempts of one ensure.
const maxConflicts = 10

// ensure creates or updates the Node so that it agrees with ln.
func (r *registrar) ensure(ctx context.Context, ln localNode) error {
	for range maxConflicts {
		cur, err := r.call(ctx, func(c context.Context) (api.Object, error) { return r.st.Get(c, nodeKey(ln.name)) })
		if store.IsNotFound(err) {
			_, err = r.call(ctx, func(c context.Context) (api.Object, error) { return r.st.Create(c, ln.desired(nil)) })
			if store.IsAlreadyExists(err) {
				continue
			}
			if err == nil {
				r.log.Info("registered the node", "node", ln.name)
			}
			return err
		}
		if err != nil {
			return err
		}
		old, ok := cur.(*api.Node)
		if !ok {
			return fmt.Errorf("%s is a %T", nodeKey(ln.name), cur)
		}
		d := ln.desired(old)
		if sameNode(old, d) {
			return nil
		}
		_, err = r.call(ctx, func(c context.Context) (api.Object, error) { return r.st.Update(c, d) })
		if store.IsConflict(err) {
			continue
		}
		if err == nil {
			r.log.Info("updated the node", "node", ln.name, "interfaces", d.Spec.Interfaces)
		}
		return err
	}
	return fmt.Errorf("updating %s: %d conflicting writes in a row", nodeKey(ln.name), maxConflicts)
}

func (r *registrar) call(ctx context.Context, f func(context.Context) (api.Object, error)) (api.Object, error) {
	c, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
	defer cancel()
	return f(c)
}
