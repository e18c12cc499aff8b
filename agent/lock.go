package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockDir holds the per-network-namespace agent locks.
var LockDir = "/run/palisade"

// ErrAgentRunning: an agent holds the lock of this network namespace.
var ErrAgentRunning = errors.New("an agent is running in this network namespace")

// lockPath names the lock of the calling process's network namespace (by
// its inode), so agents in different namespaces of one machine do not
// share it.
func lockPath() (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &st); err != nil {
		return "", fmt.Errorf("identifying the network namespace: %w", err)
	}
	return filepath.Join(LockDir, fmt.Sprintf("agent-netns-%d.lock", st.Ino)), nil
}

// LockNamespace takes this network namespace's agent lock (an flock held
// for the life of the process, with the pid written in the file), or
// returns an error wrapping ErrAgentRunning that names the holder's pid.
func LockNamespace() (release func(), err error) {
	path, err := lockPath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(LockDir, 0o755); err != nil {
		return nil, fmt.Errorf("agent lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("agent lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		data, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (pid %s, lock %s)", ErrAgentRunning, strings.TrimSpace(string(data)), path)
		}
		return nil, fmt.Errorf("agent lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}
