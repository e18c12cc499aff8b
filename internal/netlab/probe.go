package netlab

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// DefaultTimeout bounds a probe that gives none.
const DefaultTimeout = 500 * time.Millisecond

// Probe is one connection attempt from inside a namespace.
type Probe struct {
	Proto   string     // "tcp", "udp" or "icmp" (ICMPv6 for an IPv6 Dst)
	Src     netip.Addr // source address; invalid = chosen by routing
	SrcPort uint16     // tcp/udp source port; 0 = ephemeral
	Dst     netip.Addr
	DstPort uint16        // tcp/udp destination port
	ICMPID  uint16        // echo identifier; 0 = random
	Timeout time.Duration // 0 = DefaultTimeout
}

func (p Probe) String() string {
	if p.Proto == "icmp" {
		return fmt.Sprintf("icmp %s -> %s id %d", orUnspec(p.Src, p.Dst), p.Dst, p.ICMPID)
	}
	return fmt.Sprintf("%s %s -> %s", p.Proto,
		net.JoinHostPort(orUnspec(p.Src, p.Dst), fmt.Sprint(p.SrcPort)),
		netip.AddrPortFrom(p.Dst, p.DstPort))
}

func orUnspec(a, like netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	if like.Is6() {
		return "::"
	}
	return "0.0.0.0"
}

// ProbeError says why a probe failed.
type ProbeError struct {
	Probe   Probe
	Stage   string // "connect", "exchange", "reply"
	Timeout bool   // no answer in time (what a drop looks like)
	Err     error
}

func (e *ProbeError) Error() string {
	return fmt.Sprintf("%s: %s failed: %v", e.Probe, e.Stage, e.Err)
}

func (e *ProbeError) Unwrap() error { return e.Err }

// IsTimeout reports whether err is a probe that got no answer in time.
func IsTimeout(err error) bool {
	var pe *ProbeError
	return errors.As(err, &pe) && pe.Timeout
}

// Probe runs p from inside the namespace and returns nil when the peer
// answered: a TCP connection that echoed one byte, a UDP datagram echoed
// back, or an ICMP echo reply.
func (n *NS) Probe(ctx context.Context, p Probe) error {
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < p.Timeout {
		p.Timeout = max(time.Until(dl), time.Millisecond)
	}
	switch p.Proto {
	case "tcp":
		return n.probeTCP(ctx, p)
	case "udp":
		return n.probeUDP(p)
	case "icmp":
		return n.probeICMP(p)
	}
	return fmt.Errorf("netlab: probe protocol %q is not tcp, udp or icmp", p.Proto)
}

func fail(p Probe, stage string, err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	to := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	return &ProbeError{Probe: p, Stage: stage, Timeout: to, Err: err}
}

// ReuseAddr (a net.Dialer Control) lets many probes bind the same source port in turn while
// earlier sockets sit in TIME_WAIT.
func ReuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// DialTCP opens a TCP connection from inside the namespace. The connection
// may be used from any goroutine afterwards; the caller closes it.
func (n *NS) DialTCP(ctx context.Context, src netip.AddrPort, dst netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, Control: ReuseAddr}
	if src.Addr().IsValid() || src.Port() != 0 {
		d.LocalAddr = &net.TCPAddr{IP: ipOrNil(src.Addr()), Port: int(src.Port())}
	}
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = d.DialContext(ctx, "tcp", dst.String())
		return err
	})
	return c, err
}

func ipOrNil(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return net.IP(a.AsSlice())
}

// Exchange sends one byte on c and waits for it to come back.
func Exchange(c net.Conn, b byte, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := c.Write([]byte{b}); err != nil {
		return err
	}
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err != nil {
		return err
	}
	if buf[0] != b {
		return fmt.Errorf("sent %q, got %q back", b, buf[0])
	}
	return nil
}

func (n *NS) probeTCP(ctx context.Context, p Probe) error {
	c, err := n.DialTCP(ctx, netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort), p.Timeout)
	if err != nil {
		return fail(p, "connect", err)
	}
	defer c.Close()
	return fail(p, "exchange", Exchange(c, 'p', p.Timeout))
}

func (n *NS) probeUDP(p Probe) error {
	var la *net.UDPAddr
	if p.Src.IsValid() || p.SrcPort != 0 {
		la = &net.UDPAddr{IP: ipOrNil(p.Src), Port: int(p.SrcPort)}
	}
	ra := net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.Dst, p.DstPort))
	var c *net.UDPConn
	err := n.Do(func() (err error) {
		c, err = net.DialUDP("udp", la, ra)
		return err
	})
	if err != nil {
		return fail(p, "connect", err)
	}
	defer c.Close()
	return fail(p, "reply", Exchange(c, 'u', p.Timeout))
}

func (n *NS) probeICMP(p Probe) error {
	v6 := p.Dst.Is6()
	netw, laddr := "ip4:icmp", "0.0.0.0"
	var typ, want icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if v6 {
		netw, laddr = "ip6:ipv6-icmp", "::"
		typ, want, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	if p.Src.IsValid() {
		laddr = p.Src.String()
	}
	if p.ICMPID == 0 {
		var b [2]byte
		_, _ = rand.Read(b[:])
		p.ICMPID = binary.BigEndian.Uint16(b[:]) | 1
	}
	var c *icmp.PacketConn
	err := n.Do(func() (err error) {
		c, err = icmp.ListenPacket(netw, laddr)
		return err
	})
	if err != nil {
		return fail(p, "connect", err)
	}
	defer c.Close()
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(p.ICMPID), Seq: 1, Data: []byte("netlab")}}
	wb, err := msg.Marshal(nil)
	if err != nil {
		return fail(p, "connect", err)
	}
	if _, err := c.WriteTo(wb, &net.IPAddr{IP: net.IP(p.Dst.AsSlice())}); err != nil {
		return fail(p, "connect", err)
	}
	return fail(p, "reply", awaitEcho(c, p, proto, want))
}

// awaitEcho reads ICMP messages until the echo reply for p arrives or the
// timeout passes; a raw socket sees every ICMP message of the namespace.
func awaitEcho(c *icmp.PacketConn, p Probe, proto int, want icmp.Type) error {
	if err := c.SetReadDeadline(time.Now().Add(p.Timeout)); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		k, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		m, err := icmp.ParseMessage(proto, buf[:k])
		if err != nil || m.Type != want {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		ip, _ := from.(*net.IPAddr)
		if !ok || e.ID != int(p.ICMPID) || ip == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(ip.IP); ok && a.Unmap() == p.Dst {
			return nil
		}
	}
}
