package render

import (
	"net/netip"

	"github.com/palisade-net/palisade/internal/iplist"
)

// This file is the typed ruleset: what render produces and what the kernel
// applier (package nft) consumes. Every value is plain data; Text prints it
// as nft syntax, Trace walks a synthetic packet through it.

// Table identity: one inet table owned wholly by palisade.
const (
	TableName   = "palisade"
	TableFamily = "inet"
)

// Mark bits (in the mask MarkMask, like Calico's 0xffff0000).
const (
	MarkMask   uint32 = 0xffff0000
	MarkAccept uint32 = 0x00010000 // an earlier stage or endpoint allowed the packet
	MarkPass   uint32 = 0x00020000 // a policy said Pass: leave the tier
	MarkBits          = MarkAccept | MarkPass
	// MarkIDMask holds a remote address's identity while a compiled
	// endpoint chain looks its verdict up (compile.go): the identity chain
	// id-<n> sets n<<MarkIDShift.
	MarkIDMask  uint32 = 0xfffc0000
	MarkIDShift        = 18
	// MaxIdentities is how many identities the mark's bits can hold.
	MaxIdentities = int(MarkIDMask>>MarkIDShift) - 1
)

// Ruleset is the whole table: chains, sets and maps, each sorted (base
// chains in hook and priority order, then regular chains, sets and maps by
// name), so equal models give equal rulesets.
type Ruleset struct {
	Table  string // TableName
	Family string // TableFamily
	Chains []*Chain
	Sets   []*Set
	Maps   []*Map
	// Counters are the named counter objects rules count into, by name.
	Counters []*Counter
	// FlowLog, when flow logs are on, is the node-wide rate limit of the
	// flow log rules (a named limit object).
	FlowLog *FlowLogLimit
	// Endpoints names, per interface, the endpoint behind it
	// ("WorkloadEndpoint ns/pod", "HostEndpoint name"): what flow logs
	// report. It is not part of the table.
	Endpoints map[string]string
}

// Hook is a netfilter hook.
type Hook string

// Hooks used by palisade.
const (
	HookPrerouting  Hook = "prerouting"
	HookInput       Hook = "input"
	HookForward     Hook = "forward"
	HookOutput      Hook = "output"
	HookPostrouting Hook = "postrouting"
)

// Priorities of the base chains (docs/semantics.md §2).
const (
	PriorityRaw    = -300
	PriorityMangle = -150
	PriorityDNAT   = -100 // where kube-proxy DNATs; not a palisade chain
	PriorityFilter = 0
)

// BaseChain makes a chain a base chain: its type, hook, priority and policy.
type BaseChain struct {
	Type     string // "filter"
	Hook     Hook
	Priority int
	Policy   string // "accept" or "drop"
}

// Chain is a base chain (Base != nil) or a regular chain.
type Chain struct {
	Name    string
	Base    *BaseChain
	Comment string
	Rules   []Rule
	// Endpoint chains only: Remote is the field holding the remote
	// address (FieldSaddr for ingress, FieldDaddr for egress), and Section
	// the index of the first rule of the policy section, the part Compile
	// may replace by lookups. The section starts with the marks clear.
	Remote  Field
	Section int
}

// Rule is matches (all must hold), then statements, then a verdict.
type Rule struct {
	Matches    []Match
	Statements []Statement
	Verdict    Verdict
	Comment    string
}

// Match is one typed match expression. The concrete types are the Match*
// structs of this file.
type Match interface{ isMatch() }

// Field names a packet field a match or a set lookup reads.
type Field uint8

// Fields.
const (
	FieldSaddr Field = iota + 1 // ip/ip6 saddr
	FieldDaddr                  // ip/ip6 daddr
	FieldSport                  // th sport
	FieldDport                  // th dport
	FieldIifname
	FieldOifname
	// Keys of compiled verdict maps (compile.go), the identity being
	// "meta mark & MarkIDMask": identity . meta l4proto . th dport,
	// identity . meta l4proto . th sport (an ICMP type and code), and
	// identity . meta l4proto.
	FieldIDPort
	FieldIDICMP
	FieldIDProto
)

// Family is an IP family inside the inet table.
type Family uint8

// Families; FamilyAny means the match does not depend on the family.
const (
	FamilyAny Family = iota
	FamilyIPv4
	FamilyIPv6
)

// MatchIfname is iifname/oifname == (or !=) Name; a trailing "*" makes it a
// prefix match ("cali*").
type MatchIfname struct {
	Field  Field // FieldIifname or FieldOifname
	Name   string
	Negate bool
}

// MatchNfproto is meta nfproto ipv4|ipv6.
type MatchNfproto struct{ Family Family }

// MatchL4Proto is meta l4proto in (or not in) Protos. Set, when not
// empty, names the list set (SetProto) that holds Protos for the kernel
// (lists.go); Protos stay the match's meaning.
type MatchL4Proto struct {
	Protos []uint8
	Set    string
	Negate bool
}

// MatchAddr is ip/ip6 saddr/daddr in a selector's named set (Set, no
// Prefixes) or in Prefixes; Negate makes it "not in". Family says ip or
// ip6. Prefixes of more than one are also named by Set: the list set
// that holds them for the kernel (lists.go); Prefixes stay the meaning.
type MatchAddr struct {
	Field    Field // FieldSaddr or FieldDaddr
	Family   Family
	Set      string
	Prefixes []netip.Prefix
	Negate   bool
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi uint16 }

// MatchPort is th sport/dport in (or not in) Ranges. Set, when not empty,
// names the list set (SetService) that holds Ranges for the kernel: a
// list of more than one range is looked up there, not in an inline
// anonymous set (lists.go). Ranges stay the match's meaning.
type MatchPort struct {
	Field  Field // FieldSport or FieldDport
	Ranges []PortRange
	Set    string
	Negate bool
}

// MatchAddrProtoPort is "ip daddr . meta l4proto . th dport @set" (or
// saddr/sport): the concatenated lookup named ports and failsafes use.
// Field is FieldSaddr (saddr . sport) or FieldDaddr (daddr . dport).
type MatchAddrProtoPort struct {
	Field  Field
	Family Family
	Set    string
	Negate bool
}

// MatchProtoPort is "meta l4proto . th dport @set" (Field FieldDport) or
// sport: a protocol and port lookup with no address (failsafes).
type MatchProtoPort struct {
	Field  Field
	Set    string
	Negate bool
}

// MatchICMP is icmp/icmpv6 type (and code when Code != nil). Negate
// applies to the type, or to the code when Code is set (the renderer splits
// "not (type and code)" into disjoint rules).
type MatchICMP struct {
	Family Family // FamilyIPv4: icmp; FamilyIPv6: icmpv6
	Types  []uint8
	Code   *uint8
	Negate bool
}

// CtState values.
const (
	CtNew         = "new"
	CtEstablished = "established"
	CtRelated     = "related"
	CtInvalid     = "invalid"
	CtUntracked   = "untracked"
)

// MatchCtState is ct state in States.
type MatchCtState struct {
	States []string
	Negate bool
}

// MatchCtDNAT is "ct status dnat" (or, negated, the dnat bit clear).
type MatchCtDNAT struct{ Negate bool }

// MatchMark is "meta mark & Mask == Value" (or !=).
type MatchMark struct {
	Mask, Value uint32
	Negate      bool
}

func (MatchIfname) isMatch()        {}
func (MatchNfproto) isMatch()       {}
func (MatchL4Proto) isMatch()       {}
func (MatchAddr) isMatch()          {}
func (MatchPort) isMatch()          {}
func (MatchAddrProtoPort) isMatch() {}
func (MatchProtoPort) isMatch()     {}
func (MatchICMP) isMatch()          {}
func (MatchCtState) isMatch()       {}
func (MatchCtDNAT) isMatch()        {}
func (MatchMark) isMatch()          {}

// Statement is one typed non-verdict statement: StmtMark, StmtNotrack,
// StmtLog or StmtCounter.
type Statement interface{ isStatement() }

// StmtMark sets the packet mark to (mark &^ Clear) | Set.
type StmtMark struct{ Clear, Set uint32 }

// StmtNotrack exempts the packet from connection tracking (raw only).
type StmtNotrack struct{}

// StmtLog logs the packet with a prefix and goes on: to the kernel log,
// or to NFLOG group Group when it is not 0. Limit, when set, names the
// table's limit object the log is subject to (over the limit, the rule
// stops there: nothing is logged and the next rule runs).
type StmtLog struct {
	Prefix string
	Group  uint16
	Limit  string
}

// StmtCounter counts packets and bytes: into the named counter object
// Name, or an anonymous counter of its own when Name is "".
type StmtCounter struct{ Name string }

func (StmtMark) isStatement()    {}
func (StmtNotrack) isStatement() {}
func (StmtLog) isStatement()     {}
func (StmtCounter) isStatement() {}

// VerdictKind is what a rule does after its statements.
type VerdictKind uint8

// Verdict kinds. VerdictNone continues with the next rule.
const (
	VerdictNone VerdictKind = iota
	VerdictAccept
	VerdictDrop
	VerdictReturn
	VerdictJump
	VerdictGoto
	VerdictVmap // Key vmap @Map: the map's element verdict, or continue
)

// Verdict of a rule. Chain is set for jump and goto; Map and Key for a
// verdict map lookup.
type Verdict struct {
	Kind  VerdictKind
	Chain string
	Map   string
	// Key is FieldIifname or FieldOifname for interface maps, FieldSaddr
	// or FieldDaddr (of Family) for address maps, or a compiled map's
	// FieldID* key.
	Key    Field
	Family Family
}

// Verdict constructors.
var (
	Accept = Verdict{Kind: VerdictAccept}
	Drop   = Verdict{Kind: VerdictDrop}
	Return = Verdict{Kind: VerdictReturn}
)

// Jump returns "jump chain".
func Jump(chain string) Verdict { return Verdict{Kind: VerdictJump, Chain: chain} }

// Goto returns "goto chain".
func Goto(chain string) Verdict { return Verdict{Kind: VerdictGoto, Chain: chain} }

// SetType is the key type of a named set.
type SetType string

// Set types.
const (
	SetIPv4          SetType = "ipv4_addr"
	SetIPv6          SetType = "ipv6_addr"
	SetIPv4ProtoPort SetType = "ipv4_addr . inet_proto . inet_service"
	SetIPv6ProtoPort SetType = "ipv6_addr . inet_proto . inet_service"
	SetProtoPort     SetType = "inet_proto . inet_service"
	SetService       SetType = "inet_service" // a rule's list of ports (Ports)
	SetProto         SetType = "inet_proto"   // a rule's list of protocols (Protos)
)

// Set is a named set. Address sets (SetIPv4, SetIPv6) hold Addrs, merged
// so no two overlap (an interval set unless every entry is one address;
// the list is compact, and shared with the engine's selector members);
// the concatenated types hold Tuples; SetService holds Ports, sorted and
// merged; SetProto holds Protos.
type Set struct {
	Name     string
	Type     SetType
	Interval bool
	Comment  string
	Addrs    iplist.List
	Tuples   []Tuple
	Ports    []PortRange
	Protos   []uint8
}

// Tuple is one element of a concatenated set; Addr is unset for
// SetProtoPort.
type Tuple struct {
	Addr  netip.Addr
	Proto uint8
	Port  uint16
}

// Len is the number of elements.
func (s *Set) Len() int { return s.Addrs.Len() + len(s.Tuples) + len(s.Ports) + len(s.Protos) }

// MapKind is a verdict map's key type.
type MapKind uint8

// Map kinds: the interface dispatch maps, and the compiled form's address
// to identity maps and identity verdict maps (compile.go). All but
// MapIfname and the host maps are interval maps.
const (
	MapIfname      MapKind = iota // ifname : verdict
	MapIPv4                       // ipv4_addr : verdict
	MapIPv6                       // ipv6_addr : verdict
	MapIDProtoPort                // mark . inet_proto . inet_service : verdict
	MapIDProto                    // mark . inet_proto : verdict
	MapIPv4Host                   // ipv4_addr : verdict, single addresses (a hash map)
	MapIPv6Host                   // ipv6_addr : verdict, single addresses (a hash map)
)

// Interval reports whether maps of the kind are interval maps.
func (k MapKind) Interval() bool { return k != MapIfname && k != MapIPv4Host && k != MapIPv6Host }

// Addresses reports whether the kind's keys are addresses, and of which
// family.
func (k MapKind) Addresses() (Family, bool) {
	switch k {
	case MapIPv4, MapIPv4Host:
		return FamilyIPv4, true
	case MapIPv6, MapIPv6Host:
		return FamilyIPv6, true
	}
	return FamilyAny, false
}

// Map is a named verdict map: from interface name to verdict (goto an
// endpoint chain), or one of the compiled form's interval maps.
type Map struct {
	Name     string
	Kind     MapKind
	Comment  string
	Elements []MapElement
}

// MapElement maps a key to a verdict: an interface name (Key), an address
// range (Addrs), or an identity box (Box), by the map's kind.
type MapElement struct {
	Key     string
	Addrs   AddrRange
	Box     Box
	Verdict Verdict
	Comment string
}

// AddrRange is an inclusive range of addresses of one family.
type AddrRange struct{ Lo, Hi netip.Addr }

// Box is a compiled verdict map's key range: a range of identities (as
// mark bits, id<<MarkIDShift), a protocol range and a port range
// (MapIDProtoPort; for ICMP the port is type<<8 | code).
type Box struct {
	IDLo, IDHi       uint32
	ProtoLo, ProtoHi uint8
	Lo, Hi           uint16
}

// Stats counts what a ruleset holds.
type Stats struct {
	Chains, BaseChains, Rules int
	Sets, SetElements         int
	Maps, MapElements         int
}

// Stats counts chains, rules, sets, maps and their elements.
func (r *Ruleset) Stats() Stats {
	var s Stats
	for _, c := range r.Chains {
		s.Chains++
		if c.Base != nil {
			s.BaseChains++
		}
		s.Rules += len(c.Rules)
	}
	for _, st := range r.Sets {
		s.Sets++
		s.SetElements += st.Len()
	}
	for _, m := range r.Maps {
		s.Maps++
		s.MapElements += len(m.Elements)
	}
	return s
}

// Elements is the number of set and map elements.
func (r *Ruleset) Elements() int {
	s := r.Stats()
	return s.SetElements + s.MapElements
}

// Chain returns the chain called name, or nil.
func (r *Ruleset) Chain(name string) *Chain {
	for _, c := range r.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Set returns the set called name, or nil.
func (r *Ruleset) Set(name string) *Set {
	for _, s := range r.Sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Map returns the map called name, or nil.
func (r *Ruleset) Map(name string) *Map {
	for _, m := range r.Maps {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// WorkloadInterfaces lists the interfaces the ruleset dispatches to a
// workload's policy (the keys of its workload dispatch map): the pods
// whose policy is in force.
func (r *Ruleset) WorkloadInterfaces() []string {
	m := r.Map(mapWepFrom)
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m.Elements))
	for _, e := range m.Elements {
		out = append(out, e.Key)
	}
	return out
}
