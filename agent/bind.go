package agent

import (
	"maps"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/store"
)

// localWorkload is what binding needs of one of this node's workloads: its
// key ("namespace/name"), the interface its endpoint names and its
// addresses.
type localWorkload struct {
	key   string
	iface string
	ips   []netip.Addr
}

// workloadOf returns the local workload an event's object describes: a
// WorkloadEndpoint or a Pod on node (ok false for anything else, a
// deletion or another node's).
func workloadOf(node string, ev store.Event) (localWorkload, bool) {
	if ev.Type == store.Deleted {
		return localWorkload{}, false
	}
	var d *policy.Derived
	switch x := ev.Object.(type) {
	case *api.WorkloadEndpoint:
		d = policy.DeriveWorkloadEndpoint(x)
	case *corev1.Pod:
		var ok bool
		if d, ok = policy.DerivePod(x); !ok {
			return localWorkload{}, false
		}
	default:
		return localWorkload{}, false
	}
	w := d.Workload
	if w.Node != node {
		return localWorkload{}, false
	}
	return localWorkload{key: w.Key(), iface: w.Interface, ips: slices.Clone(w.IPs)}, true
}

// bindInterfaces binds the node's workloads to its interfaces and reports
// where that departs from the convention (api.InterfaceReport):
//
//   - a workload the CNI plugin registered (cniIfaces: workload key ->
//     host interface) is bound to that interface while it exists, whether
//     or not its endpoint is known yet (until it is, the interface is a
//     workload interface of no endpoint: its traffic is dropped);
//   - else a workload whose named interface exists is bound to it;
//   - otherwise it is bound to the veth (peer in another namespace) whose
//     route to one of its addresses is the most specific, unless that veth
//     is already another workload's by name (Bound);
//   - otherwise it has no interface (Missing);
//   - an interface whose name starts with a prefix that no workload is
//     bound to is Unbound (its traffic is dropped).
//
// It is a pure function of its arguments; workloads sharing a key count
// once (a Pod and its WorkloadEndpoint are one workload).
func bindInterfaces(wls []localWorkload, ifs []HostInterface, prefixes []string, cniIfaces map[string]string) api.InterfaceReport {
	present := map[string]bool{}
	for _, hi := range ifs {
		present[hi.Name] = true
	}
	byKey := map[string]localWorkload{}
	for _, w := range wls {
		if old, dup := byKey[w.key]; !dup || (!present[old.iface] && present[w.iface]) {
			byKey[w.key] = w
		}
	}
	keys := slices.Sorted(maps.Keys(byKey))
	claimed := map[string]bool{}
	var r api.InterfaceReport
	bind := func(k, ifc string) {
		if r.Bound == nil {
			r.Bound = map[string]string{}
		}
		r.Bound[k], claimed[ifc] = ifc, true
	}
	done := map[string]bool{} // workloads bound
	for _, k := range slices.Sorted(maps.Keys(cniIfaces)) {
		ifc := cniIfaces[k]
		if !present[ifc] || claimed[ifc] {
			continue
		}
		done[k] = true
		if w, ok := byKey[k]; ok && w.iface == ifc {
			claimed[ifc] = true // the convention's own: nothing to report
			continue
		}
		bind(k, ifc)
	}
	for _, k := range keys {
		if w := byKey[k]; !done[k] && w.iface != "" && present[w.iface] && !claimed[w.iface] {
			done[k], claimed[w.iface] = true, true
		}
	}
	for _, k := range keys {
		w := byKey[k]
		if done[k] {
			continue
		}
		if ifc := routedVeth(w.ips, ifs, claimed); ifc != "" {
			bind(k, ifc)
			continue
		}
		r.Missing = append(r.Missing, k)
	}
	for _, hi := range ifs {
		if !claimed[hi.Name] && isWorkload(hi.Name, prefixes) {
			r.Unbound = append(r.Unbound, hi.Name)
		}
	}
	return r
}

// routedVeth is the unclaimed veth with a peer elsewhere whose route to
// one of ips is the most specific ("" when none routes them).
func routedVeth(ips []netip.Addr, ifs []HostInterface, claimed map[string]bool) string {
	best, bits := "", -1
	for _, ip := range ips {
		for _, hi := range ifs {
			if !hi.PeerElsewhere || claimed[hi.Name] {
				continue
			}
			for _, p := range hi.Routes {
				if p.Contains(ip) && p.Bits() > bits {
					best, bits = hi.Name, p.Bits()
				}
			}
		}
	}
	return best
}
