package sdnotify

import (
	"context"
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends state to the service manager; false when there is none.
func Notify(state string) (bool, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return false, nil
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return false, err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err == nil, err
}

// WatchdogInterval is the unit's WatchdogSec for this process (0: none).
func WatchdogInterval() time.Duration {
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	return time.Duration(us) * time.Microsecond
}

// Run reports to the service manager until ctx ends: READY=1 as soon as
// ready returns nil, then WATCHDOG=1 every half watchdog interval while
// live returns nil (a stuck service is restarted by systemd), and
// STOPPING=1 at the end. It returns at once without $NOTIFY_SOCKET.
func Run(ctx context.Context, ready, live func() error) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for ready() != nil {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	_, _ = Notify("READY=1")
	defer Notify("STOPPING=1") //nolint:errcheck // best effort at exit
	wd := WatchdogInterval()
	if wd <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(wd / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if live() == nil {
				_, _ = Notify("WATCHDOG=1")
			}
		}
	}
}
