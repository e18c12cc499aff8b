package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/palisade-net/palisade/internal/netlab"
)

// probeTimeout bounds one probe: what a dropped packet costs. Everything in
// the lab answers within milliseconds.
const probeTimeout = 600 * time.Millisecond

// Outcome is what one connection attempt saw.
type Outcome string

const (
	OutOpen        Outcome = "open"        // the peer answered (TCP and UDP echo, ICMP echo reply)
	OutTimeout     Outcome = "timeout"     // nothing came back: a drop
	OutRefused     Outcome = "refused"     // TCP RST or ICMP port unreachable
	OutUnreachable Outcome = "unreachable" // ICMP host/net unreachable or prohibited
	OutFailed      Outcome = "error"       // the probe itself failed
)

// probe is one connection attempt from a namespace.
type probe struct {
	from    *ns
	proto   string // tcp, udp, icmp
	dst     netip.Addr
	port    uint16
	connect bool // TCP: a completed handshake is enough (the peer is not an echo server)
}

func (l *Lab) nextSrcPort() uint16 {
	// 20000-59999: away from the ports anything listens on, and fresh for
	// every probe of a run so that no probe meets an earlier one's
	// conntrack entry.
	return uint16(20000 + atomic.AddUint32(&l.srcPort, 1)%40000)
}

func (l *Lab) nextICMPID() int { return int(atomic.AddUint32(&l.icmpID, 1)%65535) + 1 }

// run makes the attempt and classifies the result.
func (l *Lab) runProbe(ctx context.Context, p probe) (Outcome, error) {
	var err error
	switch p.proto {
	case "tcp":
		err = l.probeTCP(ctx, p)
	case "udp":
		err = l.probeUDP(p)
	case "icmp":
		err = l.probeICMP(p)
	default:
		return OutFailed, fmt.Errorf("lab: probe protocol %q", p.proto)
	}
	return classify(err), err
}

func classify(err error) Outcome {
	var ne net.Error
	switch {
	case err == nil:
		return OutOpen
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return OutRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EACCES),
		errors.Is(err, syscall.EPERM):
		return OutUnreachable
	}
	return OutFailed
}

func (l *Lab) probeTCP(ctx context.Context, p probe) error {
	d := net.Dialer{Timeout: probeTimeout, Control: netlab.ReuseAddr,
		LocalAddr: &net.TCPAddr{Port: int(l.nextSrcPort())}}
	var c net.Conn
	err := p.from.Do(func() (err error) {
		c, err = d.DialContext(ctx, "tcp4", netip.AddrPortFrom(p.dst, p.port).String())
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if p.connect {
		return nil
	}
	return netlab.Exchange(c, 'p', probeTimeout)
}

func (l *Lab) probeUDP(p probe) error {
	la := &net.UDPAddr{Port: int(l.nextSrcPort())}
	ra := net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.dst, p.port))
	var c *net.UDPConn
	err := p.from.Do(func() (err error) {
		c, err = net.DialUDP("udp4", la, ra)
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	return netlab.Exchange(c, 'u', probeTimeout)
}

func (l *Lab) probeICMP(p probe) error {
	var c *icmp.PacketConn
	err := p.from.Do(func() (err error) {
		c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	id := l.nextICMPID()
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("palisade-lab")}}
	wb, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(wb, &net.IPAddr{IP: net.IP(p.dst.AsSlice())}); err != nil {
		return err
	}
	if err := c.SetReadDeadline(time.Now().Add(probeTimeout)); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		k, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		m, err := icmp.ParseMessage(1, buf[:k])
		if err != nil {
			continue
		}
		if m.Type == ipv4.ICMPTypeDestinationUnreachable && echoInside(m, id) {
			return syscall.EHOSTUNREACH
		}
		e, ok := m.Body.(*icmp.Echo)
		ip, _ := from.(*net.IPAddr)
		if m.Type != ipv4.ICMPTypeEchoReply || !ok || e.ID != id || ip == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(ip.IP); ok && a.Unmap() == p.dst {
			return nil
		}
	}
}

// echoInside reports whether an ICMP error quotes our echo request.
func echoInside(m *icmp.Message, id int) bool {
	du, ok := m.Body.(*icmp.DstUnreach)
	if !ok || len(du.Data) < 28 {
		return false
	}
	ihl := int(du.Data[0]&0x0f) * 4
	if len(du.Data) < ihl+8 {
		return false
	}
	return int(du.Data[ihl+4])<<8|int(du.Data[ihl+5]) == id
}

// parsePort reads "80/TCP", "53/udp" or "0/ICMP".
func parsePort(s string) (proto string, port uint16, err error) {
	num, pr, ok := strings.Cut(s, "/")
	if !ok {
		return "", 0, fmt.Errorf("port %q: want PORT/PROTO", s)
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", s, err)
	}
	proto = strings.ToLower(pr)
	switch proto {
	case "tcp", "udp", "icmp":
	default:
		return "", 0, fmt.Errorf("port %q: protocol must be TCP, UDP or ICMP", s)
	}
	return proto, uint16(n), nil
}
