package lab

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A request longer than the responder's first read (or one that comes in
// two segments) still gets its page and a clean end: the responder reads
// the rest before it closes, so the client sees the end of the stream,
// not a reset (TestLab's bash /dev/tcp GET once failed on "Connection
// reset by peer").
func TestHTTPAnswerEndsCleanly(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { serveTCP(ln); close(done) }()
	t.Cleanup(func() { ln.Close(); <-done })
	for i := 0; i < 5; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// More than the responder's first read takes: the rest is unread
		// when it has answered.
		req := "GET / HTTP/1.0\r\nX-Pad: " + strings.Repeat("a", 4000) + "\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !strings.Contains(string(got), "answered") {
			t.Fatalf("try %d: read %q, error %v; want the page and a clean end", i, got, err)
		}
	}
}
