// Package render turns the policy model of one node into the nftables
// ruleset that enforces it, as a typed value (Ruleset, types.go), with a
// printer to nft syntax (Ruleset.Text) and a tracer that walks synthetic
// packets through the typed value (Ruleset.Trace, Ruleset.TraceHop).
//
// Node reads the node through Source (source.go), the queries it makes:
// *policy.Model satisfies it, and so does the view of calc.Engine, which
// keeps one node's model up to date incrementally.
//
// render is pure: no I/O, no goroutines. The kernel applier (package nft)
// consumes the types in types.go; the reference evaluator (package policy)
// is the single source of truth the ruleset must agree with, and the
// differential tests check that it does.
//
// # Layout of table inet palisade
//
// Base chains (docs/semantics.md §2 and §3.3), all "type filter", policy accept:
//
//	raw-prerouting     prerouting  -300  R1: clear marks; workload iif returns;
//	                                     untracked ingress of named/IP-matched HEPs;
//	                                     accept mark => notrack accept
//	mangle-prerouting  prerouting  -150  M1: ct established,related accept; accept
//	                                     mark accept; preDNAT dispatch (own endpoint
//	                                     with preDNAT policy, else the wildcard's);
//	                                     accept mark => accept
//	filter-input       input          0  F-IN: workload iif => goto workload-to-host
//	                                     (ICMPv6 ND, pod egress, DefaultEndpointToHost-
//	                                     Action); accept mark accept; HEP(iif) normal
//	                                     ingress; no HEP => no verdict
//	filter-forward     forward        0  F-FWD: clear pass; HEP(iif) forward ingress
//	                                     unless the accept mark; source pod egress;
//	                                     destination pod ingress; HEP(oif) forward
//	                                     egress; set the accept mark and accept
//	raw-output         output      -300  R2: untracked egress
//	filter-output      output         0  F-OUT: accept mark accept; workload oif
//	                                     returns; HEP(oif) normal egress if not DNAT'd
//	mangle-postrouting postrouting -150  M2: accept mark accept; workload oif returns;
//	                                     ct status dnat => HEP(oif) normal egress
//
// Dispatch: each stage has a chain dispatch-hep-<stage> holding
// "iifname/oifname vmap @map-hep-<stage>" (interface => goto the endpoint
// chain) followed by "goto" the wildcard endpoint's chain where the
// wildcard takes part; dispatch-wep-from/-to look pods up in
// map-wep-from/-to and drop unknown workload interfaces.
//
// Endpoint chains hep-<name>-{ingress,egress,fwd-ingress,fwd-egress,
// prednat,raw-ingress,raw-egress} and wep-<ns>_<pod>-{ingress,egress}
// implement EVAL of §3.1: conntrack rules (not untracked), a jump to the
// node's failsafe chain (HEPs, not forward), clear marks, the workload
// IPIP/VXLAN drop (egress), a jump per applicable tier, then profiles
// (normal: first allow or deny, else drop), the forward default allow, or
// no verdict (preDNAT, untracked). Their contract: DENY drops; ALLOW
// returns with the accept mark; NONE returns without it; conntrack and
// failsafe matches accept at once (ending the base chain without the
// mark).
//
// Tier chains tier-<tier>-<hash> are shared by every endpoint with the same
// policy list: clear the pass mark, jump to each policy chain and return
// when the accept or pass mark is set, and end in drop for normal and
// forward tiers whose default action is Deny. Policy chains
// pol-{gnp,np,knp}-<name>-{ingress,egress} hold one policy's rules, shared
// by every endpoint (so chains grow with local endpoints, not policies
// times endpoints): Allow sets the accept mark and returns, Pass sets the
// pass mark and returns, Deny drops, Log logs and goes on. Profiles are
// pro-<name>-{ingress,egress}.
//
// Marks (MarkMask 0xffff0000): MarkAccept 0x10000 (an endpoint or an
// earlier stage allowed the packet), MarkPass 0x20000 (leave the tier).
//
// Sets: sel-<hash>-v4/-v6 (interval address sets of a selector side: a
// positive selector with its notSelector folded in, or what a lone
// notSelector matches, looked up with !=), np-<hash>-v4/-v6 (address .
// protocol . port sets of named ports), failsafe-inbound/-outbound
// (protocol . port; entries with a net are rules). A policy rule becomes
// one nft rule per IP family it is rendered in (meta nfproto guards) and,
// where nft has no "or", disjoint rules (numeric or named ports, a negated
// ICMP type and code).
//
// # The compiled form
//
// Compile (compile.go) rewrites a rendered ruleset so that an endpoint
// chain's policy section (Chain.Section on: tiers, policies, profiles)
// costs a few lookups, whatever the number of policies. Identities
// (compile_ids.go): every address predicate a compiled rule uses (a
// selector set, a rule's nets, the addresses with one named port) is an
// atom; the atoms an address satisfies, with its family, are its
// identity, numbered 1..MaxIdentities from a hash of what it is; maps
// ids-v4 and ids-v6 cover each family's whole space and jump to id-N,
// which puts N<<MarkIDShift in the mark (MarkIDMask 0xfffc0000). The
// lookup sits in the rules that lead to compiled chains (compile_place.go:
// the dispatch chains, the wildcard's goto), so the kernel's loop check
// walks the address maps a few times, not once per endpoint chain. The
// symbolic walk (compile_eval.go) runs the section for each class of
// identities the section tells apart, over all protocols and ports at
// once, and yields regions (compile_region.go) with outcomes; the chain's
// section becomes verdict maps keyed by identity . protocol . port
// (cv-<chain>-p), identity . protocol . ICMP type and code (-i) and
// identity . protocol (-o) whose elements go to outcome chains out-<hash>
// (the counters and logs met, then drop, accept mark and return, or
// return), and a goto to the most common outcome that drops (or to
// out-no-element), never to one that accepts: a packet that meets a change
// mid-commit is judged by the old elements or dropped. A section that also
// matches the local address is split by local address class
// (lids-<chain>-v4/-v6, goto <chain>-l<k>). A section with a shape the
// walk does not know keeps its rules; unreachable chains and sets are
// dropped.
//
// Names are stable: derived from endpoint, policy and tier names (with a
// fixed prefix so no name is an nft keyword), sanitised and hashed when
// long; set names hash the selectors that define them. Sets and maps (but
// the interface maps) add a "/" and a digest of their elements
// (version.go): no set a rule looks up is changed in place, a changed one
// is another set. Sets of single addresses are hash sets (fast lookups);
// the identities of single addresses are the hash maps ids-host-v4/-v6,
// looked up after ids-v4 and ids-v6 (compile_ids.go), so endpoints coming
// and going rewrite those, not the interval maps.
package render
