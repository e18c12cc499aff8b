package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PluginType is the entry's "type": the binary's name in the CNI bin dir.
const PluginType = "palisade-cni"

// Entry is palisade's plugin entry.
type Entry struct {
	Socket                    string `json:"socket,omitempty"`
	PolicySetupTimeoutSeconds int    `json:"policySetupTimeoutSeconds,omitempty"`
}

func (e Entry) object() map[string]any {
	m := map[string]any{"type": PluginType}
	if e.Socket != "" {
		m["socket"] = e.Socket
	}
	if e.PolicySetupTimeoutSeconds > 0 {
		m["policySetupTimeoutSeconds"] = e.PolicySetupTimeoutSeconds
	}
	return m
}

// ErrNoConfig says the directory has no CNI configuration yet (the primary
// CNI has not written one).
var ErrNoConfig = errors.New("no CNI configuration (.conf, .conflist or .json) yet")

// primary returns the path of the runtime's configuration in dir.
func primary(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && (ext == ".conf" || ext == ".conflist" || ext == ".json") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("%s: %w", dir, ErrNoConfig)
	}
	slices.Sort(names)
	return filepath.Join(dir, names[0]), nil
}

func read(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not a CNI configuration: %w", path, err)
	}
	return m, nil
}

// writeAtomic writes m as JSON to path through a temporary file in the
// same directory.
func writeAtomic(path string, m map[string]any) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".palisade-cni-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func plugins(m map[string]any) ([]any, bool) {
	p, ok := m["plugins"].([]any)
	return p, ok
}

func isOurs(p any) bool {
	m, ok := p.(map[string]any)
	return ok && m["type"] == PluginType
}

// Install inserts e into dir's first configuration and returns its path
// and whether anything was written.
func Install(dir string, e Entry) (string, bool, error) {
	path, err := primary(dir)
	if err != nil {
		return "", false, err
	}
	m, err := read(path)
	if err != nil {
		return path, false, err
	}
	list, isList := plugins(m)
	if !isList {
		// A single plugin: wrap it into a list of its own name.
		single := m
		m = map[string]any{"cniVersion": single["cniVersion"], "name": single["name"], "plugins": []any{single}}
		list = m["plugins"].([]any)
		newPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".conflist"
		m["plugins"] = append(list, e.object())
		if err := writeAtomic(newPath, m); err != nil {
			return path, false, err
		}
		if newPath != path {
			if err := os.Remove(path); err != nil {
				return newPath, true, err
			}
		}
		return newPath, true, nil
	}
	i := slices.IndexFunc(list, isOurs)
	want := e.object()
	if i == len(list)-1 && jsonEqual(list[i], want) {
		return path, false, nil
	}
	if i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	m["plugins"] = append(list, want)
	return path, true, writeAtomic(path, m)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Uninstall removes palisade's entry from every configuration in dir that
// has it, and nothing else; it returns the files it changed.
func Uninstall(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, ent := range ents {
		path := filepath.Join(dir, ent.Name())
		if ent.IsDir() || strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		m, err := read(path)
		if err != nil {
			continue // not ours to judge
		}
		list, ok := plugins(m)
		if !ok || !slices.ContainsFunc(list, isOurs) {
			continue
		}
		m["plugins"] = slices.DeleteFunc(list, isOurs)
		if err := writeAtomic(path, m); err != nil {
			return changed, err
		}
		changed = append(changed, path)
	}
	return changed, nil
}

// CopyBinary installs the plugin binary src into binDir as palisade-cni
// (atomically).
func CopyBinary(src, binDir string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(binDir, ".palisade-cni-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(binDir, PluginType))
}

// Keep installs e now and again every interval (re-inserting when the
// primary CNI rewrote its file or a first configuration appeared), until
// ctx ends; report is called after every attempt.
func Keep(ctx context.Context, dir string, e Entry, interval time.Duration, report func(path string, wrote bool, err error)) {
	for {
		path, wrote, err := Install(dir, e)
		report(path, wrote, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
