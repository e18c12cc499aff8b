package lab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// markerEnv is set in the environment of every process the lab starts, to
// the lab's state directory: `down` finds the lab's processes by it even when
// the pid file lost a line (a crash between start and record).
const markerEnv = "PALISADE_LAB_DIR"

// procsFile lists the processes the lab started, one JSON object a line.
const procsFile = "procs.jsonl"

// proc is a process the lab started.
type proc struct {
	Role  string `json:"role"` // "server", "agent", "responder"
	NS    string `json:"ns"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // start time in clock ticks since boot (/proc/PID/stat field 22)
	Log   string `json:"log"`
}

// startProc starts exe with args inside n (nil: this process's namespace), detached (its own session, so it
// outlives the command that ran `lab up`), its output in a log file, and
// records it in the state directory before returning.
func (l *Lab) startProc(n *ns, role string, args ...string) (*proc, error) {
	nsName := "host" // nil: the machine's own namespace
	if n != nil {
		nsName = n.Name
	}
	logPath := filepath.Join(l.dir, "logs", nsName+"-"+role+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(l.cfg.Exe, args...)
	cmd.Env = append(append(os.Environ(), l.cfg.Env...), markerEnv+"="+l.dir)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = l.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := cmd.Start
	if n != nil {
		start = func() error { return n.Do(cmd.Start) }
	}
	if err := start(); err != nil {
		return nil, fmt.Errorf("lab: %s: start %s: %w", nsName, role, err)
	}
	go func() { _ = cmd.Wait() }() // reap it while this process lives
	p := &proc{Role: role, NS: nsName, PID: cmd.Process.Pid, Log: logPath}
	p.Start, _ = procStart(p.PID)
	return p, l.recordProc(p)
}

func (l *Lab) recordProc(p *proc) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(l.dir, procsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readProcs returns the recorded processes of a state directory.
func readProcs(dir string) ([]proc, error) {
	data, err := os.ReadFile(filepath.Join(dir, procsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []proc
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var p proc
		if json.Unmarshal(sc.Bytes(), &p) == nil && p.PID > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// procStart reads a process's start time (clock ticks since boot), which
// tells a recorded process from a later one that reused its pid.
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("lab: /proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("lab: /proc/%d/stat: too few fields", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether the recorded process still runs (same pid, same
// start time, not a zombie).
func (p proc) alive() bool {
	st, err := procStart(p.PID)
	if err != nil || (p.Start != 0 && st != p.Start) {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i < 0 || i+2 >= len(data) || data[i+2] != 'Z'
}

// markedProcs finds running processes whose environment carries the lab's
// marker for dir: the lab started them, recorded or not.
func markedProcs(dir string) []proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(markerEnv + "=" + dir + "\x00")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append(env, 0), want) {
			continue
		}
		st, err := procStart(pid)
		if err != nil {
			continue
		}
		out = append(out, proc{Role: "unrecorded", PID: pid, Start: st})
	}
	return out
}

// otherLabDirs lists the state directories of the running lab processes
// that are not dir's.
func otherLabDirs(dir string) []string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			d, ok := bytes.CutPrefix(kv, []byte(markerEnv+"="))
			if ok && string(d) != dir && !seen[string(d)] {
				seen[string(d)] = true
				out = append(out, string(d))
			}
		}
	}
	return out
}

// stopProcs ends the given processes: SIGTERM, then SIGKILL for those still
// running after grace. Only processes whose pid and start time match are
// signalled. It returns how many it ended.
func stopProcs(ps []proc, grace time.Duration) int {
	seen := map[int]bool{}
	var live []proc
	for _, p := range ps {
		if seen[p.PID] || !p.alive() {
			continue
		}
		seen[p.PID] = true
		live = append(live, p)
		_ = syscall.Kill(p.PID, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range live {
		for p.alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if p.alive() {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
	for _, p := range live {
		for i := 0; i < 100 && p.alive(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return len(live)
}
