package cli

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/store"
)

// The lockout guard: before a write changes policy, host endpoints or
// Felix settings, the command judges the paths it must not cut, in the
// datastore as it is and as it would be: this command's own connection
// to the datastore, the SSH session it runs in ($SSH_CONNECTION), and
// every node's agent's path to the datastore. A path allowed now and
// denied after the change makes the command refuse, naming the policy
// that would cut it, unless --force.

// guardedKinds are the kinds whose writes the guard checks.
var guardedKinds = map[store.Kind]bool{
	store.Kind(api.KindGlobalNetworkPolicy): true, store.Kind(api.KindNetworkPolicy): true,
	store.Kind(api.KindHostEndpoint): true, store.Kind(api.KindFelixConfiguration): true,
	store.Kind(api.KindTier): true, store.Kind(api.KindProfile): true, store.KindK8sNetworkPolicy: true,
	store.Kind(api.KindKubeControllersConfiguration): true,
}

// guardedPath is one connection that must survive a change.
type guardedPath struct {
	what     string // "this command's connection to the datastore", ...
	src, dst string // peers as explain takes them
	port     string
}

// LockoutError is a refused change.
type LockoutError struct{ Cuts []string }

func (e *LockoutError) Error() string {
	return "refusing the change: it would cut " + strings.Join(e.Cuts, "; ") +
		" (check with `palisade explain`, or add --force to apply it anyway)"
}

// guardPaths lists the connections to keep: the datastore endpoints this
// command uses, the SSH session, and every node to the datastore.
func guardPaths(endpoints []string, nodes []*policy.Node) []guardedPath {
	var out []guardedPath
	var dsAddrs []netip.AddrPort
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme == "unix" {
			continue
		}
		ap, err := netip.ParseAddrPort(u.Host)
		if err != nil || ap.Addr().IsLoopback() {
			continue // a name, or this host's own loopback (policy never sees it)
		}
		dsAddrs = append(dsAddrs, ap)
		if local, ok := localAddrFor(ap); ok {
			out = append(out, guardedPath{what: "this command's connection to the datastore",
				src: local.String(), dst: ap.Addr().String(), port: fmt.Sprintf("%d/TCP", ap.Port())})
		}
	}
	if f := strings.Fields(getenv("SSH_CONNECTION")); len(f) == 4 {
		out = append(out, guardedPath{what: "the SSH session this command runs in", src: f[0], dst: f[2], port: f[3] + "/TCP"})
	}
	for _, n := range nodes {
		for _, ap := range dsAddrs {
			out = append(out, guardedPath{what: "node " + n.Name + "'s agent's path to the datastore",
				src: "node:" + n.Name, dst: ap.Addr().String(), port: fmt.Sprintf("%d/TCP", ap.Port())})
		}
	}
	return out
}

// localAddrFor is the source address this host would use towards ap (a
// UDP socket's routing decision; nothing is sent).
var localAddrFor = func(ap netip.AddrPort) (netip.Addr, bool) {
	c, err := net.DialTimeout("udp", ap.String(), time.Second)
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(a.IP)
	return addr.Unmap(), ok
}

// checkLockout judges the guarded paths before and after change (which
// returns the objects as they would be) and returns a *LockoutError for
// the ones the change would cut.
func checkLockout(before []api.Object, change func([]api.Object) []api.Object, endpoints []string) error {
	mb, err := policy.NewModel(before)
	var be *policy.BuildError
	if err != nil && !errors.As(err, &be) {
		return nil // the guard cannot judge a datastore the model refuses
	}
	ma, err := policy.NewModel(change(before))
	if err != nil && !errors.As(err, &be) {
		return nil
	}
	var nodes []*policy.Node
	for _, name := range ma.NodeNames() {
		nodes = append(nodes, ma.Nodes[name])
	}
	var cuts []string
	for _, p := range guardPaths(endpoints, nodes) {
		if !judge(mb, p) || judge(ma, p) {
			continue
		}
		cuts = append(cuts, fmt.Sprintf("%s (%s -> %s %s: %s)", p.what, p.src, p.dst, p.port, culprit(ma, p)))
	}
	if len(cuts) > 0 {
		return &LockoutError{Cuts: cuts}
	}
	return nil
}

// judge reports whether a model allows a path; an unresolvable path is
// taken as allowed (nothing to protect).
func judge(m *policy.Model, p guardedPath) bool {
	f, err := flowFor(m, p.src, p.dst, p.port)
	if err != nil {
		return true
	}
	ok, err := m.Allowed(f)
	return err != nil || ok
}

// culprit names the step that denies a path.
func culprit(m *policy.Model, p guardedPath) string {
	f, err := flowFor(m, p.src, p.dst, p.port)
	if err != nil {
		return err.Error()
	}
	v, err := m.Evaluate(f)
	if err != nil {
		return err.Error()
	}
	for _, path := range v.Paths {
		for _, st := range append(path.Request, path.Reply...) {
			if st.Result == policy.ResultDeny {
				who := st.Policy
				if who == "" {
					who = st.Reason
				}
				return fmt.Sprintf("denied at %s %s by %s", st.Node, st.Stage, who)
			}
		}
	}
	return "denied"
}

// guardWrite checks a batch of writes (objects to create or replace, keys
// to delete) against the live datastore; it returns nil when no guarded
// kind is touched, or with force.
func (ss *session) guardWrite(writes []api.Object, deletes []store.Key, force bool) error {
	if force {
		return nil
	}
	touched := false
	for _, o := range writes {
		touched = touched || guardedKinds[store.KindOf(o)]
	}
	for _, k := range deletes {
		touched = touched || guardedKinds[k.Kind]
	}
	if !touched {
		return nil
	}
	var before []api.Object
	for _, k := range store.AllKinds() {
		objs, _, err := ss.list(k, "")
		if err != nil {
			return nil // the write itself will report an unreachable datastore
		}
		for _, o := range objs {
			if _, bad := o.(*api.Unreadable); !bad {
				before = append(before, o)
			}
		}
	}
	return checkLockout(before, func(objs []api.Object) []api.Object {
		replaced := map[store.Key]api.Object{}
		for _, o := range writes {
			replaced[store.KeyOf(o)] = o
		}
		gone := map[store.Key]bool{}
		for _, k := range deletes {
			gone[k] = true
		}
		var out []api.Object
		for _, o := range objs {
			k := store.KeyOf(o)
			switch {
			case gone[k]:
			case replaced[k] != nil:
				out = append(out, replaced[k])
				delete(replaced, k)
			default:
				out = append(out, o)
			}
		}
		for _, o := range writes {
			if replaced[store.KeyOf(o)] != nil {
				out = append(out, o)
			}
		}
		return out
	}, ss.endpoints)
}
