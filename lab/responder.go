package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
)

// Respond answers on the given ports until ctx ends: every TCP connection
// gets its bytes echoed until the client closes it or stays quiet for 5 s,
// and every UDP datagram is sent back from the address it was sent to (so
// conntrack sees the reply of the request). It is `palisade lab responder`,
// started in every namespace of the lab; ICMP echo is the kernel's.
func Respond(ctx context.Context, tcp, udp []uint16) error {
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for _, p := range tcp {
		ln, err := net.Listen("tcp4", fmt.Sprintf(":%d", p))
		if err != nil {
			return fmt.Errorf("responder: tcp %d: %w", p, err)
		}
		closers = append(closers, func() { ln.Close() })
		go serveTCP(ln)
	}
	for _, p := range udp {
		pc, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", p))
		if err != nil {
			return fmt.Errorf("responder: udp %d: %w", p, err)
		}
		closers = append(closers, func() { pc.Close() })
		go serveUDP(pc)
	}
	<-ctx.Done()
	return nil
}

func serveTCP(ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			echo(c)
		}()
	}
}

func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 512)
	for first := true; ; first = false {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		k, err := c.Read(buf)
		if first && k > 0 && isHTTP(buf[:k]) {
			answerHTTP(c)
			return
		}
		if k > 0 {
			if _, werr := c.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// isHTTP reports whether a connection opened with an HTTP request line
// (the seeds' curl and wget).
func isHTTP(b []byte) bool {
	for _, m := range []string{"GET ", "HEAD ", "POST ", "PUT ", "OPTIONS "} {
		if strings.HasPrefix(string(b), m) {
			return true
		}
	}
	return false
}

// answerHTTP sends a small page naming the address that answered, then
// ends its side and reads what the client still sends until it closes
// (or 2 s pass). Closing with the rest of a request unread (a request
// that came in two segments) would make the kernel answer with a reset,
// and a client reading the page could see the reset, not the end.
func answerHTTP(c net.Conn) {
	body := fmt.Sprintf("palisade lab: %s answered\n", c.LocalAddr())
	_, _ = fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		len(body), body)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, c)
}

func serveUDP(c net.PacketConn) {
	pc := ipv4.NewPacketConn(c)
	_ = pc.SetControlMessage(ipv4.FlagDst, true)
	buf := make([]byte, 1500)
	for {
		k, cm, from, err := pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		var out *ipv4.ControlMessage
		if cm != nil {
			out = &ipv4.ControlMessage{Src: cm.Dst}
		}
		_, _ = pc.WriteTo(buf[:k], out, from)
	}
}

// ParsePorts reads a comma-separated port list ("21,22,80").
func ParsePorts(s string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("bad port %q", f)
		}
		out = append(out, uint16(n))
	}
	return out, nil
}

// joinPorts writes a port list as ParsePorts reads it.
func joinPorts(ps []uint16) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}
