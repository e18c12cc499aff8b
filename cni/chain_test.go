package cni_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netns"

	"github.com/palisade-net/palisade/agent"
	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/cnitest"
	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/store"
)

// The real chain, as a container runtime runs it: libcni executes the
// reference plugins ptp (random host veth names) and host-local, then
// palisade-cni, for pods that are network namespaces, beside palisade's
// agent (this process) programming a node namespace from a datastore.

const chainNode = "n1"

type chain struct {
	t        testing.TB
	cni      *libcni.CNIConfig
	confDir  string
	list     *libcni.NetworkConfigList
	st       store.Store
	node     *netlab.NS
	agent    *agent.Agent
	agentCfg agent.Config
	stateDir string
}

func newChain(t testing.TB) *chain {
	t.Helper()
	netlab.RequireRoot(t)
	bin := cnitest.Plugins(t)
	lab := netlab.ForTest(t, "pal-cni")
	node, err := lab.NewNS("node")
	must(t, err)
	c := &chain{t: t, node: node, st: store.NewMemory(), confDir: t.TempDir(), stateDir: t.TempDir()}
	t.Cleanup(func() { c.st.Close() })
	c.cni = libcni.NewCNIConfigWithCacheDir([]string{bin}, t.TempDir(), nil)
	// The primary CNI's configuration; the agent chains palisade-cni.
	primary := fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "k8s", "plugins": [
  {"type": "ptp", "ipMasq": false, "mtu": 1500,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "198.18.5.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}}]}`, t.TempDir())
	must(t, os.WriteFile(filepath.Join(c.confDir, "10-k8s.conflist"), []byte(primary), 0o644))
	c.seed()

	k, err := nft.NewKernel(nft.Config{NetNS: node.Path()})
	must(t, err)
	h, err := netns.GetFromPath(node.Path())
	must(t, err)
	t.Cleanup(func() { h.Close() })
	c.agentCfg = agent.Config{Node: chainNode, HealthListen: "-", BatchDelay: 2 * time.Millisecond,
		MaxBatchDelay: 20 * time.Millisecond, CNISocket: filepath.Join(c.stateDir, "cni.sock"), CNIStateDir: c.stateDir,
		CNIConfDir: c.confDir, CNITimeout: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	c.agent, err = agent.New(c.agentCfg, c.st, k, &agent.Netlink{NetNS: h, Debounce: 5 * time.Millisecond})
	must(t, err)
	must(t, c.agent.Start(context.Background()))
	t.Cleanup(func() { _ = c.agent.Close() })
	eventually(t, 30*time.Second, func() error { return c.agent.Ready() })
	c.list, err = libcni.NetworkConfFromFile(filepath.Join(c.confDir, "10-k8s.conflist"))
	must(t, err)
	if n := len(c.list.Plugins); n != 2 || c.list.Plugins[1].Network.Type != "palisade-cni" {
		t.Fatalf("the agent did not chain palisade-cni after ptp: %s", c.list.Bytes)
	}
	return c
}

// restart stops the agent and starts a new one on the same state.
func (c *chain) restart() {
	c.t.Helper()
	must(c.t, c.agent.Close())
	cfg := c.agentCfg
	k, err := nft.NewKernel(nft.Config{NetNS: c.node.Path()})
	must(c.t, err)
	h, err := netns.GetFromPath(c.node.Path())
	must(c.t, err)
	c.t.Cleanup(func() { h.Close() })
	c.agent, err = agent.New(cfg, c.st, k, &agent.Netlink{NetNS: h, Debounce: 5 * time.Millisecond})
	must(c.t, err)
	must(c.t, c.agent.Start(context.Background()))
	eventually(c.t, 30*time.Second, func() error { return c.agent.Ready() })
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// seed writes what the mirror would: the namespace, the interface prefix
// (ptp's host veths are veth<hex>: every one is a workload interface,
// dropped until it is a known pod's), and a policy letting only client,
// on TCP 80, into web. The endpoints never get an address from the
// datastore: client's is known only from its CNI attachment.
func (c *chain) seed() {
	docs, errs := api.Decode("seed.yaml", []byte(`
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {interfacePrefix: veth}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-80, namespace: app}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'client'}, destination: {ports: [80]}}]
`))
	if len(errs) > 0 {
		c.t.Fatal(errs[0])
	}
	for _, d := range docs {
		_, err := c.st.Create(context.Background(), d.Object)
		must(c.t, err)
	}
}

// endpoint writes the pod's WorkloadEndpoint as the mirror would before
// the kubelet reports an address: none.
func (c *chain) endpoint(pod string) {
	_, err := c.st.Create(context.Background(), workloadEndpoint(pod, pod))
	must(c.t, err)
}

func rt(pod string, ns *netlab.NS) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: "sandbox-" + pod, NetNS: ns.Path(), IfName: "eth0",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "app"}, {"K8S_POD_NAME", pod},
			{"K8S_POD_UID", "uid-" + pod}, {"K8S_POD_INFRA_CONTAINER_ID", "sandbox-" + pod}}}
}

// inNode runs f in the node namespace: libcni forks the plugins from it,
// as a runtime on the node would.
func (c *chain) inNode(f func() error) error { return cnitest.InNS(c.node.Path(), f) }

func (c *chain) add(pod string, ns *netlab.NS) (netip.Addr, time.Duration, error) {
	var res cnitypes.Result
	start := time.Now()
	err := c.inNode(func() error {
		var err error
		res, err = c.cni.AddNetworkList(context.Background(), c.list, rt(pod, ns))
		return err
	})
	took := time.Since(start)
	if err != nil {
		return netip.Addr{}, took, err
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil || len(r.IPs) == 0 {
		return netip.Addr{}, took, fmt.Errorf("ADD result %v: %v", res, err)
	}
	a, _ := netip.AddrFromSlice(r.IPs[0].Address.IP.To4())
	return a, took, nil
}

func TestChain(t *testing.T) {
	c := newChain(t)
	lab := netlab.ForTest(t, "pal-cnp")
	webNS, err := lab.NewNS("web")
	must(t, err)
	clientNS, err := lab.NewNS("client")
	must(t, err)
	must(t, webNS.ServeTCP(80, 8080))
	must(t, clientNS.ServeTCP(80))

	// web's endpoint exists (scheduled, no address yet): ADD returns once
	// its policy is in the kernel, with the address from the attachment.
	c.endpoint("web")
	web, took, err := c.add("web", webNS)
	must(t, err)
	t.Logf("ADD web: %s in %v", web, took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("ADD of a pod whose endpoint exists took %v (the timeout is 3s): not programmed", took)
	}

	// client's endpoint does not exist yet: its interface is isolated,
	// and ADD waits; connections attempted meanwhile are dropped.
	type addResult struct {
		ip   netip.Addr
		took time.Duration
		err  error
	}
	added := make(chan addResult, 1)
	go func() {
		ip, took, err := c.add("client", clientNS)
		added <- addResult{ip, took, err}
	}()
	probe := func(dst netip.Addr, port uint16) error {
		return clientNS.Probe(context.Background(), netlab.Probe{Proto: "tcp", Dst: dst, DstPort: port, Timeout: 150 * time.Millisecond})
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	attempts, dropped := 0, 0
	for time.Now().Before(deadline) {
		err := probe(web, 80)
		if err == nil {
			t.Fatal("a connection from a pod whose policy is not programmed yet got through")
		}
		attempts++
		if netlab.IsTimeout(err) {
			dropped++ // sent, and dropped (not refused: nothing local stopped it)
		} else if attempts < 5 {
			t.Logf("attempt %d: %v", attempts, err)
		}
	}
	c.endpoint("client")
	r := <-added
	must(t, r.err)
	t.Logf("ADD client: %s after %v; %d connection attempts before it, none through, %d of them sent and dropped",
		r.ip, r.took.Round(time.Millisecond), attempts, dropped)
	if dropped < 3 {
		t.Errorf("only %d attempts were sent and dropped while client was unprogrammed", dropped)
	}
	eventually(t, 5*time.Second, func() error { return probe(web, 80) })
	if err := probe(web, 8080); err == nil {
		t.Error("web's policy allows only 80, but 8080 answered")
	}

	// CHECK passes; STATUS passes.
	must(t, c.inNode(func() error { return c.cni.CheckNetworkList(context.Background(), c.list, rt("web", webNS)) }))
	must(t, c.inNode(func() error { return c.cni.GetStatusNetworkList(context.Background(), c.list) }))

	// A restarted agent keeps the attachments: CHECK passes again once it
	// is ready, and client still reaches web (its address, in web's rule,
	// comes from the attachment only).
	c.restart()
	must(t, c.inNode(func() error { return c.cni.CheckNetworkList(context.Background(), c.list, rt("web", webNS)) }))
	eventually(t, 5*time.Second, func() error { return probe(web, 80) })

	// GC keeps only web's attachment; client's goes.
	must(t, c.inNode(func() error {
		return c.cni.GCNetworkList(context.Background(), c.list, &libcni.GCArgs{ValidAttachments: []cnitypes.GCAttachment{
			{ContainerID: "sandbox-web", IfName: "eth0"}}})
	}))
	atts := readAttachments(t, c.stateDir)
	if len(atts) != 1 || !strings.Contains(atts[0], "sandbox-web") {
		t.Errorf("after GC: %v, want web's only", atts)
	}

	// DEL, twice; CHECK then fails.
	for range 2 {
		must(t, c.inNode(func() error { return c.cni.DelNetworkList(context.Background(), c.list, rt("web", webNS)) }))
	}
	err = c.inNode(func() error { return c.cni.CheckNetworkList(context.Background(), c.list, rt("web", webNS)) })
	if err == nil {
		t.Error("CHECK passed after DEL")
	}
	if atts := readAttachments(t, c.stateDir); len(atts) != 0 {
		t.Errorf("after DEL: %v", atts)
	}
}

func readAttachments(t testing.TB, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "cni-attachments.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	must(t, err)
	var list []map[string]any
	must(t, json.Unmarshal(data, &list))
	var out []string
	for _, a := range list {
		out = append(out, fmt.Sprint(a["containerID"], "/", a["ifName"]))
	}
	return out
}

func eventually(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
