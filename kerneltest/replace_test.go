package kerneltest

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
)

// TestWholeReplaceKeepsForwarding: a whole-table replace (at start without
// a saved state, and to repair a table another tool changed) keeps the
// table and its base chains, so that no new connection is lost while it
// commits. Forwarded connections to a pod and failsafe connections to the
// node run while the table is replaced whole 40 times, alternating between
// two models (so chains, sets and a map come and go): none may be lost,
// every replace must be done in place, and each must leave the table equal,
// as data, to its ruleset loaded into an empty namespace. Deleting and
// re-creating the table instead lost about one forwarded connection in ten
// replaces here. It runs with the rules linear and compiled.
func TestWholeReplaceKeepsForwarding(t *testing.T) {
	for _, compiled := range []bool{false, true} {
		t.Run(map[bool]string{true: "compiled", false: "linear"}[compiled], func(t *testing.T) {
			testWholeReplace(t, compiled)
		})
	}
}

func testWholeReplace(t *testing.T, compiled bool) {
	form := func(rs *render.Ruleset) *render.Ruleset {
		if compiled {
			return render.Compile(rs)
		}
		return rs
	}
	c := newCluster(t)
	scratchNS, err := c.lab.NewNS("scratch")
	must(t, err)
	scratch, err := nft.NewKernel(nft.Config{NetNS: scratchNS.Path()})
	must(t, err)
	ctx := context.Background()
	base, err := render.Node(mustModel(t, baseYAML+hostPolicy), nodeName)
	must(t, err)
	base = form(base)
	must(t, c.k.Apply(ctx, base))

	var probes, lost atomic.Int64
	var examples sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// The base model allows all three (the namespace profiles allow the
	// pod; the node's host endpoint has 22 failsafe and 8080 allowed by
	// policy); dbPolicies add policies for app/db only.
	for _, dst := range []string{"198.18.1.10:80", nodeV4 + ":22", nodeV4 + ":8080"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := c.ext.DialTCP(ctx, netip.AddrPort{}, netip.MustParseAddrPort(dst), 500*time.Millisecond)
				probes.Add(1)
				if err != nil {
					lost.Add(1)
					examples.Store(dst+" at "+time.Now().Format("15:04:05.000"), err.Error())
					continue
				}
				conn.Close()
			}
		}()
	}
	other, err := render.Node(mustModel(t, baseYAML+hostPolicy+dbPolicies), nodeName)
	must(t, err)
	other = form(other)
	const replaces = 40
	for i := range replaces {
		rs := base
		if i%2 == 1 {
			rs = other
		}
		before, _ := c.k.Stats()
		c.k.Forget() // what the agent does to repair a table: replace it whole
		must(t, c.k.Apply(ctx, rs))
		after, _ := c.k.Stats()
		if after.Replaced != before.Replaced+1 {
			t.Fatalf("replace %d was not done in place (%+v -> %+v)", i, before, after)
		}
		must(t, scratch.ApplyText(ctx, rs.Text()))
		if d := cmp.Diff(listing(t, scratch), listing(t, c.k)); d != "" {
			t.Fatalf("replace %d: the table differs from its ruleset loaded whole (-whole +replaced):\n%s", i, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d whole replaces: %d connections, %d lost", replaces, probes.Load(), lost.Load())
	if lost.Load() > 0 {
		examples.Range(func(k, v any) bool { t.Errorf("lost: %s: %s", k, v); return true })
	}
	if probes.Load() < 100 {
		t.Errorf("only %d connections were tried", probes.Load())
	}
}

// hostPolicy is a named host endpoint for the node with a policy that
// allows TCP 8080 from anywhere.
const hostPolicy = `---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {role: node}}
spec: {node: node1, interfaceName: eth0, expectedIPs: [198.19.0.2, "fd00:19::2"]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-8080}
spec:
  selector: role == 'node'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}]
`

// dbPolicies add chains, sets and a map for app/db only, so that the
// probes above stay allowed while objects come and go.
const dbPolicies = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: clients, labels: {role: clients}}
spec: {nets: [198.19.0.254/32, 198.19.0.253/32]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: db-ingress}
spec:
  selector: app == 'db'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: role == 'clients'}, destination: {ports: [5432]}}
  - {action: Deny, protocol: TCP, source: {nets: [198.19.0.253/32]}}
  - {action: Pass, source: {selector: app == 'client'}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: app}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: pg}]}]
`

// TestWholeReplaceEqualsLoad: a whole replace done in place leaves the
// table equal, as data, to the ruleset loaded into an empty namespace, for
// a sequence of random models (every rule feature; objects of each model
// deleted and the next one's created in the same transaction).
func TestWholeReplaceEqualsLoad(t *testing.T) {
	seed := envInt("KERNELTEST_SEED", 5)
	c := newCluster(t)
	scratchNS, err := c.lab.NewNS("scratch")
	must(t, err)
	scratch, err := nft.NewKernel(nft.Config{NetNS: scratchNS.Path()})
	must(t, err)
	ctx := context.Background()
	g := &gen{r: rand.New(rand.NewPCG(seed, 3))}
	for i := 0; i < 15; {
		m, err := decodeModel(baseYAML + g.model())
		if err != nil {
			continue
		}
		rs, err := render.Node(m, nodeName)
		must(t, err)
		c.k.Forget()
		before, _ := c.k.Stats()
		must(t, c.k.Apply(ctx, rs))
		after, _ := c.k.Stats()
		if i > 0 && after.Replaced != before.Replaced+1 {
			t.Fatalf("model %d was not replaced in place (%+v -> %+v)", i, before, after)
		}
		must(t, scratch.ApplyText(ctx, rs.Text()))
		if d := cmp.Diff(listing(t, scratch), listing(t, c.k)); d != "" {
			t.Fatalf("model %d: the table differs from its ruleset loaded whole (-whole +replaced):\n%s", i, d)
		}
		i++
	}
}
