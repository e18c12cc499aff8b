// Package agent is `palisade agent`: one runs on every host, in the network
// namespace it protects. It registers the host's Calico Node, watches the
// datastore, computes the node's ruleset and keeps palisade's nftables table
// (inet palisade) in the kernel in step with it.
//
// # Pipeline
//
//	store.Watch (every kind, from a full list) ─┐
//	netlink links and addresses ────────────────┼─► loop ─► engine ─► render.Node ─► nft.Applier
//	FelixConfiguration interfacePrefix ─────────┘    (one goroutine owns all state)
//
// The loop is the only goroutine that touches the engine or the kernel. The
// watch, the interface monitor, the node registrar and the datastore probe
// run beside it and talk to it through channels (or, for the registrar and
// the health state, through a one-slot "latest wins" request and a mutex).
//
// The engine (engine.go) is what turns events into the node's ruleset: an
// event feed (Apply) that serves a render.Source, rendered with
// render.Node after each batch. By default it is calc.Engine, incremental
// (work per event in proportion to what the event touches, through the
// inverted label index); Config.Engine "rebuild" (--engine rebuild) keeps
// every object instead and rebuilds policy.NewModel per batch, the
// reference the incremental engine is tested against and a fallback.
//
// When the watch starts again from a new full list (the datastore watch
// ended, or the staged view needs every object), the loop notes the keys
// the list sends; at its Synced, what the engine holds (engine.Keys: its
// model's keys and the staged view's) that the list did not send again is
// deleted. The loop keeps no copy of the cluster's keys besides.
//
// # The node and its interfaces
//
// Interfaces come from netlink (Netlink: a list, then link and address
// subscriptions, re-listing after a short debounce on every change). lo and
// workload interfaces (FelixConfiguration interfacePrefix, default "cali";
// "node.<name>" overrides "default") are left out; every other link counts
// as a host interface, with its global-scope addresses.
//
// The discovered interfaces reach the model through the Calico Node's
// spec.interfaces, which policy uses to bind IP-only host endpoints and to
// list the interfaces dispatch covers. The loop lays them over the stored
// Node before handing it to the engine, so the model follows the host at
// once, even when the datastore is unreachable, and the registrar writes
// the same Node to the datastore (so explain and matrix on a live
// datastore see it too). The agent owns these fields of its Node: labels
// (existing ones kept; --node-labels and kubernetes.io/hostname=NAME
// added), spec.interfaces, spec.addresses (ExternalIP entries kept; the BGP
// addresses as CalicoNodeIP, every other global address as InternalIP) and
// spec.bgp.ipv4Address / ipv6Address (kept while still on an interface).
// Everything else in the Node is kept; writes re-read and retry on
// conflict.
//
// # Binding workloads to interfaces (bind.go, cni.go)
//
// A local workload is bound, in order, to the interface its CNI
// attachment names (palisade-cni, served on Config.CNISocket; the
// attachment also gives an endpoint without addresses its addresses), to
// the interface its endpoint names when that exists (Calico's naming
// convention), or to the veth whose peer is in another namespace and
// whose route to one of its addresses is the most specific. What departs
// from the convention is published in the Node's palisade.io/interfaces
// annotation (policy reads the route and CNI bindings from it), with
// interfaces that look like a workload's but belong to none (dropped) and
// endpoints with no interface. After each transaction the loop tells the
// CNI backend which workload each dispatched interface belongs to, which
// answers the plugin's ADD.
//
// # Contracts
//
//   - No kernel write before the first full sync: the loop renders and
//     applies only after the watch's first Synced event. Until then a
//     table left by an earlier run stays in force, untouched.
//   - Restart reconciles in place: the first apply replaces the whole table
//     in one transaction (nft's add, delete and table block in one netlink
//     batch), so there is no moment without protection, and the agent never
//     deletes the table on start or stop. SIGTERM and SIGINT stop the agent
//     and leave the ruleset in force.
//   - Every change is one transaction; bursts are batched: a flush runs
//     after BatchDelay (10ms) of quiet, and at most MaxBatchDelay (50ms)
//     after the first change of the burst. The ruleset is applied only when
//     its text differs from what this agent last applied.
//   - A failed transaction leaves the previous ruleset in force (nft's
//     transaction is atomic); it is logged, counted
//     (felix_int_dataplane_failures), reported by /readiness with the
//     error, and retried with backoff (RetryDelay doubling to
//     MaxRetryDelay). A new state is tried at the next batch regardless.
//   - An unreachable datastore changes nothing in the kernel: the store's
//     watch re-lists by itself when the datastore returns, the loop applies
//     the differences, and /readiness says the datastore is unreachable
//     meanwhile (a read of the agent's Node every ProbeInterval).
//   - Cleanup (`palisade agent --cleanup`) removes palisade's table and
//     nothing else.
//
// # Health and metrics
//
// /liveness fails when the loop has not turned for LivenessTimeout;
// /readiness lists every reason the agent is not ready; /metrics serves
// felix_active_local_endpoints, felix_active_local_policies,
// felix_calc_graph_update_time_seconds (model and render time per batch),
// felix_int_dataplane_apply_time_seconds, felix_int_dataplane_failures,
// palisade_nft_chains, _rules, _sets, _maps, _set_elements, and a few
// palisade_agent_* gauges and counters.
package agent
