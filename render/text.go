package render

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Text prints the table as nft syntax: a "table inet palisade { ... }"
// block that `nft -f` accepts. Adding or deleting the table around it is
// the applier's job.
func (r *Ruleset) Text() string {
	var w strings.Builder
	fmt.Fprintf(&w, "table %s %s {\n", r.Family, r.Table)
	for _, s := range r.Sets {
		writeSet(&w, s)
	}
	for _, m := range r.Maps {
		writeMap(&w, m)
	}
	for _, c := range r.Chains {
		writeChain(&w, c)
	}
	for _, c := range r.Counters {
		writeCounter(&w, c)
	}
	if r.FlowLog != nil {
		w.WriteString(r.FlowLog.Block())
	}
	w.WriteString("}\n")
	return w.String()
}

// maxComment is nft's limit on a comment's length.
const maxComment = 128

func quote(s string, max int) string { return `"` + sanitize(s, max) + `"` }

// CommentText is a comment as the table holds it: what the printed
// ruleset writes between the quotes of "comment".
func CommentText(s string) string { return sanitize(s, maxComment) }

// LogPrefixText is a log prefix as the table holds it.
func LogPrefixText(s string) string { return sanitize(s, 127) }

// sanitize replaces what cannot stand in an nft string and cuts it to max.
func sanitize(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '"' || r == '\n' || r == '\\' || r < 0x20 || r > 0x7e {
			return '\''
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

func writeSet(w *strings.Builder, s *Set) {
	fmt.Fprintf(w, "\tset %s {\n\t\ttype %s\n", s.Name, s.Type)
	if s.Interval {
		w.WriteString("\t\tflags interval\n")
	}
	if s.Comment != "" {
		fmt.Fprintf(w, "\t\tcomment %s\n", quote(s.Comment, maxComment))
	}
	var elems []string
	for _, k := range s.ElementKeys() {
		elems = append(elems, strings.Join(k, " . "))
	}
	writeElements(w, elems)
	w.WriteString("\t}\n\n")
}

func writeElements(w *strings.Builder, elems []string) {
	if len(elems) == 0 {
		return
	}
	w.WriteString("\t\telements = {\n")
	for i, e := range elems {
		w.WriteString("\t\t\t" + e)
		if i < len(elems)-1 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString("\t\t}\n")
}

func writeMap(w *strings.Builder, m *Map) {
	fmt.Fprintf(w, "\tmap %s {\n\t\ttype %s\n", m.Name, m.Kind.TypeName())
	if m.Kind.Interval() {
		w.WriteString("\t\tflags interval\n")
	}
	if m.Comment != "" {
		fmt.Fprintf(w, "\t\tcomment %s\n", quote(m.Comment, maxComment))
	}
	var elems []string
	for _, e := range m.Elements {
		elems = append(elems, e.text(m.Kind))
	}
	writeElements(w, elems)
	w.WriteString("\t}\n\n")
}

func writeChain(w *strings.Builder, c *Chain) {
	fmt.Fprintf(w, "\tchain %s {\n", c.Name)
	if b := c.Base; b != nil {
		fmt.Fprintf(w, "\t\ttype %s hook %s priority %d; policy %s;\n", b.Type, b.Hook, b.Priority, b.Policy)
	}
	if c.Comment != "" {
		fmt.Fprintf(w, "\t\tcomment %s\n", quote(c.Comment, maxComment))
	}
	for i := range c.Rules {
		w.WriteString("\t\t" + c.Rules[i].String() + "\n")
	}
	w.WriteString("\t}\n\n")
}

// String prints one rule in nft syntax.
func (r *Rule) String() string {
	var parts []string
	for _, m := range r.Matches {
		parts = append(parts, matchString(m))
	}
	for _, s := range r.Statements {
		parts = append(parts, statementString(s))
	}
	if r.Verdict.Kind != VerdictNone {
		parts = append(parts, verdictString(r.Verdict))
	}
	if r.Comment != "" {
		parts = append(parts, "comment "+quote(r.Comment, maxComment))
	}
	return strings.Join(parts, " ")
}

func op(negate bool) string {
	if negate {
		return "!= "
	}
	return ""
}

func ipKeyword(f Family) string {
	if f == FamilyIPv6 {
		return "ip6"
	}
	return "ip"
}

func fieldName(f Field) string {
	return [...]string{"", "saddr", "daddr", "sport", "dport", "iifname", "oifname"}[f]
}

func matchString(m Match) string {
	switch x := m.(type) {
	case MatchIfname:
		return fieldName(x.Field) + " " + op(x.Negate) + quote(x.Name, 64)
	case MatchNfproto:
		if x.Family == FamilyIPv6 {
			return "meta nfproto ipv6"
		}
		return "meta nfproto ipv4"
	case MatchL4Proto:
		if x.Set != "" {
			return "meta l4proto " + op(x.Negate) + "@" + x.Set
		}
		names := make([]string, len(x.Protos))
		for i, p := range x.Protos {
			names[i] = protoName(p)
		}
		return "meta l4proto " + op(x.Negate) + setOf(names)
	case MatchAddr:
		return ipKeyword(x.Family) + " " + fieldName(x.Field) + " " + op(x.Negate) + addrOperand(x)
	case MatchPort:
		return "th " + fieldName(x.Field) + " " + op(x.Negate) + portOperand(x)
	case MatchAddrProtoPort:
		addr, port := "saddr", "sport"
		if x.Field == FieldDaddr {
			addr, port = "daddr", "dport"
		}
		return fmt.Sprintf("%s %s . meta l4proto . th %s %s@%s", ipKeyword(x.Family), addr, port, op(x.Negate), x.Set)
	case MatchProtoPort:
		return fmt.Sprintf("meta l4proto . th %s %s@%s", fieldName(x.Field), op(x.Negate), x.Set)
	case MatchICMP:
		return icmpString(x)
	case MatchCtState:
		return "ct state " + op(x.Negate) + strings.Join(x.States, ",")
	case MatchCtDNAT:
		if x.Negate {
			return "ct status & dnat == 0"
		}
		return "ct status dnat"
	case MatchMark:
		cmp := "=="
		if x.Negate {
			cmp = "!="
		}
		return fmt.Sprintf("meta mark & 0x%08x %s 0x%08x", x.Mask, cmp, x.Value)
	}
	return fmt.Sprintf("# unknown match %T", m)
}

func setOf(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return "{ " + strings.Join(items, ", ") + " }"
}

func prefixString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func addrOperand(x MatchAddr) string {
	if x.Set != "" {
		return "@" + x.Set
	}
	items := make([]string, len(x.Prefixes))
	for i, p := range x.Prefixes {
		items[i] = prefixString(p)
	}
	return setOf(items)
}

func portOperand(x MatchPort) string {
	if x.Set != "" {
		return "@" + x.Set
	}
	items := make([]string, len(x.Ranges))
	for i, r := range x.Ranges {
		items[i] = portRangeString(r)
	}
	return setOf(items)
}

// portRangeString is "80" or "8000-8100".
func portRangeString(r PortRange) string {
	s := strconv.Itoa(int(r.Lo))
	if r.Hi != r.Lo {
		s += "-" + strconv.Itoa(int(r.Hi))
	}
	return s
}

func icmpString(x MatchICMP) string {
	kw := "icmp"
	if x.Family == FamilyIPv6 {
		kw = "icmpv6"
	}
	types := make([]string, len(x.Types))
	for i, t := range x.Types {
		types[i] = strconv.Itoa(int(t))
	}
	if x.Code == nil {
		return kw + " type " + op(x.Negate) + setOf(types)
	}
	return fmt.Sprintf("%s type %s %s code %s%d", kw, setOf(types), kw, op(x.Negate), *x.Code)
}

func statementString(s Statement) string {
	switch x := s.(type) {
	case StmtMark:
		switch {
		case x.Clear == 0:
			return fmt.Sprintf("meta mark set meta mark | 0x%08x", x.Set)
		case x.Set == 0:
			return fmt.Sprintf("meta mark set meta mark & 0x%08x", ^x.Clear)
		}
		return fmt.Sprintf("meta mark set meta mark & 0x%08x | 0x%08x", ^x.Clear, x.Set)
	case StmtNotrack:
		return "notrack"
	case StmtLog:
		out := "log prefix " + quote(x.Prefix, 127)
		if x.Group != 0 {
			out += fmt.Sprintf(" group %d", x.Group)
		}
		if x.Limit != "" {
			out = "limit name " + strconv.Quote(x.Limit) + " " + out
		}
		return out
	case StmtCounter:
		if x.Name != "" {
			return "counter name " + strconv.Quote(x.Name)
		}
		return "counter"
	}
	return fmt.Sprintf("# unknown statement %T", s)
}

func verdictString(v Verdict) string {
	switch v.Kind {
	case VerdictAccept:
		return "accept"
	case VerdictDrop:
		return "drop"
	case VerdictReturn:
		return "return"
	case VerdictJump:
		return "jump " + v.Chain
	case VerdictGoto:
		return "goto " + v.Chain
	case VerdictVmap:
		return keyString(v) + " vmap @" + v.Map
	}
	return ""
}

// protoName names an L4 protocol as nft does.
func protoName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 4:
		return "ipencap"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "ipv6-icmp"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

// String prints the verdict in nft syntax ("accept", "jump X", "iifname
// vmap @m").
func (v Verdict) String() string { return verdictString(v) }

// ElementKeys returns each element of the set as the parts of its key in
// nft syntax (one part, or three for a concatenation: address, protocol,
// port), as knftables' Element.Key wants them.
func (s *Set) ElementKeys() [][]string {
	out := make([][]string, 0, s.Len())
	for p := range s.Addrs.All() {
		out = append(out, []string{prefixString(p)})
	}
	for _, t := range s.Tuples {
		k := []string{protoName(t.Proto), strconv.Itoa(int(t.Port))}
		if t.Addr.IsValid() {
			k = append([]string{t.Addr.String()}, k...)
		}
		out = append(out, k)
	}
	for _, r := range s.Ports {
		out = append(out, []string{portRangeString(r)})
	}
	for _, p := range s.Protos {
		out = append(out, []string{protoName(p)})
	}
	return out
}

// TypeName is the map's type line: its key type and verdict.
func (k MapKind) TypeName() string {
	return [...]string{"ifname", "ipv4_addr", "ipv6_addr", "mark . inet_proto . inet_service", "mark . inet_proto",
		"ipv4_addr", "ipv6_addr"}[k] +
		" : verdict"
}

// idKey is the identity part of a compiled map's key.
var idKey = fmt.Sprintf("meta mark & 0x%08x", MarkIDMask)

// keyString is a verdict map lookup's key expression.
func keyString(v Verdict) string {
	switch v.Key {
	case FieldSaddr, FieldDaddr:
		return ipKeyword(v.Family) + " " + fieldName(v.Key)
	case FieldIDPort:
		return idKey + " . meta l4proto . th dport"
	case FieldIDICMP:
		return idKey + " . meta l4proto . th sport"
	case FieldIDProto:
		return idKey + " . meta l4proto"
	}
	return fieldName(v.Key)
}

// Block is the chain as nft declares it inside a table block.
func (c *Chain) Block() string {
	var w strings.Builder
	writeChain(&w, c)
	return w.String()
}

// Block is the set as nft declares it inside a table block.
func (s *Set) Block() string {
	var w strings.Builder
	writeSet(&w, s)
	return w.String()
}

// Block is the map as nft declares it inside a table block.
func (m *Map) Block() string {
	var w strings.Builder
	writeMap(&w, m)
	return w.String()
}

// Block is the counter as nft declares it inside a table block.
func (c *Counter) Block() string {
	var w strings.Builder
	writeCounter(&w, c)
	return w.String()
}

// Block is the limit object as nft declares it inside a table block.
func (l *FlowLogLimit) Block() string {
	return fmt.Sprintf("\tlimit %s {\n\t\tcomment %q\n\t\trate %d/second burst %d packets\n\t}\n\n",
		l.Name, l.Comment(), l.Rate, l.Burst)
}

// Comment is the limit object's comment.
func (l *FlowLogLimit) Comment() string {
	return fmt.Sprintf("flow logs: packets sent to NFLOG group %d, node-wide", l.Group)
}

// String is the element of an interface map as nft writes it: "key" :
// verdict.
func (e MapElement) String() string { return e.text(MapIfname) }

// text is the element as nft writes it in a map of kind k: key, comment,
// verdict.
func (e MapElement) text(k MapKind) string {
	s := e.KeyText(k)
	if e.Comment != "" {
		s += " comment " + quote(e.Comment, maxComment)
	}
	return s + " : " + verdictString(e.Verdict)
}

// KeyString is an interface map element's key alone, as `delete element`
// takes it.
func (e MapElement) KeyString() string { return e.KeyText(MapIfname) }

// KeyText is the element's key in a map of kind k.
func (e MapElement) KeyText(k MapKind) string {
	switch k {
	case MapIPv4, MapIPv6, MapIPv4Host, MapIPv6Host:
		return e.Addrs.String()
	case MapIDProtoPort:
		return idText(e.Box) + " . " + rangeText(int(e.Box.ProtoLo), int(e.Box.ProtoHi)) + " . " +
			rangeText(int(e.Box.Lo), int(e.Box.Hi))
	case MapIDProto:
		return idText(e.Box) + " . " + rangeText(int(e.Box.ProtoLo), int(e.Box.ProtoHi))
	}
	return quote(e.Key, 64)
}

func idText(b Box) string {
	if b.IDLo == b.IDHi {
		return fmt.Sprintf("0x%08x", b.IDLo)
	}
	return fmt.Sprintf("0x%08x-0x%08x", b.IDLo, b.IDHi)
}

func rangeText(lo, hi int) string {
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
}

// String is the range as a prefix when it is one, else lo-hi.
func (r AddrRange) String() string {
	if r.Lo == r.Hi {
		return r.Lo.String()
	}
	for bits := 0; bits <= r.Lo.BitLen(); bits++ {
		p := netip.PrefixFrom(r.Lo, bits).Masked()
		if p.Addr() == r.Lo && lastAddr(p) == r.Hi {
			return p.String()
		}
	}
	return r.Lo.String() + "-" + r.Hi.String()
}
