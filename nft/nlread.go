package nft

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"syscall"

	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisade-net/palisade/render"
)

// Reading palisade's table back over netlink, without nft: its objects
// (for a whole replace that keeps the base chains), its named counters,
// and a fingerprint of everything in it but counter values and handles
// (what the agent's drift checks compare).

// kernelMsg is one object of a dump: the attributes after the nfgenmsg.
type kernelMsg []byte

// errDumpInterrupted: the ruleset changed during a dump; read again.
var errDumpInterrupted = errors.New("nft: netlink dump interrupted by a change")

// dump runs one nf_tables dump request on fd.
func dump(fd int, buf []byte, seq uint32, msg uint16, attrs ...netlink.Attribute) ([]kernelMsg, error) {
	data, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return nil, err
	}
	m := netlink.Message{
		Header: netlink.Header{
			Type:     netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | int(msg)),
			Flags:    netlink.Request | netlink.Dump,
			Sequence: seq,
			Length:   uint32(unix.NLMSG_HDRLEN + 4 + len(data)),
		},
		Data: append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, data...),
	}
	raw, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if err := unix.Sendto(fd, raw, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("nft: netlink send: %w", err)
	}
	var out []kernelMsg
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return nil, fmt.Errorf("nft: netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("nft: netlink receive: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			if m.Header.Flags&unix.NLM_F_DUMP_INTR != 0 {
				return nil, errDumpInterrupted
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(m.Data[:4])); errno != 0 {
						return nil, syscall.Errno(errno)
					}
				}
				return out, nil
			}
			// The reply type is the request's NEW counterpart; the data
			// is copied out of buf, which the next read reuses.
			if m.Header.Type == uint16(unix.NFNL_SUBSYS_NFTABLES<<8|int(msg-1)) && len(m.Data) >= 4 {
				out = append(out, kernelMsg(slices.Clone(m.Data[4:])))
			}
		}
	}
}

// attrs decodes a message's (or nested attribute's) attributes.
func attrs(b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return out
	}
	for ad.Next() {
		out[ad.Type()] = ad.Bytes()
	}
	return out
}

// be32 is a 32-bit big-endian attribute's value (0 when absent).
func be32(b []byte) uint32 {
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func attrString(b []byte) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// kernelTable is palisade's table as the kernel holds it.
type kernelTable struct {
	chains, rules, sets, objs []kernelMsg
	elements                  map[string][]kernelMsg // set name -> element lists
}

// What readTable reads.
type readWhat int

const (
	readObjects   readWhat = iota // named counters and limits
	readStructure                 // and chains, sets and maps
	readAll                       // and rules and elements
)

// readTable dumps palisade's table; ErrNoTable when there is none.
func (k *Kernel) readTable(ctx context.Context, what readWhat) (*kernelTable, error) {
	k.waitCleanup()
	var err error
	for range 5 {
		var t *kernelTable
		if t, err = k.readTableOnce(what); !errors.Is(err, errDumpInterrupted) {
			return t, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, err
}

func (k *Kernel) readTableOnce(what readWhat) (t *kernelTable, err error) {
	err = k.withSocket(func(s *nlSock) error {
		t, err = readTableFrom(s.fd(), s.readBuf(), func() uint32 { return s.next(1) }, what)
		return err
	})
	return t, err
}

func readTableFrom(fd int, buf []byte, next func() uint32, what readWhat) (*kernelTable, error) {
	tables, err := dump(fd, buf, next(), unix.NFT_MSG_GETTABLE)
	if err != nil {
		return nil, fmt.Errorf("nft: reading tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(m kernelMsg) bool { return attrString(attrs(m)[unix.NFTA_TABLE_NAME]) == render.TableName }) {
		return nil, ErrNoTable
	}
	t := &kernelTable{elements: map[string][]kernelMsg{}}
	mine := func(ms []kernelMsg, tableAttr uint16) []kernelMsg {
		return slices.DeleteFunc(ms, func(m kernelMsg) bool { return attrString(attrs(m)[tableAttr]) != render.TableName })
	}
	steps := []struct {
		need      readWhat
		msg       uint16
		tableAttr uint16
		into      *[]kernelMsg
	}{
		{readStructure, unix.NFT_MSG_GETCHAIN, unix.NFTA_CHAIN_TABLE, &t.chains},
		{readAll, unix.NFT_MSG_GETRULE, unix.NFTA_RULE_TABLE, &t.rules},
		{readStructure, unix.NFT_MSG_GETSET, unix.NFTA_SET_TABLE, &t.sets},
		{readObjects, unix.NFT_MSG_GETOBJ, unix.NFTA_OBJ_TABLE, &t.objs},
	}
	for _, s := range steps {
		if s.need > what {
			continue
		}
		ms, err := dump(fd, buf, next(), s.msg, tableAttr(s.tableAttr))
		if err != nil {
			return nil, fmt.Errorf("nft: reading the table: %w", err)
		}
		*s.into = mine(ms, s.tableAttr)
	}
	if what < readAll {
		return t, nil
	}
	for _, s := range t.sets {
		a := attrs(s)
		if be32(a[unix.NFTA_SET_FLAGS])&unix.NFT_SET_CONSTANT != 0 {
			continue // a rule's anonymous list: its elements cannot change
		}
		name := attrString(a[unix.NFTA_SET_NAME])
		ms, err := dump(fd, buf, next(), unix.NFT_MSG_GETSETELEM,
			tableAttr(unix.NFTA_SET_ELEM_LIST_TABLE), strAttr(unix.NFTA_SET_ELEM_LIST_SET, name))
		if err != nil {
			return nil, fmt.Errorf("nft: reading set %s: %w", name, err)
		}
		t.elements[name] = ms
	}
	return t, nil
}

// objects are the table's objects as a whole replace needs them.
func (t *kernelTable) objects() tableObjects {
	o := tableObjects{base: map[string]string{}, comments: map[string]string{}}
	for _, c := range t.chains {
		a := attrs(c)
		name := attrString(a[unix.NFTA_CHAIN_NAME])
		comment, _ := userdata.GetString(a[attrChainUserdata], userdata.TypeComment)
		if _, isBase := a[unix.NFTA_CHAIN_HOOK]; isBase {
			o.base[name] = comment
		} else {
			o.chains = append(o.chains, name)
			o.comments["chain "+name] = comment
		}
	}
	for _, s := range t.sets {
		a := attrs(s)
		flags := be32(a[unix.NFTA_SET_FLAGS])
		name := attrString(a[unix.NFTA_SET_NAME])
		switch {
		case flags&unix.NFT_SET_ANONYMOUS != 0:
		case flags&unix.NFT_SET_MAP != 0:
			o.maps = append(o.maps, name)
			o.comments["map "+name], _ = userdata.GetString(a[unix.NFTA_SET_USERDATA], userdata.NFTNL_UDATA_SET_COMMENT)
		default:
			o.sets = append(o.sets, name)
			o.comments["set "+name], _ = userdata.GetString(a[unix.NFTA_SET_USERDATA], userdata.NFTNL_UDATA_SET_COMMENT)
		}
	}
	for _, ob := range t.objs {
		a := attrs(ob)
		name := attrString(a[unix.NFTA_OBJ_NAME])
		switch be32(a[unix.NFTA_OBJ_TYPE]) {
		case objCounter:
			o.counters = append(o.counters, name)
		case objLimit:
			o.limits = append(o.limits, name)
		}
	}
	return o
}

// counters are the table's named counters, by name.
func (t *kernelTable) counters() []CounterValue {
	var out []CounterValue
	for _, ob := range t.objs {
		a := attrs(ob)
		if be32(a[unix.NFTA_OBJ_TYPE]) != objCounter {
			continue
		}
		c := CounterValue{Name: attrString(a[unix.NFTA_OBJ_NAME])}
		c.Comment, _ = userdata.GetString(a[attrObjUserdata], userdata.TypeComment)
		d := attrs(a[unix.NFTA_OBJ_DATA])
		if v := d[unix.NFTA_COUNTER_PACKETS]; len(v) == 8 {
			c.Packets = binary.BigEndian.Uint64(v)
		}
		if v := d[unix.NFTA_COUNTER_BYTES]; len(v) == 8 {
			c.Bytes = binary.BigEndian.Uint64(v)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Attributes a fingerprint leaves out: handles, use counts, ids and
// padding, which change without the table's meaning changing, and
// counter values.
var (
	skipChain = []uint16{unix.NFTA_CHAIN_HANDLE, unix.NFTA_CHAIN_USE, unix.NFTA_CHAIN_COUNTERS, unix.NFTA_CHAIN_PAD, 11 /* ID */}
	skipRule  = []uint16{unix.NFTA_RULE_HANDLE, unix.NFTA_RULE_POSITION, 8 /* ID */, 9 /* POSITION_ID */, 10 /* PAD */}
	skipSet   = []uint16{unix.NFTA_SET_ID, unix.NFTA_SET_PAD, 16 /* HANDLE */}
	skipObj   = []uint16{unix.NFTA_OBJ_USE, 6 /* HANDLE */, 7 /* PAD */}
)

// fingerprint is a digest of the table without counter values and
// handles: equal for equal tables, different after any change of a
// chain, rule, set, element, map or object.
func (t *kernelTable) fingerprint() string {
	h := sha256.New()
	write := func(kind string, m kernelMsg, skip []uint16, zeroCounter bool) {
		h.Write([]byte(kind))
		ad, err := netlink.NewAttributeDecoder(m)
		if err != nil {
			return
		}
		for ad.Next() {
			typ := ad.Type()
			if slices.Contains(skip, typ) {
				continue
			}
			data := ad.Bytes()
			switch {
			case kind == "rule" && typ == unix.NFTA_RULE_EXPRESSIONS:
				data = withoutCounterValues(data)
			case kind == "obj" && typ == unix.NFTA_OBJ_DATA && zeroCounter:
				data = nil
			}
			binary.Write(h, binary.BigEndian, [2]uint32{uint32(typ), uint32(len(data))})
			h.Write(data)
		}
	}
	for _, c := range t.chains {
		write("chain", c, skipChain, false)
	}
	for _, r := range t.rules {
		write("rule", r, skipRule, false)
	}
	for _, s := range t.sets {
		write("set", s, skipSet, false)
		for _, e := range t.elements[attrString(attrs(s)[unix.NFTA_SET_NAME])] {
			write("elements", e, nil, false)
		}
	}
	for _, o := range t.objs {
		isCounter := be32(attrs(o)[unix.NFTA_OBJ_TYPE]) == objCounter
		write("obj", o, skipObj, isCounter)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// withoutCounterValues is a rule's expression list with the data of its
// anonymous counters left out.
func withoutCounterValues(list []byte) []byte {
	var out []byte
	ad, err := netlink.NewAttributeDecoder(list)
	if err != nil {
		return list
	}
	for ad.Next() {
		e := attrs(ad.Bytes())
		name := attrString(e[unix.NFTA_EXPR_NAME])
		out = append(out, name...)
		if name != "counter" {
			out = append(out, e[unix.NFTA_EXPR_DATA]...)
		}
		out = append(out, 0)
	}
	return out
}

// Fingerprint is a digest of palisade's table as the kernel holds it,
// counter values left out, read over netlink; ErrNoTable when there is
// none. Two reads are equal exactly when nothing in the table changed
// but its counts.
func (k *Kernel) Fingerprint(ctx context.Context) (string, error) {
	t, err := k.readTable(ctx, readAll)
	if err != nil {
		return "", err
	}
	return t.fingerprint(), nil
}
