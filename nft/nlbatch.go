package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// This file is the netlink transport of the Kernel applier: an nf_tables
// transaction is a batch of messages (begin, the changes, end) sent in one
// sendmsg on a NETLINK_NETFILTER socket opened inside the target network
// namespace. The kernel runs the whole batch inside that call and commits
// it entirely or not at all; its errors are queued on the socket before the
// call returns. A GETGEN request sent afterwards is answered after them, so
// reading up to its acknowledgement collects every error of the batch
// without a timeout and without an acknowledgement per message.

// Attribute numbers golang.org/x/sys/unix does not name (linux/netfilter/nf_tables.h).
const (
	attrChainUserdata = 12 // NFTA_CHAIN_USERDATA
	attrObjUserdata   = 8  // NFTA_OBJ_USERDATA
	objCounter        = 1  // NFT_OBJECT_COUNTER
	objLimit          = 4  // NFT_OBJECT_LIMIT
)

// nlBatch is one nf_tables transaction being built: its messages and, for
// each, what it writes (named in errors).
type nlBatch struct {
	msgs []netlink.Message
	what []string
	// nextSetID numbers the anonymous sets of the batch (NFTA_SET_ID).
	nextSetID uint32
	err       error
}

// errBatchEncode: a message of the batch could not be encoded.
var errBatchEncode = errors.New("nft: netlink encoding")

// add appends one nf_tables message for palisade's inet table.
func (b *nlBatch) add(msg uint16, flags netlink.HeaderFlags, what string, attrs ...netlink.Attribute) {
	data, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", what, err))
		return
	}
	b.msgs = append(b.msgs, netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | int(msg)),
			Flags: netlink.Request | flags,
		},
		Data: append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, data...),
	})
	b.what = append(b.what, what)
}

func (b *nlBatch) fail(err error) {
	if b.err == nil {
		b.err = fmt.Errorf("%w: %v", errBatchEncode, err)
	}
}

// nest is a nested attribute; an encoding error fails the batch.
func (b *nlBatch) nest(typ uint16, attrs ...netlink.Attribute) netlink.Attribute {
	data, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		b.fail(err)
	}
	return netlink.Attribute{Type: unix.NLA_F_NESTED | typ, Data: data}
}

func strAttr(typ uint16, s string) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: append([]byte(s), 0)}
}

func u32Attr(typ uint16, v uint32) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: binary.BigEndian.AppendUint32(nil, v)}
}

func u64Attr(typ uint16, v uint64) netlink.Attribute {
	return netlink.Attribute{Type: typ, Data: binary.BigEndian.AppendUint64(nil, v)}
}

// nlSocket opens a netfilter netlink socket in the namespace at path (""
// = the caller's own): the socket keeps the namespace it was created in.
func nlSocket(path string) (int, error) {
	fd := -1
	err := inNamespace(path, func() (err error) {
		fd, err = openNetfilter()
		return err
	})
	if err != nil && fd >= 0 {
		unix.Close(fd)
		fd = -1
	}
	return fd, err
}

func openNetfilter() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return -1, fmt.Errorf("nft: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("nft: netlink bind: %w", err)
	}
	// Errors without the failed message echoed, with the kernel's text.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	return fd, nil
}

// BatchError is a netlink transaction the kernel refused: nothing of it
// was applied.
type BatchError struct {
	// What names the message the kernel refused first ("rule 3 of chain
	// X: ..."), when it said which.
	What string
	Msg  string // the kernel's extended message, if any
	Err  error  // the errno
}

func (e *BatchError) Error() string {
	s := "netlink transaction refused"
	if e.What != "" {
		s += " at " + e.What
	}
	s += ": " + e.Err.Error()
	if e.Msg != "" {
		s += " (" + e.Msg + ")"
	}
	return s
}

func (e *BatchError) Unwrap() error { return e.Err }

// nlSock is a Kernel's netfilter socket, opened on first use and kept:
// the kernel makes the close of a netfilter socket wait until it has
// freed what earlier transactions replaced (an RCU grace period, about
// 5 ms here), which a socket per transaction would pay every time. The
// os.File closes it when the Kernel is gone.
type nlSock struct {
	file *os.File
	seq  uint32
	buf  []byte // for reads, allocated once
}

// readBuf is the socket's read buffer (1 MiB: a dump's messages come in
// parts of at most a page or so each).
func (s *nlSock) readBuf() []byte {
	if s.buf == nil {
		s.buf = make([]byte, 1<<20)
	}
	return s.buf
}

func (s *nlSock) fd() int { return int(s.file.Fd()) }

// next returns the next n sequence numbers' first.
func (s *nlSock) next(n uint32) uint32 {
	first := s.seq + 1
	s.seq += n
	return first
}

// withSocket runs f with the Kernel's socket (one caller at a time). A
// failure of the transport itself drops the socket; the next use opens
// another.
func (k *Kernel) withSocket(f func(s *nlSock) error) error {
	k.nlMu.Lock()
	defer k.nlMu.Unlock()
	if k.nl == nil {
		fd, err := nlSocket(k.cfg.NetNS)
		if err != nil {
			return err
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<22)
		// A reply that never comes ends a read after the configured
		// timeout (EAGAIN) instead of blocking the applier.
		tv := unix.NsecToTimeval(k.cfg.Timeout.Nanoseconds())
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		k.nl = &nlSock{file: os.NewFile(uintptr(fd), "netfilter-netlink")}
	}
	err := f(k.nl)
	var be *BatchError
	var errno syscall.Errno
	if err != nil && !errors.As(err, &be) && !errors.As(err, &errno) && !errors.Is(err, ErrNoTable) && !errors.Is(err, errBatchEncode) {
		k.nl.file.Close()
		k.nl = nil
	}
	return err
}

// commit sends the batch as one transaction in the applier's namespace.
func (k *Kernel) commit(b *nlBatch) error {
	if b.err != nil {
		return b.err
	}
	if len(b.msgs) == 0 {
		return nil
	}
	return k.withSocket(func(s *nlSock) error {
		first := s.next(uint32(len(b.msgs)) + 3)
		buf, err := batchBytes(b.msgs, first)
		if err != nil {
			return fmt.Errorf("%w: %v", errBatchEncode, err)
		}
		fd := s.fd()
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, len(buf)+1<<16)
		// The kernel names the committing thread in the generation
		// message: remember it, so the change monitor takes this batch as
		// our own.
		runtime.LockOSThread()
		k.noteOwn(unix.Gettid())
		err = unix.Sendto(fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		runtime.UnlockOSThread()
		if err != nil {
			return fmt.Errorf("nft: netlink send (%d messages, %d bytes): %w", len(b.msgs), len(buf), err)
		}
		gen := first + uint32(len(b.msgs)) + 2
		if err := sendGetGen(fd, gen); err != nil {
			return err
		}
		return readBatchErrors(fd, s.readBuf(), first, gen, func(seq uint32) string {
			if i := int(seq) - int(first) - 1; i >= 0 && i < len(b.what) {
				return b.what[i]
			}
			return ""
		})
	})
}

// batchBytes frames the messages between batch begin (sequence first)
// and end.
func batchBytes(msgs []netlink.Message, first uint32) ([]byte, error) {
	marker := func(typ int, seq uint32) netlink.Message {
		return netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request, Sequence: seq},
			Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES},
		}
	}
	var out []byte
	appendMsg := func(m netlink.Message) error {
		m.Header.Length = uint32(unix.NLMSG_HDRLEN + len(m.Data))
		raw, err := m.MarshalBinary()
		out = append(out, raw...)
		return err
	}
	if err := appendMsg(marker(unix.NFNL_MSG_BATCH_BEGIN, first)); err != nil {
		return nil, err
	}
	for i, m := range msgs {
		m.Header.Sequence = first + uint32(i) + 1
		if err := appendMsg(m); err != nil {
			return nil, err
		}
	}
	if err := appendMsg(marker(unix.NFNL_MSG_BATCH_END, first+uint32(len(msgs))+1)); err != nil {
		return nil, err
	}
	return out, nil
}

// sendGetGen asks for the ruleset generation, acknowledged.
func sendGetGen(fd int, seq uint32) error {
	m := netlink.Message{
		Header: netlink.Header{
			Type:     netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN),
			Flags:    netlink.Request | netlink.Acknowledge,
			Sequence: seq,
			Length:   unix.NLMSG_HDRLEN + 4,
		},
		Data: []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	}
	raw, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := unix.Sendto(fd, raw, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("nft: netlink send: %w", err)
	}
	return nil
}

// readBatchErrors reads until the acknowledgement of sequence last and
// returns the first error the kernel reported for the batch (sequences
// from first); replies to anything older are skipped.
func readBatchErrors(fd int, buf []byte, first, last uint32, what func(uint32) string) error {
	var refused *BatchError
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("nft: netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("nft: netlink receive: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			errno := -int32(binary.NativeEndian.Uint32(m.Data[:4]))
			if m.Header.Seq == last {
				if refused != nil {
					return refused
				}
				if errno != 0 {
					return fmt.Errorf("nft: netlink generation request: %w", syscall.Errno(errno))
				}
				return nil
			}
			if errno != 0 && refused == nil && m.Header.Seq >= first && m.Header.Seq < last {
				refused = &BatchError{What: what(m.Header.Seq), Msg: extackMsg(m), Err: syscall.Errno(errno)}
			}
		}
	}
}

// extackMsg is the kernel's text in an error message with NLM_F_ACK_TLVS.
func extackMsg(m syscall.NetlinkMessage) string {
	if m.Header.Flags&unix.NLM_F_ACK_TLVS == 0 {
		return ""
	}
	off := 4 + unix.NLMSG_HDRLEN
	if m.Header.Flags&unix.NLM_F_CAPPED == 0 && len(m.Data) >= 4+unix.NLMSG_HDRLEN {
		off = 4 + int(binary.NativeEndian.Uint32(m.Data[4:8]))
	}
	if off > len(m.Data) {
		return ""
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[off:])
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == unix.NLMSGERR_ATTR_MSG {
			return strings.TrimRight(ad.String(), "\x00")
		}
	}
	return ""
}
