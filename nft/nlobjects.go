package nft

import (
	"encoding/binary"
	"fmt"
	"iter"
	"net/netip"
	"slices"

	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisade-net/palisade/render"
)

// The table's objects as nf_tables messages, attribute for attribute as
// nft 1.0.6 writes the same declarations (checked with `nft --debug=mnl`),
// so that `nft list table` prints a table written here exactly as one
// nft loaded from the rendered text (TestNetlinkEqualsText).

// Header flags of the messages that create and append.
const (
	flagsCreate = netlink.Create
	flagsAppend = netlink.Create | netlink.Append
)

// nft data type ids (the key type of a set; concatenations shift each
// field's id left by 6 bits).
const (
	dtypeVerdict   = 1
	dtypeIPAddr    = 7
	dtypeIP6Addr   = 8
	dtypeInetProto = 12
	dtypeService   = 13
	dtypeICMPType  = 14
	dtypeICMP6Type = 29
	dtypeIfname    = 41
	dataVerdict    = 0xffffff00 // NFT_DATA_VERDICT
	ifnameLen      = 16         // IFNAMSIZ
)

// Byte orders nft records in a set's user data (key and data).
const (
	byteorderInvalid = 0
	byteorderHost    = 1
	byteorderBig     = 2
)

func tableAttr(typ uint16) netlink.Attribute { return strAttr(typ, render.TableName) }

func (b *nlBatch) addTable() {
	b.add(unix.NFT_MSG_NEWTABLE, flagsCreate, "table",
		tableAttr(unix.NFTA_TABLE_NAME), u32Attr(unix.NFTA_TABLE_FLAGS, 0))
}

func (b *nlBatch) delTable() {
	b.add(unix.NFT_MSG_DELTABLE, 0, "delete table", tableAttr(unix.NFTA_TABLE_NAME))
}

// flushTable deletes every rule of every chain of the table.
func (b *nlBatch) flushTable() {
	b.add(unix.NFT_MSG_DELRULE, 0, "flush table", tableAttr(unix.NFTA_RULE_TABLE))
}

var hookNum = map[render.Hook]uint32{
	render.HookPrerouting: unix.NF_INET_PRE_ROUTING, render.HookInput: unix.NF_INET_LOCAL_IN,
	render.HookForward: unix.NF_INET_FORWARD, render.HookOutput: unix.NF_INET_LOCAL_OUT,
	render.HookPostrouting: unix.NF_INET_POST_ROUTING,
}

// addChain declares the chain, without its rules.
func (b *nlBatch) addChain(c *render.Chain) {
	attrs := []netlink.Attribute{tableAttr(unix.NFTA_CHAIN_TABLE), strAttr(unix.NFTA_CHAIN_NAME, c.Name)}
	if base := c.Base; base != nil {
		num, ok := hookNum[base.Hook]
		if !ok {
			b.fail(fmt.Errorf("chain %s: unknown hook %q", c.Name, base.Hook))
			return
		}
		policy := uint32(nfAccept)
		if base.Policy == "drop" {
			policy = nfDrop
		}
		attrs = append(attrs,
			b.nest(unix.NFTA_CHAIN_HOOK, u32Attr(unix.NFTA_HOOK_HOOKNUM, num), u32Attr(unix.NFTA_HOOK_PRIORITY, uint32(int32(base.Priority)))),
			u32Attr(unix.NFTA_CHAIN_POLICY, policy),
			strAttr(unix.NFTA_CHAIN_TYPE, base.Type))
	}
	if c.Comment != "" {
		attrs = append(attrs, netlink.Attribute{Type: attrChainUserdata,
			Data: userdata.AppendString(nil, userdata.TypeComment, render.CommentText(c.Comment))})
	}
	b.add(unix.NFT_MSG_NEWCHAIN, flagsCreate, "chain "+c.Name, attrs...)
}

// flushChain deletes the chain's rules.
func (b *nlBatch) flushChain(name string) {
	b.add(unix.NFT_MSG_DELRULE, 0, "flush chain "+name, tableAttr(unix.NFTA_RULE_TABLE), strAttr(unix.NFTA_RULE_CHAIN, name))
}

func (b *nlBatch) delChain(name string) {
	b.add(unix.NFT_MSG_DELCHAIN, 0, "delete chain "+name, tableAttr(unix.NFTA_CHAIN_TABLE), strAttr(unix.NFTA_CHAIN_NAME, name))
}

// addChainRules appends the chain's rules.
func (b *nlBatch) addChainRules(c *render.Chain) {
	for i := range c.Rules {
		b.addRule(c.Name, i, &c.Rules[i])
	}
}

// setDecl is a set's declaration: what NEWSET carries.
type setDecl struct {
	name                string
	flags               uint32
	keyType, keyLen     uint32
	fields              []uint32 // a concatenation's field lengths (intervals)
	isMap               bool
	keyOrder, dataOrder uint32
	comment             string
	id                  uint32 // anonymous sets: the batch's id
}

func (b *nlBatch) declareSet(d setDecl) {
	b.nextSetID++
	d.id = b.nextSetID
	attrs := []netlink.Attribute{tableAttr(unix.NFTA_SET_TABLE), strAttr(unix.NFTA_SET_NAME, d.name),
		u32Attr(unix.NFTA_SET_FLAGS, d.flags), u32Attr(unix.NFTA_SET_KEY_TYPE, d.keyType), u32Attr(unix.NFTA_SET_KEY_LEN, d.keyLen)}
	if d.isMap {
		attrs = append(attrs, u32Attr(unix.NFTA_SET_DATA_TYPE, dataVerdict), u32Attr(unix.NFTA_SET_DATA_LEN, 0))
	}
	attrs = append(attrs, u32Attr(unix.NFTA_SET_ID, d.id))
	if len(d.fields) > 0 {
		attrs = append(attrs, b.concatDesc(d.fields))
	}
	ud := userdata.AppendUint32(nil, userdata.NFTNL_UDATA_SET_KEYBYTEORDER, d.keyOrder)
	if d.isMap {
		ud = userdata.AppendUint32(ud, userdata.NFTNL_UDATA_SET_DATABYTEORDER, d.dataOrder)
	}
	if d.comment != "" {
		ud = userdata.AppendString(ud, userdata.NFTNL_UDATA_SET_COMMENT, render.CommentText(d.comment))
	}
	attrs = append(attrs, netlink.Attribute{Type: unix.NFTA_SET_USERDATA, Data: ud})
	b.add(unix.NFT_MSG_NEWSET, flagsCreate, "set "+d.name, attrs...)
}

// setKey is the key type, length and byte order of a named set's type.
func setKey(t render.SetType) (typ, length, order uint32, err error) {
	switch t {
	case render.SetIPv4:
		return dtypeIPAddr, 4, byteorderBig, nil
	case render.SetIPv6:
		return dtypeIP6Addr, 16, byteorderBig, nil
	case render.SetIPv4ProtoPort:
		return dtypeIPAddr<<12 | dtypeInetProto<<6 | dtypeService, 12, byteorderInvalid, nil
	case render.SetIPv6ProtoPort:
		return dtypeIP6Addr<<12 | dtypeInetProto<<6 | dtypeService, 24, byteorderInvalid, nil
	case render.SetProtoPort:
		return dtypeInetProto<<6 | dtypeService, 8, byteorderInvalid, nil
	case render.SetService:
		return dtypeService, 2, byteorderBig, nil
	case render.SetProto:
		return dtypeInetProto, 1, byteorderInvalid, nil
	}
	return 0, 0, 0, fmt.Errorf("unknown set type %q", t)
}

// addSet declares the set with its elements.
func (b *nlBatch) addSet(s *render.Set) {
	typ, length, order, err := setKey(s.Type)
	if err != nil {
		b.fail(fmt.Errorf("set %s: %w", s.Name, err))
		return
	}
	var flags uint32
	if s.Interval {
		flags = unix.NFT_SET_INTERVAL
	}
	b.declareSet(setDecl{name: s.Name, flags: flags, keyType: typ, keyLen: length, keyOrder: order, comment: s.Comment})
	b.addSetElements(s)
}

// addSetElements adds all of the set's elements.
func (b *nlBatch) addSetElements(s *render.Set) {
	elems, err := setElements(s, s.Addrs.All(), s.Tuples)
	if len(s.Ports)+len(s.Protos) > 0 {
		elems, err = listElements(s)
	}
	if err != nil {
		b.fail(fmt.Errorf("set %s: %w", s.Name, err))
		return
	}
	b.elements(unix.NFT_MSG_NEWSETELEM, s.Name, 0, elems)
}

// listElements encodes the elements of a list set (render's shared port
// and protocol lists): written whole, never as a delta.
func listElements(s *render.Set) ([]netlink.Attribute, error) {
	var out []netlink.Attribute
	if s.Interval {
		var rs []addrRange
		for _, r := range s.Ports {
			rs = append(rs, addrRange{lo: be16(r.Lo), hi: be16(r.Hi)})
		}
		return intervalElements(rs, false)
	}
	for _, r := range s.Ports {
		if r.Lo != r.Hi {
			return nil, fmt.Errorf("port range %d-%d in a set without intervals", r.Lo, r.Hi)
		}
		out = append(out, keyElement(be16(r.Lo), 0, nil))
	}
	for _, p := range s.Protos {
		out = append(out, keyElement([]byte{p}, 0, nil))
	}
	return out, nil
}

// setElements encodes prefixes (interval or single-address sets) or
// tuples of a set of s's type.
func setElements(s *render.Set, prefixes iter.Seq[netip.Prefix], tuples []render.Tuple) ([]netlink.Attribute, error) {
	var out []netlink.Attribute
	if s.Interval {
		var rs []addrRange
		for p := range prefixes {
			rs = append(rs, prefixRange(p))
		}
		return intervalElements(rs, false)
	}
	for p := range prefixes {
		if !p.IsSingleIP() {
			return nil, fmt.Errorf("prefix %s in a set without intervals", p)
		}
		out = append(out, keyElement(p.Addr().AsSlice(), 0, nil))
	}
	for _, t := range tuples {
		k, err := tupleKey(s.Type, t)
		if err != nil {
			return nil, err
		}
		out = append(out, keyElement(k, 0, nil))
	}
	return out, nil
}

// tupleKey is a concatenated element's key: every field takes a multiple
// of four bytes, as nft lays out registers.
func tupleKey(typ render.SetType, t render.Tuple) ([]byte, error) {
	var b []byte
	switch typ {
	case render.SetIPv4ProtoPort, render.SetIPv6ProtoPort:
		if !t.Addr.IsValid() || (typ == render.SetIPv4ProtoPort) != t.Addr.Is4() {
			return nil, fmt.Errorf("element %v does not fit type %s", t, typ)
		}
		b = append(b, t.Addr.AsSlice()...)
	case render.SetProtoPort:
	default:
		return nil, fmt.Errorf("unknown set type %q", typ)
	}
	b = append(b, t.Proto, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, t.Port)
	return append(b, 0, 0), nil
}

// keyElement is one element: its key, flags and, for maps, its data.
func keyElement(key []byte, flags uint32, extra []netlink.Attribute) netlink.Attribute {
	attrs := []netlink.Attribute{{Type: unix.NLA_F_NESTED | unix.NFTA_SET_ELEM_KEY,
		Data: mustAttrs(netlink.Attribute{Type: unix.NFTA_DATA_VALUE, Data: key})}}
	if flags != 0 {
		attrs = append(attrs, u32Attr(unix.NFTA_SET_ELEM_FLAGS, flags))
	}
	attrs = append(attrs, extra...)
	return netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_LIST_ELEM, Data: mustAttrs(attrs...)}
}

// mustAttrs marshals small attributes whose encoding cannot fail (fixed
// sizes far below the 64 KiB limit).
func mustAttrs(attrs ...netlink.Attribute) []byte {
	b, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		panic(fmt.Sprintf("nft: encoding attributes: %v", err))
	}
	return b
}

// addrRange is an inclusive range of addresses or ports as big-endian
// bytes of one length.
type addrRange struct{ lo, hi []byte }

func prefixRange(p netip.Prefix) addrRange {
	p = p.Masked()
	return addrRange{lo: p.Addr().AsSlice(), hi: lastAddr(p).AsSlice()}
}

// intervalElements encodes ranges as interval elements: the first
// value, and the value after the last flagged as an interval end (none
// when the range runs to the last value, which nft marks as open in the
// element's user data). merge first joins overlapping and adjacent
// ranges, as nft does in anonymous sets.
func intervalElements(rs []addrRange, merge bool) ([]netlink.Attribute, error) {
	if merge {
		rs = mergeRanges(rs)
	}
	var out []netlink.Attribute
	for _, r := range rs {
		if len(r.lo) != len(r.hi) {
			return nil, fmt.Errorf("range %x-%x: mixed lengths", r.lo, r.hi)
		}
		end, ok := next(r.hi)
		if !ok {
			open := netlink.Attribute{Type: unix.NFTA_SET_ELEM_USERDATA,
				Data: userdata.AppendUint32(nil, userdata.NFTNL_UDATA_SET_ELEM_FLAGS, 1)}
			out = append(out, keyElement(r.lo, 0, []netlink.Attribute{open}))
			continue
		}
		out = append(out, keyElement(r.lo, 0, nil), keyElement(end, unix.NFT_SET_ELEM_INTERVAL_END, nil))
	}
	return out, nil
}

// next is the big-endian value after v; false when v is the last one.
func next(v []byte) ([]byte, bool) {
	out := slices.Clone(v)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			return out, true
		}
	}
	return nil, false
}

// mergeRanges sorts ranges and joins those that overlap or touch.
func mergeRanges(rs []addrRange) []addrRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b addrRange) int { return slices.Compare(a.lo, b.lo) })
	var out []addrRange
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			after, ok := next(last.hi)
			if !ok || slices.Compare(r.lo, after) <= 0 {
				if ok && slices.Compare(r.hi, last.hi) > 0 {
					last.hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// elementChunkBytes bounds the elements of one message (an attribute's
// length is 16 bits).
const elementChunkBytes = 60000

// elements adds or deletes elements of a set (id != 0: the anonymous set
// of the batch with that id), in messages of bounded size.
func (b *nlBatch) elements(msg uint16, set string, id uint32, elems []netlink.Attribute) {
	what := "elements of set " + set
	if msg == unix.NFT_MSG_DELSETELEM {
		what = "deleting " + what
	}
	for len(elems) > 0 {
		n, size := 0, 0
		for n < len(elems) && size+len(elems[n].Data)+8 < elementChunkBytes {
			size += len(elems[n].Data) + 8
			n++
		}
		if n == 0 {
			n = 1
		}
		attrs := []netlink.Attribute{tableAttr(unix.NFTA_SET_ELEM_LIST_TABLE), strAttr(unix.NFTA_SET_ELEM_LIST_SET, set)}
		if id != 0 {
			attrs = append(attrs, u32Attr(unix.NFTA_SET_ELEM_LIST_SET_ID, id))
		}
		attrs = append(attrs, b.nest(unix.NFTA_SET_ELEM_LIST_ELEMENTS, elems[:n]...))
		b.add(msg, flagsCreate, what, attrs...)
		elems = elems[n:]
	}
}

// flushSet deletes every element of a set or map.
func (b *nlBatch) flushSet(name string) {
	b.add(unix.NFT_MSG_DELSETELEM, 0, "flush set "+name,
		tableAttr(unix.NFTA_SET_ELEM_LIST_TABLE), strAttr(unix.NFTA_SET_ELEM_LIST_SET, name))
}

func (b *nlBatch) delSet(name string) {
	b.add(unix.NFT_MSG_DELSET, 0, "delete set "+name, tableAttr(unix.NFTA_SET_TABLE), strAttr(unix.NFTA_SET_NAME, name))
}

// verdictData is a map element's verdict (jump or goto a chain).
func verdictData(v render.Verdict) (netlink.Attribute, error) {
	var code int32
	switch v.Kind {
	case render.VerdictJump:
		code = unix.NFT_JUMP
	case render.VerdictGoto:
		code = unix.NFT_GOTO
	case render.VerdictAccept:
		code = nfAccept
	case render.VerdictDrop:
		code = nfDrop
	default:
		return netlink.Attribute{}, fmt.Errorf("verdict %v in a map", v)
	}
	attrs := []netlink.Attribute{u32Attr(unix.NFTA_VERDICT_CODE, uint32(code))}
	if v.Chain != "" {
		attrs = append(attrs, strAttr(unix.NFTA_VERDICT_CHAIN, v.Chain))
	}
	verdict := netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_DATA_VERDICT, Data: mustAttrs(attrs...)}
	return netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_SET_ELEM_DATA, Data: mustAttrs(verdict)}, nil
}

// addCounter declares a named counter starting at its counts.
func (b *nlBatch) addCounter(c *render.Counter) {
	b.add(unix.NFT_MSG_NEWOBJ, flagsCreate, "counter "+c.Name,
		tableAttr(unix.NFTA_OBJ_TABLE), strAttr(unix.NFTA_OBJ_NAME, c.Name), u32Attr(unix.NFTA_OBJ_TYPE, objCounter),
		netlink.Attribute{Type: attrObjUserdata, Data: userdata.AppendString(nil, userdata.TypeComment, render.CommentText(c.Key.Comment()))},
		b.nest(unix.NFTA_OBJ_DATA, u64Attr(unix.NFTA_COUNTER_BYTES, c.Bytes), u64Attr(unix.NFTA_COUNTER_PACKETS, c.Packets)))
}

// addLimit declares the flow log limit object (packets per second).
func (b *nlBatch) addLimit(l *render.FlowLogLimit) {
	b.add(unix.NFT_MSG_NEWOBJ, flagsCreate, "limit "+l.Name,
		tableAttr(unix.NFTA_OBJ_TABLE), strAttr(unix.NFTA_OBJ_NAME, l.Name), u32Attr(unix.NFTA_OBJ_TYPE, objLimit),
		netlink.Attribute{Type: attrObjUserdata, Data: userdata.AppendString(nil, userdata.TypeComment, render.CommentText(l.Comment()))},
		b.nest(unix.NFTA_OBJ_DATA, u64Attr(unix.NFTA_LIMIT_RATE, uint64(l.Rate)), u64Attr(unix.NFTA_LIMIT_UNIT, 1),
			u32Attr(unix.NFTA_LIMIT_BURST, uint32(l.Burst)), u32Attr(unix.NFTA_LIMIT_TYPE, unix.NFT_LIMIT_PKTS),
			u32Attr(unix.NFTA_LIMIT_FLAGS, 0)))
}

// delObj deletes a named counter (objCounter) or limit (objLimit).
func (b *nlBatch) delObj(typ uint32, name string) {
	b.add(unix.NFT_MSG_DELOBJ, 0, "delete object "+name,
		tableAttr(unix.NFTA_OBJ_TABLE), strAttr(unix.NFTA_OBJ_NAME, name), u32Attr(unix.NFTA_OBJ_TYPE, typ))
}

// addRuleset declares a whole ruleset into an existing (empty or kept)
// table: objects, then chains, then rules, so every reference resolves.
func (b *nlBatch) addRuleset(rs *render.Ruleset) { b.addRulesetKeeping(rs, nil) }

// addRulesetKeeping is addRuleset where the chains, sets and maps in kept
// ("chain NAME", "set NAME", "map NAME") are in the table already, empty.
func (b *nlBatch) addRulesetKeeping(rs *render.Ruleset, kept map[string]bool) {
	for _, s := range rs.Sets {
		if kept["set "+s.Name] {
			b.addSetElements(s)
		} else {
			b.addSet(s)
		}
	}
	for _, c := range rs.Counters {
		b.addCounter(c)
	}
	if rs.FlowLog != nil {
		b.addLimit(rs.FlowLog)
	}
	for _, c := range rs.Chains {
		if !kept["chain "+c.Name] {
			b.addChain(c)
		}
	}
	for _, m := range rs.Maps {
		if kept["map "+m.Name] {
			b.addMapElements(m)
		} else {
			b.addMap(m)
		}
	}
	for _, c := range rs.Chains {
		b.addChainRules(c)
	}
}

// Netfilter verdicts (linux/netfilter.h).
const (
	nfDrop   = 0
	nfAccept = 1
)
