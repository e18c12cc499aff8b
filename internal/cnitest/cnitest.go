package cnitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// Plugins builds palisade-cni, ptp and host-local into a directory and
// returns it; it fails the test in CI when they cannot be built, and skips
// it elsewhere.
func Plugins(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, pkg := range map[string]string{
		"palisade-cni": "github.com/palisade-net/palisade/cmd/palisade-cni",
		"ptp":          "github.com/containernetworking/plugins/plugins/main/ptp",
		"host-local":   "github.com/containernetworking/plugins/plugins/ipam/host-local",
	} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("go build %s: %v\n%s", pkg, err, out)
			}
			t.Skipf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir
}

// InNS runs f on a thread in the network namespace at path (the thread
// is never returned to the scheduler's pool).
func InNS(path string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		h, err := netns.GetFromPath(path)
		if err == nil {
			defer h.Close()
			err = netns.Set(h)
		}
		if err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	return <-done
}
