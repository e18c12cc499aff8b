package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsDir is where named namespaces live (as `ip netns` keeps them).
const netnsDir = "/var/run/netns"

// Lab owns a set of namespaces and everything running in them.
type Lab struct {
	prefix string // "<base>-<pid>-<random>-"

	mu      sync.Mutex
	nss     []*NS
	closers []io.Closer
	closed  bool
}

// New starts a lab whose namespaces are named "<base>-<pid>-<random>-<name>".
// base should be short and unique to the caller, e.g. "pal-kt".
func New(base string) (*Lab, error) {
	if base == "" || strings.ContainsAny(base, "/ ") {
		return nil, fmt.Errorf("netlab: bad namespace prefix %q", base)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &Lab{prefix: fmt.Sprintf("%s-%d-%s-", base, os.Getpid(), hex.EncodeToString(b[:]))}, nil
}

// Prefix is the common prefix of this lab's namespace names.
func (l *Lab) Prefix() string { return l.prefix }

// NS is one network namespace of a lab.
type NS struct {
	Name string // the full name, as `ip netns list` shows it
	lab  *Lab
	h    netns.NsHandle
	nl   *netlink.Handle
}

// Path is the namespace's bind mount, usable with setns or `nsenter --net=`.
func (n *NS) Path() string { return netnsDir + "/" + n.Name }

// NewNS creates a namespace called Prefix()+name with its loopback up.
func (l *Lab) NewNS(name string) (*NS, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, errors.New("netlab: lab is closed")
	}
	full := l.prefix + name
	h, err := createNamed(full)
	if err != nil {
		return nil, fmt.Errorf("netlab: create namespace %s: %w", full, err)
	}
	n := &NS{Name: full, lab: l, h: h}
	l.mu.Lock()
	l.nss = append(l.nss, n)
	l.mu.Unlock()
	if n.nl, err = netlink.NewHandleAt(h); err != nil {
		return nil, fmt.Errorf("netlab: netlink handle in %s: %w", full, err)
	}
	if err := n.Up("lo"); err != nil {
		return nil, err
	}
	return n, nil
}

// createNamed creates a named namespace from a locked thread and switches
// the thread back to where it was.
func createNamed(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return netns.None(), err
	}
	defer orig.Close()
	h, err := netns.NewNamed(name)
	if serr := netns.Set(orig); serr != nil {
		// Leave the thread locked: the runtime kills it when the goroutine
		// ends, so no other goroutine runs in the wrong namespace.
		return netns.None(), fmt.Errorf("switch back to the original namespace: %w", serr)
	}
	runtime.UnlockOSThread()
	return h, err
}

// track registers something for Close to close, in reverse order.
func (l *Lab) track(c io.Closer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, c)
}

// Close stops every listener and deletes every namespace of the lab. It is
// safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	closers, nss := l.closers, l.nss
	l.closers, l.nss = nil, nil
	l.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		_ = closers[i].Close()
	}
	for i := len(nss) - 1; i >= 0; i-- {
		n := nss[i]
		if n.nl != nil {
			n.nl.Close()
		}
		n.h.Close()
		if err := netns.DeleteNamed(n.Name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("netlab: delete namespace %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// SweepStale deletes namespaces named "<base>-<pid>-…" whose creating
// process no longer exists: what a killed test run left behind. Namespaces
// of running processes, and names that do not follow the pattern, are left
// alone. It returns the names it deleted.
func SweepStale(base string) ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var gone []string
	var errs []error
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), base+"-")
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, perr := strconv.Atoi(pidStr)
		if !ok || perr != nil || pid <= 0 || processExists(pid) {
			continue
		}
		if err := netns.DeleteNamed(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("netlab: sweep %s: %w", e.Name(), err))
			continue
		}
		gone = append(gone, e.Name())
	}
	return gone, errors.Join(errs...)
}

func processExists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
