package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/palisade-net/palisade/cni"
	"github.com/palisade-net/palisade/cni/install"
)

// cniFile is the file under Config.CNIStateDir that keeps the attachments
// across restarts.
const cniFile = "cni-attachments.json"

// cniBackend is the agent's side of palisade-cni (package cni): the
// attachments the plugin registered, persisted, and what the loop last
// programmed. The loop reads the attachments (snapshot) when told
// (changed) and reports, after each transaction, which workload each
// dispatched interface belongs to (programmed).
type cniBackend struct {
	file    string
	ready   func() error
	changed chan struct{} // one slot: the attachments changed

	mu         sync.Mutex
	atts       map[cni.Key]cni.Attachment
	links      map[string]bool   // the host's interfaces, as the loop last saw them
	programmed map[string]string // interface -> workload key, in the kernel
	wake       chan struct{}     // closed and replaced when programmed changes
}

func newCNIBackend(dir string, ready func() error) (*cniBackend, error) {
	b := &cniBackend{file: filepath.Join(dir, cniFile), ready: ready, changed: make(chan struct{}, 1),
		atts: map[cni.Key]cni.Attachment{}, wake: make(chan struct{})}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cni: state directory: %w", err)
	}
	data, err := os.ReadFile(b.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("cni: %w", err)
	default:
		var list []cni.Attachment
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("cni: %s: %w", b.file, err)
		}
		for _, a := range list {
			b.atts[a.Key()] = a
		}
	}
	return b, nil
}

// save writes the attachments atomically; the caller holds mu.
func (b *cniBackend) save() error {
	list := slices.SortedFunc(maps.Values(b.atts), func(x, y cni.Attachment) int {
		if c := strings.Compare(x.ContainerID, y.ContainerID); c != 0 {
			return c
		}
		return strings.Compare(x.IfName, y.IfName)
	})
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp := b.file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("cni: saving the attachments: %w", err)
	}
	return os.Rename(tmp, b.file)
}

func (b *cniBackend) notify() {
	select {
	case b.changed <- struct{}{}:
	default:
	}
}

// snapshot returns the attachments.
func (b *cniBackend) snapshot() []cni.Attachment {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Collect(maps.Values(b.atts))
}

// setLinks records the host's interfaces (for Check).
func (b *cniBackend) setLinks(ifs []HostInterface) {
	links := make(map[string]bool, len(ifs))
	for _, hi := range ifs {
		links[hi.Name] = true
	}
	b.mu.Lock()
	b.links = links
	b.mu.Unlock()
}

// setProgrammed records which workload each interface in the kernel's
// dispatch belongs to, and wakes waiting ADDs.
func (b *cniBackend) setProgrammed(p map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if maps.Equal(p, b.programmed) {
		return
	}
	b.programmed = p
	close(b.wake)
	b.wake = make(chan struct{})
}

// Add implements cni.Backend.
func (b *cniBackend) Add(ctx context.Context, a cni.Attachment, wait time.Duration) (bool, error) {
	a.Registered = time.Now()
	b.mu.Lock()
	b.atts[a.Key()] = a
	err := b.save()
	b.mu.Unlock()
	if err != nil {
		return false, err
	}
	b.notify()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		b.mu.Lock()
		done := b.programmed[a.HostInterface] == a.Workload()
		wake := b.wake
		b.mu.Unlock()
		if done {
			return true, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// Del implements cni.Backend.
func (b *cniBackend) Del(k cni.Key) {
	b.mu.Lock()
	_, ok := b.atts[k]
	delete(b.atts, k)
	if ok {
		_ = b.save()
	}
	b.mu.Unlock()
	if ok {
		b.notify()
	}
}

// Check implements cni.Backend.
func (b *cniBackend) Check(k cni.Key) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.atts[k]
	switch {
	case !ok:
		return fmt.Errorf("no attachment %s/%s", k.ContainerID, k.IfName)
	case !b.links[a.HostInterface]:
		return fmt.Errorf("%s: host interface %s does not exist", a.Workload(), a.HostInterface)
	case b.programmed[a.HostInterface] != a.Workload():
		return fmt.Errorf("%s: the policy of interface %s is not in the kernel", a.Workload(), a.HostInterface)
	}
	return nil
}

// Ready implements cni.Backend.
func (b *cniBackend) Ready() error { return b.ready() }

// GC implements cni.Backend.
func (b *cniBackend) GC(valid []cni.Key) {
	keep := map[cni.Key]bool{}
	for _, k := range valid {
		keep[k] = true
	}
	b.mu.Lock()
	n := len(b.atts)
	maps.DeleteFunc(b.atts, func(k cni.Key, _ cni.Attachment) bool { return !keep[k] })
	pruned := n != len(b.atts)
	if pruned {
		_ = b.save()
	}
	b.mu.Unlock()
	if pruned {
		b.notify()
	}
}

// serveCNI serves the plugin's API on the unix socket (mode 0600).
func (a *Agent) serveCNI(b *cniBackend) error {
	path := a.cfg.CNISocket
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cni socket: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cni socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("cni socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("cni socket: %w", err)
	}
	a.cniHTTP = &http.Server{Handler: cni.Handler(b), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.cniHTTP.Serve(ln) }()
	return nil
}

// keepCNIConf keeps palisade-cni in the node's CNI configuration until
// the agent stops (readiness waits for the first successful write).
func (a *Agent) keepCNIConf(ctx context.Context) {
	e := install.Entry{Socket: a.cfg.CNISocket, PolicySetupTimeoutSeconds: int(a.cfg.CNITimeout / time.Second)}
	install.Keep(ctx, a.cfg.CNIConfDir, e, 2*time.Second, func(path string, wrote bool, err error) {
		a.state.lock(func(s *status) { s.cniConfErr = err })
		switch {
		case err != nil:
			a.log.Warn("palisade-cni is not in the CNI configuration", "dir", a.cfg.CNIConfDir, "error", err)
		case wrote:
			a.log.Info("palisade-cni is in the CNI configuration", "file", path)
		}
	})
}

// cniBindings turns attachments into the workloads' host interfaces and
// addresses: of two attachments of one pod the later registered wins.
func cniBindings(atts []cni.Attachment) map[string]cni.Attachment {
	out := map[string]cni.Attachment{}
	for _, a := range atts {
		if cur, ok := out[a.Workload()]; !ok || a.Registered.After(cur.Registered) {
			out[a.Workload()] = a
		}
	}
	return out
}
