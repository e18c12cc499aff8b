package kerneltest

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-net/palisade/render"
)

// TestTransitionNeverOpens: a change between two policies that both deny
// ext -> web:8080, but whose rulesets differ in what is explicit and what
// is the default (allow port 80 and deny the rest; deny 8080 and allow
// the rest), applied back and forth incrementally while connections to
// 8080 are tried without pause: none may get through, in either form.
// (With the compiled form's most common outcome left to a default rule,
// 1 of 79 got through: the kernel makes a commit's new rules live before
// it publishes its verdict maps' new elements.)
func TestTransitionNeverOpens(t *testing.T) {
	for _, compiled := range []bool{false, true} {
		t.Run(map[bool]string{true: "compiled", false: "linear"}[compiled], func(t *testing.T) {
			testTransition(t, compiled)
		})
	}
}

const (
	allow80 = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web-in}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
`
	deny8080 = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web-in}
spec:
  selector: app == 'web'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [8080]}}, {action: Allow}]
`
)

func testTransition(t *testing.T, compiled bool) {
	c := newCluster(t)
	ctx := context.Background()
	var rs [2]*render.Ruleset
	for i, doc := range []string{allow80, deny8080} {
		r, err := render.Node(mustModel(t, baseYAML+doc), nodeName)
		must(t, err)
		if compiled {
			r = render.Compile(r)
		}
		rs[i] = r
	}
	must(t, c.k.Apply(ctx, rs[0]))
	var tries, open atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := c.ext.DialTCP(ctx, netip.AddrPort{}, netip.MustParseAddrPort("198.18.1.10:8080"), 20*time.Millisecond)
				tries.Add(1)
				if err == nil {
					open.Add(1)
					conn.Close()
				}
			}
		}()
	}
	const changes = 300
	for i := range changes {
		must(t, c.k.Apply(ctx, rs[(i+1)%2]))
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	st, _ := c.k.Stats()
	t.Logf("%d changes (%d incremental), %d connections tried to 8080, %d got through", changes, st.Incremental, tries.Load(), open.Load())
	if open.Load() > 0 {
		t.Errorf("%d connections to a port both policies deny got through while the policy changed", open.Load())
	}
	if st.Incremental < changes/2 {
		t.Errorf("only %d of %d changes were incremental", st.Incremental, changes)
	}
}

// TestIdentityChangeNeverOpens: ext moves back and forth between two
// network sets that the policy both denies (and allows everything else),
// so with the compiled rules its address changes identity with every
// change, and with the linear rules it leaves one selector set for
// another, while connections from it to web:8080 are tried without pause:
// none may get through, in either form. (The kernel publishes interval
// sets' and maps' new elements after the commit's rules, one set after
// the other, and a map deleted in a commit hides its elements from packets
// still walking the old rules: with sets changed in place, 5 of 20 runs
// let 1 or 2 connections through, with old maps deleted in the switching
// commit 3 of 12; hence render's version.go and the nft package's
// prepare, commit and cleanup transactions.)
func TestIdentityChangeNeverOpens(t *testing.T) {
	for _, compiled := range []bool{false, true} {
		t.Run(map[bool]string{true: "compiled", false: "linear"}[compiled], func(t *testing.T) {
			testIdentityChange(t, compiled)
		})
	}
}

func testIdentityChange(t *testing.T, compiled bool) {
	pol := `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web-in}
spec:
  selector: app == 'web'
  ingress:
  - {action: Deny, source: {selector: role == 'bad-a'}}
  - {action: Deny, source: {selector: role == 'bad-b'}}
  - {action: Allow}
`
	set := func(role string) string {
		return "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nspec: {nets: [198.19.0.254/32]}\nmetadata:\n  name: ext\n  labels: {role: " + role + "}\n"
	}
	c := newCluster(t)
	ctx := context.Background()
	var rs [2]*render.Ruleset
	for i, role := range []string{"bad-a", "bad-b"} {
		r, err := render.Node(mustModel(t, baseYAML+pol+set(role)), nodeName)
		must(t, err)
		if compiled {
			r = render.Compile(r)
		}
		rs[i] = r
	}
	must(t, c.k.Apply(ctx, rs[0]))
	var tries, open atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := c.ext.DialTCP(ctx, netip.AddrPort{}, netip.MustParseAddrPort("198.18.1.10:8080"), 20*time.Millisecond)
				tries.Add(1)
				if err == nil {
					open.Add(1)
					conn.Close()
				}
			}
		}()
	}
	// At least 300 changes, and enough of them for 1,000 tries.
	changes := 0
	for ; changes < 300 || (tries.Load() < 1000 && changes < 3000); changes++ {
		must(t, c.k.Apply(ctx, rs[(changes+1)%2]))
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	st, _ := c.k.Stats()
	t.Logf("%d changes (%d incremental), %d connections tried from ext to 8080, %d got through", changes, st.Incremental, tries.Load(), open.Load())
	if open.Load() > 0 {
		t.Errorf("%d connections from an address both states deny got through while its identity changed", open.Load())
	}
}
