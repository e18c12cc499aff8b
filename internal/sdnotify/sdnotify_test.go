package sdnotify

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRun: READY=1 only once ready, WATCHDOG=1 while live, STOPPING=1 at
// the end, on a real unixgram socket as systemd listens on.
func TestRun(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms
	t.Setenv("WATCHDOG_PID", "")
	var isReady atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, func() error {
			if !isReady.Load() {
				return errors.New("not yet")
			}
			return nil
		}, func() error { return nil })
		close(done)
	}()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	select {
	case m := <-msgs:
		t.Fatalf("%q before the service was ready", m)
	case <-time.After(300 * time.Millisecond):
	}
	isReady.Store(true)
	var got []string
	for len(got) < 3 {
		got = append(got, <-msgs)
	}
	cancel()
	<-done
	got = append(got, <-msgs)
	s := strings.Join(got, ",")
	if !strings.HasPrefix(s, "READY=1,WATCHDOG=1,WATCHDOG=1") || !strings.HasSuffix(s, "STOPPING=1") {
		t.Errorf("messages %s", s)
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if ok, err := Notify("READY=1"); ok || err != nil {
		t.Errorf("Notify without a socket: %v %v", ok, err)
	}
	Run(context.Background(), func() error { return nil }, func() error { return nil }) // returns at once
}
