package netlab

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// serveIdle bounds how long a server waits for a client's byte.
const serveIdle = 5 * time.Second

// ServeTCP listens on every address of the namespace (IPv4 and IPv6) on each
// port. Each accepted connection gets its first byte echoed back, then is
// closed. The listeners live until the lab is closed.
func (n *NS) ServeTCP(ports ...uint16) error {
	for _, p := range ports {
		var ln net.Listener
		err := n.Do(func() (err error) {
			ln, err = net.Listen("tcp", fmt.Sprintf(":%d", p))
			return err
		})
		if err != nil {
			return fmt.Errorf("netlab: %s: listen tcp %d: %w", n.Name, p, err)
		}
		s := &tcpServer{ln: ln}
		n.lab.track(s)
		go s.loop()
	}
	return nil
}

type tcpServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	live map[net.Conn]bool
}

func (s *tcpServer) loop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.live == nil {
			s.live = map[net.Conn]bool{}
		}
		s.live[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c)
	}
}

// handle echoes bytes until the client closes or goes quiet, so that a
// client can keep one connection open across a policy change and exchange
// data on it more than once.
func (s *tcpServer) handle(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 64)
	for {
		_ = c.SetDeadline(time.Now().Add(serveIdle))
		k, err := c.Read(buf)
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

func (s *tcpServer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.live {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// ServeUDP listens on every address of the namespace (IPv4 and IPv6) on each
// port and sends every datagram back to its sender, from the address it was
// sent to (so that conntrack sees a reply, whatever the routing table says).
func (n *NS) ServeUDP(ports ...uint16) error {
	for _, p := range ports {
		for _, netw := range []string{"udp4", "udp6"} {
			var pc net.PacketConn
			err := n.Do(func() (err error) {
				pc, err = net.ListenPacket(netw, fmt.Sprintf(":%d", p))
				return err
			})
			if err != nil {
				return fmt.Errorf("netlab: %s: listen %s %d: %w", n.Name, netw, p, err)
			}
			s := &udpServer{pc: pc, v6: netw == "udp6", done: make(chan struct{})}
			n.lab.track(s)
			go s.loop()
		}
	}
	return nil
}

type udpServer struct {
	pc   net.PacketConn
	v6   bool
	done chan struct{}
}

func (s *udpServer) loop() {
	defer close(s.done)
	if s.v6 {
		s.loop6()
		return
	}
	pc := ipv4.NewPacketConn(s.pc)
	_ = pc.SetControlMessage(ipv4.FlagDst, true)
	buf := make([]byte, 1500)
	for {
		k, cm, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var out *ipv4.ControlMessage
		if cm != nil {
			out = &ipv4.ControlMessage{Src: cm.Dst}
		}
		_, _ = pc.WriteTo(buf[:k], out, from)
	}
}

func (s *udpServer) loop6() {
	pc := ipv6.NewPacketConn(s.pc)
	_ = pc.SetControlMessage(ipv6.FlagDst, true)
	buf := make([]byte, 1500)
	for {
		k, cm, from, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var out *ipv6.ControlMessage
		if cm != nil {
			out = &ipv6.ControlMessage{Src: cm.Dst}
		}
		_, _ = pc.WriteTo(buf[:k], out, from)
	}
}

func (s *udpServer) Close() error {
	err := s.pc.Close()
	<-s.done
	return err
}
