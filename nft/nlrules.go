package nft

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisade-net/palisade/render"
)

// A rule as nf_tables expressions, in the shapes nft 1.0.6 compiles the
// rendered text to (`nft --debug=netlink`): the implicit "meta nfproto"
// and "meta l4proto" dependencies of ip/ip6/icmp matches, byte-aligned
// prefixes as shorter loads, other prefixes masked, anonymous sets for
// lists (interval sets, merged, when a list holds a range or a prefix),
// ranges as two comparisons (or "range !=" when negated).

// Registers: the 16-byte NFT_REG_1 and the 4-byte registers after it, as
// nft allocates them for a concatenation.
const (
	reg1   = unix.NFT_REG_1
	reg32  = unix.NFT_REG32_00
	regVer = unix.NFT_REG_VERDICT
)

// Packet offsets.
const (
	offIPv4Saddr  = 12
	offIPv4Daddr  = 16
	offIPv6Saddr  = 8
	offIPv6Daddr  = 24
	offSport      = 0
	offDport      = 2
	offICMPType   = 0
	offICMPCode   = 1
	protoICMP     = 1
	protoICMPv6   = 58
	ctStatusDNAT  = 0x20 // IPS_DST_NAT
	nfprotoIPv4   = unix.NFPROTO_IPV4
	nfprotoIPv6   = unix.NFPROTO_IPV6
	udataComment  = userdata.TypeComment
	ctStateBitNew = 8
)

var ctStateBits = map[string]uint32{
	render.CtInvalid: 1, render.CtEstablished: 2, render.CtRelated: 4, render.CtNew: ctStateBitNew, render.CtUntracked: 64,
}

// ruleEnc builds one rule's expressions; the anonymous sets its lists
// need go into the batch before the rule.
type ruleEnc struct {
	b     *nlBatch
	exprs []expr.Any
	// What the rule has already established, as nft tracks it to leave
	// out dependencies: the family, and the L4 protocol (-1 unknown).
	nfproto render.Family
	l4      int
	err     error
}

// addRule appends rule i of chain.
func (b *nlBatch) addRule(chain string, i int, r *render.Rule) {
	e := &ruleEnc{b: b, l4: -1}
	for _, m := range r.Matches {
		e.match(m)
	}
	for _, s := range r.Statements {
		e.statement(s)
	}
	e.verdict(r.Verdict)
	what := fmt.Sprintf("rule %d of chain %s (%s)", i+1, chain, r.String())
	if e.err != nil {
		b.fail(fmt.Errorf("%s: %w", what, e.err))
		return
	}
	list := make([]netlink.Attribute, 0, len(e.exprs))
	for _, x := range e.exprs {
		data, err := expr.Marshal(unix.NFPROTO_INET, x)
		if err != nil {
			b.fail(fmt.Errorf("%s: %w", what, err))
			return
		}
		list = append(list, netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_LIST_ELEM, Data: data})
	}
	attrs := []netlink.Attribute{tableAttr(unix.NFTA_RULE_TABLE), strAttr(unix.NFTA_RULE_CHAIN, chain),
		b.nest(unix.NFTA_RULE_EXPRESSIONS, list...)}
	if r.Comment != "" {
		attrs = append(attrs, netlink.Attribute{Type: unix.NFTA_RULE_USERDATA,
			Data: userdata.AppendString(nil, udataComment, render.CommentText(r.Comment))})
	}
	b.add(unix.NFT_MSG_NEWRULE, flagsAppend, what, attrs...)
}

func (e *ruleEnc) add(x ...expr.Any) { e.exprs = append(e.exprs, x...) }

func (e *ruleEnc) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}

func cmpOp(negate bool) expr.CmpOp {
	if negate {
		return expr.CmpOpNeq
	}
	return expr.CmpOpEq
}

func (e *ruleEnc) meta(key expr.MetaKey, reg uint32) { e.add(&expr.Meta{Key: key, Register: reg}) }

func (e *ruleEnc) payload(base expr.PayloadBase, off, length, reg uint32) {
	e.add(&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: reg, Base: base, Offset: off, Len: length})
}

func (e *ruleEnc) cmp(negate bool, data []byte) {
	e.add(&expr.Cmp{Op: cmpOp(negate), Register: reg1, Data: data})
}

// needFamily adds "meta nfproto" unless the rule already established f.
func (e *ruleEnc) needFamily(f render.Family) {
	if f == render.FamilyAny || e.nfproto == f {
		return
	}
	e.meta(expr.MetaKeyNFPROTO, reg1)
	e.cmp(false, []byte{nfprotoOf(f)})
	e.nfproto = f
}

func nfprotoOf(f render.Family) byte {
	if f == render.FamilyIPv6 {
		return nfprotoIPv6
	}
	return nfprotoIPv4
}

func (e *ruleEnc) match(m render.Match) {
	switch x := m.(type) {
	case render.MatchIfname:
		e.ifname(x)
	case render.MatchNfproto:
		e.meta(expr.MetaKeyNFPROTO, reg1)
		e.cmp(false, []byte{nfprotoOf(x.Family)})
		e.nfproto = x.Family
	case render.MatchL4Proto:
		e.l4proto(x)
	case render.MatchAddr:
		e.addr(x)
	case render.MatchPort:
		e.port(x)
	case render.MatchAddrProtoPort:
		e.addrProtoPort(x)
	case render.MatchProtoPort:
		e.meta(expr.MetaKeyL4PROTO, reg1)
		e.payload(expr.PayloadBaseTransportHeader, portOffset(x.Field), 2, reg32+1)
		e.add(&expr.Lookup{SourceRegister: reg1, SetName: x.Set, Invert: x.Negate})
	case render.MatchICMP:
		e.icmp(x)
	case render.MatchCtState:
		e.ctState(x)
	case render.MatchCtDNAT:
		e.add(&expr.Ct{Key: expr.CtKeySTATUS, Register: reg1})
		e.add(&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne32(ctStatusDNAT), Xor: ne32(0)})
		e.add(&expr.Cmp{Op: cmpOp(!x.Negate), Register: reg1, Data: ne32(0)})
	case render.MatchMark:
		e.meta(expr.MetaKeyMARK, reg1)
		e.add(&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne32(x.Mask), Xor: ne32(0)})
		e.cmp(x.Negate, ne32(x.Value))
	default:
		e.fail("match %T has no netlink form", m)
	}
}

// ne32 is a 32-bit value in host byte order (marks, ct state and status).
func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func (e *ruleEnc) ifname(x render.MatchIfname) {
	key := expr.MetaKeyIIFNAME
	if x.Field == render.FieldOifname {
		key = expr.MetaKeyOIFNAME
	}
	e.meta(key, reg1)
	if prefix, ok := strings.CutSuffix(x.Name, "*"); ok {
		e.cmp(x.Negate, []byte(prefix))
		return
	}
	data := make([]byte, ifnameLen)
	copy(data, x.Name)
	e.cmp(x.Negate, data)
}

func (e *ruleEnc) l4proto(x render.MatchL4Proto) {
	e.meta(expr.MetaKeyL4PROTO, reg1)
	if x.Set != "" {
		e.add(&expr.Lookup{SourceRegister: reg1, SetName: x.Set, Invert: x.Negate})
		return
	}
	if len(x.Protos) == 1 {
		e.cmp(x.Negate, []byte{x.Protos[0]})
		if !x.Negate {
			e.l4 = int(x.Protos[0])
		}
		return
	}
	var keys [][]byte
	for _, p := range x.Protos {
		keys = append(keys, []byte{p})
	}
	e.anonLookup(dtypeInetProto, 1, byteorderInvalid, keys, nil, x.Negate)
}

// anonLookup looks register 1 up in a new anonymous set of single keys
// or, when ranges is set, of merged intervals.
func (e *ruleEnc) anonLookup(keyType, keyLen, order uint32, keys [][]byte, ranges []addrRange, negate bool) {
	flags := uint32(unix.NFT_SET_ANONYMOUS | unix.NFT_SET_CONSTANT)
	var elems []netlink.Attribute
	if ranges != nil {
		flags |= unix.NFT_SET_INTERVAL
		var err error
		if elems, err = intervalElements(ranges, true); err != nil {
			e.fail("%v", err)
			return
		}
	} else {
		for _, k := range keys {
			elems = append(elems, keyElement(k, 0, nil))
		}
	}
	const name = "__set%d"
	e.b.declareSet(setDecl{name: name, flags: flags, keyType: keyType, keyLen: keyLen, keyOrder: order})
	id := e.b.nextSetID
	e.b.elements(unix.NFT_MSG_NEWSETELEM, name, id, elems)
	e.add(&expr.Lookup{SourceRegister: reg1, SetName: name, SetID: id, Invert: negate})
}

func addrOffset(f render.Field, fam render.Family) uint32 {
	switch {
	case fam == render.FamilyIPv6 && f == render.FieldSaddr:
		return offIPv6Saddr
	case fam == render.FamilyIPv6:
		return offIPv6Daddr
	case f == render.FieldSaddr:
		return offIPv4Saddr
	}
	return offIPv4Daddr
}

func addrLen(fam render.Family) uint32 {
	if fam == render.FamilyIPv6 {
		return 16
	}
	return 4
}

func (e *ruleEnc) addr(x render.MatchAddr) {
	if x.Family == render.FamilyAny {
		e.fail("address match without a family")
		return
	}
	e.needFamily(x.Family)
	off, length := addrOffset(x.Field, x.Family), addrLen(x.Family)
	switch {
	case x.Set != "":
		e.payload(expr.PayloadBaseNetworkHeader, off, length, reg1)
		e.add(&expr.Lookup{SourceRegister: reg1, SetName: x.Set, Invert: x.Negate})
	case len(x.Prefixes) == 1:
		e.prefix(x.Prefixes[0].Masked(), off, length, x.Negate)
	case len(x.Prefixes) > 1:
		e.payload(expr.PayloadBaseNetworkHeader, off, length, reg1)
		keyType, single := uint32(dtypeIPAddr), true
		if x.Family == render.FamilyIPv6 {
			keyType = dtypeIP6Addr
		}
		var keys [][]byte
		var ranges []addrRange
		for _, p := range x.Prefixes {
			single = single && p.IsSingleIP()
			keys = append(keys, p.Addr().AsSlice())
			ranges = append(ranges, prefixRange(p))
		}
		if single {
			ranges = nil
		}
		e.anonLookup(keyType, length, byteorderBig, keys, ranges, x.Negate)
	default:
		e.fail("address match with no prefixes")
	}
}

// prefix compares an address field with one prefix: a whole address, the
// prefix's bytes when it ends on a byte boundary, else under a mask.
func (e *ruleEnc) prefix(p netip.Prefix, off, length uint32, negate bool) {
	addr := p.Addr().AsSlice()
	if uint32(len(addr)) != length {
		e.fail("prefix %s in a match of the other family", p)
		return
	}
	bits := p.Bits()
	switch {
	case bits == len(addr)*8:
		e.payload(expr.PayloadBaseNetworkHeader, off, length, reg1)
		e.cmp(negate, addr)
	case bits > 0 && bits%8 == 0:
		e.payload(expr.PayloadBaseNetworkHeader, off, uint32(bits/8), reg1)
		e.cmp(negate, addr[:bits/8])
	default:
		e.payload(expr.PayloadBaseNetworkHeader, off, length, reg1)
		mask := make([]byte, length)
		for i := 0; i < bits; i++ {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		e.add(&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: length, Mask: mask, Xor: make([]byte, length)})
		e.cmp(negate, addr)
	}
}

func portOffset(f render.Field) uint32 {
	if f == render.FieldSport {
		return offSport
	}
	return offDport
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func (e *ruleEnc) port(x render.MatchPort) {
	e.payload(expr.PayloadBaseTransportHeader, portOffset(x.Field), 2, reg1)
	switch {
	case x.Set != "":
		e.add(&expr.Lookup{SourceRegister: reg1, SetName: x.Set, Invert: x.Negate})
	case len(x.Ranges) == 1 && x.Ranges[0].Lo == x.Ranges[0].Hi:
		e.cmp(x.Negate, be16(x.Ranges[0].Lo))
	case len(x.Ranges) == 1 && x.Negate:
		e.add(&expr.Range{Op: expr.CmpOpNeq, Register: reg1, FromData: be16(x.Ranges[0].Lo), ToData: be16(x.Ranges[0].Hi)})
	case len(x.Ranges) == 1:
		e.add(&expr.Cmp{Op: expr.CmpOpGte, Register: reg1, Data: be16(x.Ranges[0].Lo)},
			&expr.Cmp{Op: expr.CmpOpLte, Register: reg1, Data: be16(x.Ranges[0].Hi)})
	case len(x.Ranges) > 1:
		var keys [][]byte
		var ranges []addrRange
		single := true
		for _, r := range x.Ranges {
			single = single && r.Lo == r.Hi
			keys = append(keys, be16(r.Lo))
			ranges = append(ranges, addrRange{lo: be16(r.Lo), hi: be16(r.Hi)})
		}
		if single {
			ranges = nil
		}
		e.anonLookup(dtypeService, 2, byteorderBig, keys, ranges, x.Negate)
	default:
		e.fail("port match with no ports")
	}
}

func (e *ruleEnc) addrProtoPort(x render.MatchAddrProtoPort) {
	e.needFamily(x.Family)
	length := addrLen(x.Family)
	portField := render.FieldDport
	if x.Field == render.FieldSaddr {
		portField = render.FieldSport
	}
	// The address fills registers 1..; the protocol and port take the
	// 4-byte registers after it.
	next := reg32 + length/4
	e.payload(expr.PayloadBaseNetworkHeader, addrOffset(x.Field, x.Family), length, reg1)
	e.meta(expr.MetaKeyL4PROTO, next)
	e.payload(expr.PayloadBaseTransportHeader, portOffset(portField), 2, next+1)
	e.add(&expr.Lookup{SourceRegister: reg1, SetName: x.Set, Invert: x.Negate})
}

func (e *ruleEnc) icmp(x render.MatchICMP) {
	proto, keyType := protoICMP, uint32(dtypeICMPType)
	if x.Family == render.FamilyIPv6 {
		proto, keyType = protoICMPv6, dtypeICMP6Type
	}
	if e.l4 != proto {
		e.needFamily(x.Family)
		e.meta(expr.MetaKeyL4PROTO, reg1)
		e.cmp(false, []byte{byte(proto)})
		e.l4 = proto
	}
	typeNegate := x.Negate && x.Code == nil
	e.payload(expr.PayloadBaseTransportHeader, offICMPType, 1, reg1)
	switch len(x.Types) {
	case 0:
		e.fail("icmp match with no types")
		return
	case 1:
		e.cmp(typeNegate, []byte{x.Types[0]})
	default:
		var keys [][]byte
		for _, t := range x.Types {
			keys = append(keys, []byte{t})
		}
		e.anonLookup(keyType, 1, byteorderInvalid, keys, nil, typeNegate)
	}
	if x.Code != nil {
		e.payload(expr.PayloadBaseTransportHeader, offICMPCode, 1, reg1)
		e.cmp(x.Negate, []byte{*x.Code})
	}
}

func (e *ruleEnc) ctState(x render.MatchCtState) {
	var bits uint32
	for _, s := range x.States {
		b, ok := ctStateBits[s]
		if !ok {
			e.fail("unknown ct state %q", s)
			return
		}
		bits |= b
	}
	e.add(&expr.Ct{Key: expr.CtKeySTATE, Register: reg1})
	if x.Negate {
		// nft compares "ct state != a,b" with the bits' value.
		e.cmp(true, ne32(bits))
		return
	}
	e.add(&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne32(bits), Xor: ne32(0)})
	e.cmp(true, ne32(0))
}

func (e *ruleEnc) statement(s render.Statement) {
	switch x := s.(type) {
	case render.StmtMark:
		e.meta(expr.MetaKeyMARK, reg1)
		e.add(&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: ne32(^x.Clear &^ x.Set), Xor: ne32(x.Set)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1})
	case render.StmtNotrack:
		e.add(&expr.Notrack{})
	case render.StmtLog:
		if x.Limit != "" {
			e.add(&expr.Objref{Type: objLimit, Name: x.Limit})
		}
		l := &expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(render.LogPrefixText(x.Prefix))}
		if x.Group != 0 {
			l.Key |= 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_QTHRESHOLD
			l.Group = x.Group
		}
		e.add(l)
	case render.StmtCounter:
		if x.Name != "" {
			e.add(&expr.Objref{Type: objCounter, Name: x.Name})
		} else {
			e.add(&expr.Counter{})
		}
	default:
		e.fail("statement %T has no netlink form", s)
	}
}

func (e *ruleEnc) verdict(v render.Verdict) {
	switch v.Kind {
	case render.VerdictNone:
	case render.VerdictAccept:
		e.add(&expr.Verdict{Kind: expr.VerdictAccept})
	case render.VerdictDrop:
		e.add(&expr.Verdict{Kind: expr.VerdictDrop})
	case render.VerdictReturn:
		e.add(&expr.Verdict{Kind: expr.VerdictReturn})
	case render.VerdictJump:
		e.add(&expr.Verdict{Kind: expr.VerdictJump, Chain: v.Chain})
	case render.VerdictGoto:
		e.add(&expr.Verdict{Kind: expr.VerdictGoto, Chain: v.Chain})
	case render.VerdictVmap:
		e.vmapKey(v)
		e.add(&expr.Lookup{SourceRegister: reg1, DestRegister: regVer, IsDestRegSet: true, SetName: v.Map})
	default:
		e.fail("verdict kind %d has no netlink form", v.Kind)
	}
}

// vmapKey loads a verdict map lookup's key from register 1 on: an
// interface name, an address (with its family's dependency), or a
// compiled map's identity (the mark's bits, in network byte order as nft
// orders concatenated ranges), protocol and port.
func (e *ruleEnc) vmapKey(v render.Verdict) {
	switch v.Key {
	case render.FieldIifname:
		e.meta(expr.MetaKeyIIFNAME, reg1)
	case render.FieldOifname:
		e.meta(expr.MetaKeyOIFNAME, reg1)
	case render.FieldSaddr, render.FieldDaddr:
		e.needFamily(v.Family)
		e.payload(expr.PayloadBaseNetworkHeader, addrOffset(v.Key, v.Family), addrLen(v.Family), reg1)
	case render.FieldIDPort, render.FieldIDICMP, render.FieldIDProto:
		e.meta(expr.MetaKeyMARK, reg1)
		e.add(&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: ne32(render.MarkIDMask), Xor: ne32(0)},
			&expr.Byteorder{SourceRegister: reg1, DestRegister: reg1, Op: expr.ByteorderHton, Len: 4, Size: 4})
		e.meta(expr.MetaKeyL4PROTO, reg32+1)
		e.add(&expr.Byteorder{SourceRegister: reg32 + 1, DestRegister: reg32 + 1, Op: expr.ByteorderHton, Len: 1, Size: 2})
		switch v.Key {
		case render.FieldIDPort:
			e.payload(expr.PayloadBaseTransportHeader, offDport, 2, reg32+2)
		case render.FieldIDICMP:
			e.payload(expr.PayloadBaseTransportHeader, offSport, 2, reg32+2)
		}
	default:
		e.fail("verdict map key %d has no netlink form", v.Key)
	}
}
