package install

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	ptpList = `{"cniVersion": "1.0.0", "name": "k8s", "plugins": [{"type": "ptp", "ipam": {"type": "host-local"}}, {"type": "portmap"}]}`
	flannel = `{"cniVersion": "0.4.0", "name": "cbr0", "type": "flannel", "delegate": {"isDefaultGateway": true}}`
	other   = `{"cniVersion": "1.0.0", "name": "other", "plugins": [{"type": "bridge"}]}`
)

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// types lists the plugin types of a conflist.
func types(t *testing.T, path string) []string {
	t.Helper()
	m, err := read(path)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := plugins(m)
	var out []string
	for _, p := range list {
		out = append(out, p.(map[string]any)["type"].(string))
	}
	return out
}

func TestInstallUninstall(t *testing.T) {
	e := Entry{Socket: "/var/run/palisade/cni.sock", PolicySetupTimeoutSeconds: 10}
	t.Run("a conflist gets the entry last, once; the others are untouched", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "10-k8s.conflist", ptpList)
		write(t, dir, "20-other.conflist", other)
		path, wrote, err := Install(dir, e)
		if err != nil || !wrote || filepath.Base(path) != "10-k8s.conflist" {
			t.Fatalf("Install: %s %v %v", path, wrote, err)
		}
		if got := strings.Join(types(t, path), ","); got != "ptp,portmap,palisade-cni" {
			t.Errorf("plugins %s", got)
		}
		if _, wrote, _ := Install(dir, e); wrote {
			t.Error("a second Install wrote again")
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "20-other.conflist")); string(data) != other {
			t.Errorf("another configuration changed: %s", data)
		}
		changed, err := Uninstall(dir)
		if err != nil || len(changed) != 1 {
			t.Fatalf("Uninstall: %v %v", changed, err)
		}
		if got := strings.Join(types(t, path), ","); got != "ptp,portmap" {
			t.Errorf("after Uninstall: %s", got)
		}
	})
	t.Run("a single .conf is wrapped into a .conflist", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "10-flannel.conf", flannel)
		path, _, err := Install(dir, e)
		if err != nil || filepath.Base(path) != "10-flannel.conflist" {
			t.Fatalf("Install: %s %v", path, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "10-flannel.conf")); !errors.Is(err, os.ErrNotExist) {
			t.Error("the wrapped .conf is still there (the runtime would pick it first)")
		}
		m, _ := read(path)
		if m["cniVersion"] != "0.4.0" || m["name"] != "cbr0" || strings.Join(types(t, path), ",") != "flannel,palisade-cni" {
			t.Errorf("wrapped: %v", m)
		}
		data, _ := json.Marshal(m)
		if !strings.Contains(string(data), `"isDefaultGateway":true`) {
			t.Errorf("the primary's settings were lost: %s", data)
		}
	})
	t.Run("no configuration yet", func(t *testing.T) {
		if _, _, err := Install(t.TempDir(), e); !errors.Is(err, ErrNoConfig) {
			t.Errorf("Install into an empty directory: %v", err)
		}
	})
	t.Run("Keep re-inserts after the primary rewrites its file", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "10-k8s.conflist", ptpList)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		writes := make(chan string, 10)
		go Keep(ctx, dir, e, 10*time.Millisecond, func(path string, wrote bool, err error) {
			if wrote {
				writes <- path
			}
		})
		<-writes
		write(t, dir, "10-k8s.conflist", ptpList) // the primary CNI writes its own again
		select {
		case <-writes:
		case <-time.After(5 * time.Second):
			t.Fatal("the entry was not re-inserted")
		}
		if got := strings.Join(types(t, filepath.Join(dir, "10-k8s.conflist")), ","); got != "ptp,portmap,palisade-cni" {
			t.Errorf("after re-insertion: %s", got)
		}
	})
}
