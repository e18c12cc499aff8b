package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/cni"
)

// fakeAgent is a cni.Backend that records calls.
type fakeAgent struct {
	mu         sync.Mutex
	atts       map[cni.Key]cni.Attachment
	programmed bool
	notReady   error
	gcValid    []cni.Key
}

func (f *fakeAgent) Add(_ context.Context, a cni.Attachment, _ time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.atts[a.Key()] = a
	return f.programmed, nil
}

func (f *fakeAgent) Del(k cni.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.atts, k)
}

func (f *fakeAgent) Check(k cni.Key) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.atts[k]; !ok {
		return fmt.Errorf("no attachment %s/%s", k.ContainerID, k.IfName)
	}
	return nil
}

func (f *fakeAgent) Ready() error { return f.notReady }

func (f *fakeAgent) GC(valid []cni.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gcValid = valid
}

// serve runs the API for f on a unix socket until the test ends.
func serve(t *testing.T, f *fakeAgent) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cni.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: cni.Handler(f)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return sock
}

const prevResult = `"prevResult": {"cniVersion": "1.0.0",
  "interfaces": [{"name": "veth1a2b3c4d", "mac": "aa:bb:cc:dd:ee:ff"},
                 {"name": "eth0", "mac": "aa:bb:cc:dd:ee:00", "sandbox": "/var/run/netns/pod"}],
  "ips": [{"address": "198.18.1.10/24", "interface": 1}, {"address": "fd00:18::10/64", "interface": 1}]}`

func conf(sock string, prev bool) []byte {
	p := ""
	if prev {
		p = ", " + prevResult
	}
	return []byte(fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "k8s", "type": "palisade-cni", "socket": %q,
  "policySetupTimeoutSeconds": 1%s}`, sock, p))
}

func args(sock, container string, prev bool) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: container, Netns: "/var/run/netns/pod", IfName: "eth0",
		Args:      "IgnoreUnknown=1;K8S_POD_NAMESPACE=app;K8S_POD_NAME=web;K8S_POD_UID=u-1;K8S_POD_INFRA_CONTAINER_ID=" + container,
		StdinData: conf(sock, prev)}
}

func TestAdd(t *testing.T) {
	f := &fakeAgent{atts: map[cni.Key]cni.Attachment{}, programmed: true}
	sock := serve(t, f)
	if err := Add(args(sock, "c1", true)); err != nil {
		t.Fatal(err)
	}
	want := cni.Attachment{ContainerID: "c1", IfName: "eth0", Namespace: "app", Pod: "web", UID: "u-1",
		HostInterface: "veth1a2b3c4d", IPs: []string{"198.18.1.10", "fd00:18::10"}}
	got := f.atts[cni.Key{ContainerID: "c1", IfName: "eth0"}]
	got.Registered = time.Time{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registered attachment (-want +got):\n%s", diff)
	}
	// Not programmed in time is a success: the interface stays isolated.
	f.programmed = false
	if err := Add(args(sock, "c2", true)); err != nil {
		t.Errorf("ADD that timed out waiting: %v", err)
	}
}

func TestAddFailures(t *testing.T) {
	f := &fakeAgent{atts: map[cni.Key]cni.Attachment{}}
	sock := serve(t, f)
	if err := Add(args(sock, "c1", false)); !errors.Is(err, ErrNotChained) {
		t.Errorf("ADD without prevResult: %v", err)
	}
	noPod := args(sock, "c1", true)
	noPod.Args = "K8S_POD_NAMESPACE=app"
	if err := Add(noPod); err == nil || !strings.Contains(err.Error(), "K8S_POD_NAME") {
		t.Errorf("ADD without the pod's name: %v", err)
	}
	down := filepath.Join(t.TempDir(), "nobody.sock")
	var unreachable *cni.UnreachableError
	if err := Add(args(down, "c1", true)); !errors.As(err, &unreachable) {
		t.Errorf("ADD with the agent down: %v, want it unreachable (the kubelet retries)", err)
	}
}

func TestDelAlwaysSucceeds(t *testing.T) {
	f := &fakeAgent{atts: map[cni.Key]cni.Attachment{}, programmed: true}
	sock := serve(t, f)
	if err := Add(args(sock, "new", true)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*skel.CmdArgs{
		args(sock, "old", false), // a late DEL of an earlier sandbox: another key
		args(sock, "new", false),
		args(sock, "new", false),                                    // repeated
		args(filepath.Join(t.TempDir(), "down.sock"), "new", false), // agent down
		{ContainerID: "x", IfName: "eth0", StdinData: []byte("not json")},
	} {
		if err := Del(a); err != nil {
			t.Errorf("DEL %s: %v", a.ContainerID, err)
		}
	}
	if len(f.atts) != 0 {
		t.Errorf("left after DEL: %v", f.atts)
	}
}

func TestCheckStatusGC(t *testing.T) {
	f := &fakeAgent{atts: map[cni.Key]cni.Attachment{}, programmed: true}
	sock := serve(t, f)
	if err := Check(args(sock, "c1", true)); err == nil {
		t.Error("CHECK of an unknown attachment passed")
	}
	if err := Add(args(sock, "c1", true)); err != nil {
		t.Fatal(err)
	}
	if err := Check(args(sock, "c1", true)); err != nil {
		t.Errorf("CHECK after ADD: %v", err)
	}
	if err := Status(args(sock, "", false)); err != nil {
		t.Errorf("STATUS of a ready agent: %v", err)
	}
	f.notReady = errors.New("waiting for the first full sync")
	var te *types.Error
	if err := Status(args(sock, "", false)); !errors.As(err, &te) || te.Code != types.ErrPluginNotAvailable {
		t.Errorf("STATUS of an agent not ready: %v, want code 50", err)
	}
	if err := Status(args(filepath.Join(t.TempDir(), "down.sock"), "", false)); !errors.As(err, &te) || te.Code != 50 {
		t.Errorf("STATUS with the agent down: %v, want code 50", err)
	}
	gc := args(sock, "", false)
	gc.StdinData = []byte(fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "k8s", "type": "palisade-cni", "socket": %q,
  "cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"}]}`, sock))
	if err := GC(gc); err != nil {
		t.Fatal(err)
	}
	if want := []cni.Key{{ContainerID: "c1", IfName: "eth0"}}; !cmp.Equal(f.gcValid, want) {
		t.Errorf("GC forwarded %v, want %v", f.gcValid, want)
	}
}

func TestVersions(t *testing.T) {
	got := Versions.SupportedVersions()
	if want := []string{"0.4.0", "1.0.0", "1.1.0"}; !cmp.Equal(got, want) {
		t.Errorf("VERSION: %v, want %v", got, want)
	}
}
