package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
)

// enginesBase is a small cluster with most of what a node's ruleset
// depends on: pods here and elsewhere, a workload endpoint, named,
// wildcard and IP-only host endpoints, tiers, global and namespaced policy,
// network sets, a profile and Felix settings.
const enginesBase = `
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 198.18.1.10, podIPs: [{ip: 198.18.1.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: app, labels: {app: db}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 198.18.2.11, podIPs: [{ip: 198.18.2.11}]}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: n1-k8s-vm-eth0, namespace: app, labels: {app: vm}}
spec: {node: n1, orchestrator: k8s, pod: vm, endpoint: eth0, interfaceName: cali1234567890a, ipNetworks: [198.18.1.20/32], profiles: [kns.app]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-eth0, labels: {role: node}}
spec: {node: n1, interfaceName: eth0, expectedIPs: [198.19.0.2]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-all, labels: {role: any}}
spec: {node: n1, interfaceName: "*", profiles: [open]}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: open}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block}
spec:
  tier: security
  order: 10
  selector: all()
  ingress: [{action: Deny, source: {selector: blocked == 'true'}}, {action: Pass}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: bad, labels: {blocked: "true"}}
spec: {nets: [203.0.113.0/24]}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, source: {selector: app == 'db'}, destination: {ports: [http]}}]
`

// TestEnginesAgree runs the incremental and the rebuilding engine side by
// side on one datastore and checks they apply the same ruleset after each
// step of a sequence of changes.
func TestEnginesAgree(t *testing.T) {
	st := store.NewMemory()
	put(t, st, objects(t, enginesBase)...)
	fi, fr := nft.NewFake(), nft.NewFake()
	ci := testConfig(t)
	cr := testConfig(t)
	cr.Engine, cr.NoRegister, cr.HealthListen = EngineRebuild, true, "-"
	startAgent(t, ci, st, fi, NewStaticInterfaces(testIfaces()...))
	startAgent(t, cr, st, fr, NewStaticInterfaces(testIfaces()...))
	steps := []struct {
		name string
		do   func()
	}{
		{"start", func() {}},
		{"pod label", func() {
			put(t, st, objects(t, `
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: app, labels: {app: db, blocked: "true"}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 198.18.2.11, podIPs: [{ip: 198.18.2.11}]}
`)...)
		}},
		{"namespace label", func() {
			put(t, st, objects(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: app, labels: {team: b}}\n")...)
		}},
		{"delete policy", func() {
			_, err := st.Delete(context.Background(), store.Key{Kind: "NetworkPolicy", Namespace: "app", Name: "web"}, "")
			must(t, err)
		}},
		{"felix settings", func() {
			put(t, st, objects(t, `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {failsafeInboundHostPorts: [{protocol: TCP, port: 2222}], defaultEndpointToHostAction: Accept}
`)...)
		}},
		{"delete wildcard", func() {
			_, err := st.Delete(context.Background(), store.Key{Kind: "HostEndpoint", Name: "n1-all"}, "")
			must(t, err)
		}},
		// The staged view holds no object until a staged policy appears;
		// then each agent lists the datastore again and shadows it.
		{"staged policy", func() {
			put(t, st, objects(t, stagedYAML)...)
		}},
		{"pod label while staged", func() {
			put(t, st, objects(t, `
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: app, labels: {app: db, blocked: "false"}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 198.18.2.11, podIPs: [{ip: 198.18.2.11}]}
`)...)
		}},
		{"staged policy gone", func() {
			_, err := st.Delete(context.Background(), store.Key{Kind: "StagedNetworkPolicy", Namespace: "app", Name: "web-guard"}, "")
			must(t, err)
		}},
	}
	staged := map[string]bool{"staged policy": true, "pod label while staged": true}
	for i, s := range steps {
		s.do()
		marker := fmt.Sprintf("step%d", i)
		put(t, st, objects(t, policyYAML(marker, 7000+i))...)
		eventually(t, 5*time.Second, func() error {
			if err := textHas(fi, policyMark(marker)); err != nil {
				return fmt.Errorf("incremental: %w", err)
			}
			if err := textHas(fr, policyMark(marker)); err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			if fi.Text() != fr.Text() {
				return fmt.Errorf("after %q the engines' rulesets differ:\nincremental:\n%s\nrebuild:\n%s", s.name, fi.Text(), fr.Text())
			}
			if got := strings.Contains(fi.Text(), "chain stg-"); got != staged[s.name] {
				return fmt.Errorf("after %q: staged chains %v, want %v", s.name, got, staged[s.name])
			}
			return nil
		})
	}
}

const stagedYAML = `
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: web-guard, namespace: app}
spec:
  selector: app == 'web'
  ingress:
  - {action: Deny, protocol: TCP, source: {selector: app == 'db'}, destination: {ports: [80]}}
  - {action: Allow}
`

// TestStagedCacheHolds: the staged view keeps no object while no staged
// policy exists; one that appears asks once for a new list, whose objects
// it then holds, and the view is served once that list is complete; when
// the last staged policy goes, the objects go too.
func TestStagedCacheHolds(t *testing.T) {
	objs := objects(t, enginesBase)
	c := newStagedCache()
	list := func() {
		c.listing()
		for _, o := range objs {
			c.Apply(store.Event{Type: store.Added, Key: store.KeyOf(o), Object: o})
		}
		c.Apply(store.Event{Type: store.Synced})
	}
	list()
	if n := len(c.objs.objs); n != 0 || c.Source() != nil || c.wantList() {
		t.Fatalf("without staged policies: %d objects held, source %v, want a list %v", n, c.Source() != nil, c.wantList())
	}
	stg := objects(t, stagedYAML)[0]
	c.Apply(store.Event{Type: store.Added, Key: store.KeyOf(stg), Object: stg})
	if !c.wantList() || c.wantList() {
		t.Fatal("a staged policy must ask for a new list, once")
	}
	if c.Source() != nil {
		t.Fatal("the staged view is served before its objects are listed")
	}
	objs = append(objs, stg)
	list()
	if n := len(c.objs.objs); n != len(objs) || c.Source() == nil {
		t.Fatalf("after the new list: %d objects held (want %d), source %v", n, len(objs), c.Source() != nil)
	}
	// A later list (the watch started again) keeps the view served.
	c.listing()
	if n := len(c.objs.objs); n != len(objs) || c.Source() == nil {
		t.Fatalf("while listing again: %d objects held (want %d), source %v", n, len(objs), c.Source() != nil)
	}
	list()
	c.Apply(store.Event{Type: store.Deleted, Key: store.KeyOf(stg)})
	if n := len(c.objs.objs); n != 0 || c.Source() != nil || c.wantList() {
		t.Fatalf("after the last staged policy: %d objects held, source %v", n, c.Source() != nil)
	}
}

// TestProblemsAreReported: an object the model cannot use is logged and
// counted (a policy in a missing tier fails closed, and readiness says
// so), and the rest is enforced.
func TestProblemsAreReported(t *testing.T) {
	for _, kind := range []string{EngineRebuild, EngineIncremental} {
		t.Run(kind, func(t *testing.T) {
			if _, ok := newEngine(kind, RulesCompiled, testNode).(*sourceEngine).src.(interface{ Problems() []error }); !ok {
				t.Skipf("the %s engine reports no problems", kind)
			}
			st := store.NewMemory()
			put(t, st, objects(t, hepYAML+"---"+policyYAML("p80", 80)+`---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: nowhere.p}
spec: {tier: nowhere, selector: all(), ingress: [{action: Allow}]}
`)...)
			f := nft.NewFake()
			cfg := testConfig(t)
			cfg.Engine = kind
			a := startAgent(t, cfg, st, f, NewStaticInterfaces(testIfaces()...))
			eventually(t, 2*time.Second, func() error {
				if err := a.Ready(); err == nil || !strings.Contains(err.Error(), `failing closed (the traffic it governs is denied until it is fixed): GlobalNetworkPolicy(nowhere.p): spec.tier: tier "nowhere" does not exist`) {
					return fmt.Errorf("Ready = %v", err)
				}
				return nil
			})
			if got := value(a.m.problems); got != 1 {
				t.Errorf("palisade_agent_model_problems = %v, want 1", got)
			}
			// Readiness reports the problem when the ruleset is computed,
			// just before it is applied: wait for the transaction (p80 is
			// shadowed by the failing-closed policy, so compiled it
			// leaves no element: wait for the endpoint's chain).
			eventually(t, 2*time.Second, func() error { return textHas(f, "chain hep-n1-eth0-ingress {") })
		})
	}
}

// TestLinearFirst: a compiled agent whose first ruleset is large writes it
// linear first (policy in force without waiting for the first compile)
// and the compiled form right after; an agent that starts with a small
// ruleset compiles at once.
func TestLinearFirst(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
		want      []bool // compiled, per apply
	}{{"large", 1, []bool{false, true}}, {"small", 1 << 30, []bool{true}}} {
		t.Run(tc.name, func(t *testing.T) {
			old := linearFirstRules
			linearFirstRules = tc.threshold
			t.Cleanup(func() { linearFirstRules = old })
			st := store.NewMemory()
			put(t, st, objects(t, hepYAML+"---"+policyYAML("p80", 80))...)
			f := nft.NewFake()
			var mu sync.Mutex
			var got []bool
			f.OnApply(func(_ int, rs *render.Ruleset) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, strings.Contains(rs.Text(), "\tchain out-"))
				return nil
			})
			startAgent(t, testConfig(t), st, f, NewStaticInterfaces(testIfaces()...))
			eventually(t, 2*time.Second, func() error {
				mu.Lock()
				defer mu.Unlock()
				if len(got) < len(tc.want) {
					return fmt.Errorf("%d applies", len(got))
				}
				return nil
			})
			time.Sleep(100 * time.Millisecond) // nothing more comes
			mu.Lock()
			defer mu.Unlock()
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("compiled, per apply (-want +got):\n%s", d)
			}
		})
	}
}
