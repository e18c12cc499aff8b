package nft

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisade-net/palisade/render"
)

// Verdict maps as nft 1.0.6 declares them: the interface maps (hash), the
// address maps of the compiled form (interval, an rbtree: a start element
// with the verdict and an end element after the range unless the next
// range starts there), and its identity maps (concatenated intervals, a
// pipapo set: one element with the first and last key of its box, the
// mark's bits in network byte order).

const (
	dtypeMark       = 19
	setConcat       = 0x80 // NFT_SET_CONCAT
	setDescConcat   = 2    // NFTA_SET_DESC_CONCAT
	setFieldLen     = 1    // NFTA_SET_FIELD_LEN
	setElemKeyEnd   = 10   // NFTA_SET_ELEM_KEY_END (after NFTA_SET_ELEM_PAD)
	udataElemFlags  = userdata.NFTNL_UDATA_SET_ELEM_FLAGS
	elemFlagOpen    = 1 // NFTNL_SET_ELEM_F_INTERVAL_OPEN
	udataElemCommnt = userdata.NFTNL_UDATA_SET_ELEM_COMMENT
)

// mapDecl is a map kind's key: type, length, flags and field lengths.
func mapDecl(k render.MapKind) (typ, length, flags uint32, fields []uint32, order uint32, err error) {
	const mapFlags = unix.NFT_SET_MAP
	switch k {
	case render.MapIfname:
		return dtypeIfname, ifnameLen, mapFlags, nil, byteorderHost, nil
	case render.MapIPv4:
		return dtypeIPAddr, 4, mapFlags | unix.NFT_SET_INTERVAL, nil, byteorderBig, nil
	case render.MapIPv6:
		return dtypeIP6Addr, 16, mapFlags | unix.NFT_SET_INTERVAL, nil, byteorderBig, nil
	case render.MapIDProtoPort:
		return dtypeMark<<12 | dtypeInetProto<<6 | dtypeService, 12, mapFlags | unix.NFT_SET_INTERVAL | setConcat,
			[]uint32{4, 1, 2}, byteorderInvalid, nil
	case render.MapIDProto:
		return dtypeMark<<6 | dtypeInetProto, 8, mapFlags | unix.NFT_SET_INTERVAL | setConcat,
			[]uint32{4, 1}, byteorderInvalid, nil
	case render.MapIPv4Host:
		return dtypeIPAddr, 4, mapFlags, nil, byteorderBig, nil
	case render.MapIPv6Host:
		return dtypeIP6Addr, 16, mapFlags, nil, byteorderBig, nil
	}
	return 0, 0, 0, nil, 0, fmt.Errorf("unknown map kind %d", k)
}

// addMap declares a verdict map with its elements.
func (b *nlBatch) addMap(m *render.Map) {
	typ, length, flags, fields, order, err := mapDecl(m.Kind)
	if err != nil {
		b.fail(fmt.Errorf("map %s: %w", m.Name, err))
		return
	}
	b.declareSet(setDecl{name: m.Name, flags: flags, keyType: typ, keyLen: length, fields: fields,
		isMap: true, keyOrder: order, dataOrder: byteorderInvalid, comment: m.Comment})
	b.addMapElements(m)
}

// concatDesc is NFTA_SET_DESC with the field lengths of a concatenation.
func (b *nlBatch) concatDesc(fields []uint32) netlink.Attribute {
	var elems []netlink.Attribute
	for _, f := range fields {
		elems = append(elems, b.nest(unix.NFTA_LIST_ELEM, u32Attr(setFieldLen, f)))
	}
	return b.nest(unix.NFTA_SET_DESC, b.nest(setDescConcat, elems...))
}

func (b *nlBatch) addMapElements(m *render.Map) {
	elems, err := mapElements(m)
	if err != nil {
		b.fail(fmt.Errorf("map %s: %w", m.Name, err))
		return
	}
	b.elements(unix.NFT_MSG_NEWSETELEM, m.Name, 0, encodeElems(elems, true))
}

// nlElem is one kernel element of a set or map: its key, flags, last key
// (a concatenation's interval), data and user data.
type nlElem struct {
	key, keyEnd []byte
	flags       uint32
	data        []netlink.Attribute // the verdict and user data
}

// encodeElems encodes elements: whole to add them, only what names them
// (key, last key, flags) to delete them.
func encodeElems(es []nlElem, whole bool) []netlink.Attribute {
	out := make([]netlink.Attribute, 0, len(es))
	for _, e := range es {
		var extra []netlink.Attribute
		if e.keyEnd != nil {
			extra = append(extra, netlink.Attribute{Type: unix.NLA_F_NESTED | setElemKeyEnd,
				Data: mustAttrs(netlink.Attribute{Type: unix.NFTA_DATA_VALUE, Data: e.keyEnd})})
		}
		if whole {
			extra = append(extra, e.data...)
		}
		out = append(out, keyElement(e.key, e.flags, extra))
	}
	return out
}

// mapElements are a map's kernel elements, by its kind.
func mapElements(m *render.Map) ([]nlElem, error) {
	var out []nlElem
	for _, e := range m.Elements {
		v, err := verdictData(e.Verdict)
		if err != nil {
			return nil, fmt.Errorf("element %s: %w", e.KeyText(m.Kind), err)
		}
		extra := []netlink.Attribute{v}
		if e.Comment != "" {
			extra = append(extra, netlink.Attribute{Type: unix.NFTA_SET_ELEM_USERDATA,
				Data: userdata.AppendString(nil, udataElemCommnt, render.CommentText(e.Comment))})
		}
		switch m.Kind {
		case render.MapIfname:
			key := make([]byte, ifnameLen)
			copy(key, e.Key)
			out = append(out, nlElem{key: key, data: extra})
		case render.MapIPv4, render.MapIPv6:
			out = append(out, rangeElements(e.Addrs, extra)...)
		case render.MapIPv4Host, render.MapIPv6Host:
			if e.Addrs.Lo != e.Addrs.Hi {
				return nil, fmt.Errorf("element %s: a range in a map of single addresses", e.KeyText(m.Kind))
			}
			out = append(out, nlElem{key: e.Addrs.Lo.AsSlice(), data: extra})
		default:
			lo, hi := boxKeys(m.Kind, e.Box)
			out = append(out, nlElem{key: lo, keyEnd: hi, data: extra})
		}
	}
	return out, nil
}

// rangeElements are an address range's start element and, unless the
// range runs to the last address (an open interval), its end element (at
// the start of the next range when that follows at once, as nft sends it).
func rangeElements(r render.AddrRange, extra []netlink.Attribute) []nlElem {
	end := r.Hi.Next()
	if !end.IsValid() {
		open := userdata.AppendUint32(nil, udataElemFlags, elemFlagOpen)
		if n := len(extra); n > 1 {
			extra[n-1].Data = append(extra[n-1].Data, open...)
		} else {
			extra = append(extra, netlink.Attribute{Type: unix.NFTA_SET_ELEM_USERDATA, Data: open})
		}
		return []nlElem{{key: r.Lo.AsSlice(), data: extra}}
	}
	return []nlElem{{key: r.Lo.AsSlice(), data: extra}, {key: end.AsSlice(), flags: unix.NFT_SET_ELEM_INTERVAL_END}}
}

// boxKeys are a box's first and last keys: the mark's bits big-endian,
// the protocol, the port, each field in 4 bytes.
func boxKeys(k render.MapKind, b render.Box) ([]byte, []byte) {
	key := func(id uint32, proto uint8, port uint16) []byte {
		out := binary.BigEndian.AppendUint32(nil, id)
		out = append(out, proto, 0, 0, 0)
		if k == render.MapIDProtoPort {
			out = binary.BigEndian.AppendUint16(out, port)
			out = append(out, 0, 0)
		}
		return out
	}
	return key(b.IDLo, b.ProtoLo, b.Lo), key(b.IDHi, b.ProtoHi, b.Hi)
}
