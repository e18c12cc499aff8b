package agent

import (
	"context"
	"testing"
	"time"

	"github.com/palisade-net/palisade/cni"
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
