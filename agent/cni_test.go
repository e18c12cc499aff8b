package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-net/palisade/cni"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

func att(container, iface string) cni.Attachment {
	return cni.Attachment{ContainerID: container, IfName: "eth0", Namespace: "app", Pod: "web",
		HostInterface: iface, IPs: []string{"198.18.1.10"}}
}

// TestCNIBackend: ADD waits until the loop reports the pod programmed; a
// late DEL of an old sandbox leaves the new one's binding; attachments
// survive a restart; GC prunes what is not valid; CHECK says what is
// missing.
func TestCNIBackend(t *testing.T) {
	dir := t.TempDir()
	b, err := newCNIBackend(dir, func() error { return nil })
	must(t, err)
	ctx := context.Background()
	if ok, err := b.Add(ctx, att("old", "veth1"), 10*time.Millisecond); err != nil || ok {
		t.Fatalf("ADD of an unprogrammed pod: %v %v, want a timeout", ok, err)
	}
	done := make(chan bool)
	go func() {
		ok, _ := b.Add(ctx, att("new", "veth2"), 5*time.Second)
		done <- ok
	}()
	time.Sleep(20 * time.Millisecond)
	b.setProgrammed(map[string]string{"veth2": "app/web"})
	if !<-done {
		t.Fatal("ADD did not return programmed")
	}
	if got := cniBindings(b.snapshot())["app/web"].HostInterface; got != "veth2" {
		t.Errorf("the pod's binding is %s, want the newer sandbox's veth2", got)
	}
	b.Del(cni.Key{ContainerID: "old", IfName: "eth0"}) // late DEL of the old sandbox
	b.Del(cni.Key{ContainerID: "old", IfName: "eth0"}) // and again
	if got := cniBindings(b.snapshot())["app/web"].HostInterface; got != "veth2" {
		t.Errorf("after the late DEL the binding is %q, want veth2", got)
	}
	if err := b.Check(cni.Key{ContainerID: "new", IfName: "eth0"}); err == nil {
		t.Error("CHECK passed without the host link")
	}
	b.setLinks([]HostInterface{{Name: "veth2"}})
	if err := b.Check(cni.Key{ContainerID: "new", IfName: "eth0"}); err != nil {
		t.Errorf("CHECK: %v", err)
	}
	again, err := newCNIBackend(dir, func() error { return nil })
	must(t, err)
	if got := cniBindings(again.snapshot())["app/web"].HostInterface; got != "veth2" {
		t.Errorf("after a restart the binding is %q, want veth2", got)
	}
	again.GC(nil)
	if n := len(again.snapshot()); n != 0 {
		t.Errorf("GC with no valid attachment left %d", n)
	}
	third, err := newCNIBackend(dir, func() error { return nil })
	must(t, err)
	if n := len(third.snapshot()); n != 0 {
		t.Errorf("GC was not saved: %d attachments after a restart", n)
	}
}

// TestCNIConfReadiness: with a CNI configuration directory, the agent is
// not ready until palisade-cni is in the runtime's configuration, and it
// removes the entry when it stops.
func TestCNIConfReadiness(t *testing.T) {
	dir, conf := t.TempDir(), t.TempDir()
	cfg := testConfig(t)
	cfg.CNISocket, cfg.CNIStateDir, cfg.CNIConfDir = filepath.Join(dir, "cni.sock"), dir, conf
	st := store.NewMemory()
	defer st.Close()
	fake := nft.NewFake()
	a := startAgent(t, cfg, st, fake, NewStaticInterfaces(testIfaces()...))
	eventually(t, 10*time.Second, func() error {
		if applies, _, _ := fake.Counts(); applies == 0 {
			return errors.New("no ruleset applied yet")
		}
		err := a.Ready()
		if err == nil || !strings.Contains(err.Error(), "palisade-cni is not in the CNI configuration") {
			return fmt.Errorf("readiness %v, want it to wait for the CNI configuration", err)
		}
		return nil
	})
	path := filepath.Join(conf, "10-k8s.conflist")
	must(t, os.WriteFile(path, []byte(`{"cniVersion": "1.0.0", "name": "k8s", "plugins": [{"type": "ptp"}]}`), 0o644))
	eventually(t, 10*time.Second, a.Ready)
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), `"palisade-cni"`) {
		t.Fatalf("ready, but the configuration lacks palisade-cni:\n%s", data)
	}
	must(t, a.Close())
	if data, _ := os.ReadFile(path); strings.Contains(string(data), `"palisade-cni"`) {
		t.Errorf("the agent stopped and left palisade-cni in the configuration:\n%s", data)
	}
}
