package agent

import (
	"bufio"
	"context"
	byteorder "encoding/binary"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	"github.com/vishvananda/netns"
)

// BenchmarkStoreToKernel measures the time from a policy change in the
// datastore (the write acknowledged by etcd) to the changed rule being in
// the node's kernel (the commit event `nft monitor` prints in the node
// namespace), in the end-to-end setup: palisade server over a unix socket,
// palisade agent in the node namespace. Each iteration moves the allowed
// port of one policy. Run it with a fixed count:
//
//	go test ./agent -run '^$' -bench StoreToKernel -benchtime 40x
//
// It reports the median and 99th percentile (ms) beside the mean, for
// each engine.
func BenchmarkStoreToKernel(b *testing.B) {
	for _, pods := range []int{0, 2000} {
		for _, engine := range []string{EngineIncremental, EngineRebuild} {
			b.Run(fmt.Sprintf("%s/pods=%d", engine, pods), func(b *testing.B) { benchStoreToKernel(b, engine, pods) })
		}
	}
}

// benchStoreToKernel runs the benchmark with pods pods on another node
// (and one policy per 20 of them) in the datastore besides the test's own.
func benchStoreToKernel(b *testing.B, engine string, pods int) {
	e := newE2E(b)
	e.apply(b, e2eManifests(80))
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{e.endpoint}})
	must(b, err)
	defer st.Close()
	background(b, st, pods)
	e.startAgent(b, "--engine", engine)
	e.ready(b, 60*time.Second)
	commits := monitor(b, e)
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		port := 9000 + i%1000
		written := setPort(b, st, port)
		if err := commits.waitFor(port, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(written))
		time.Sleep(5 * time.Millisecond) // separate the changes
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.Logf("%d changes: min %v, p50 %v, p99 %v, max %v; in the agent: %s", len(lat), lat[0].Round(time.Microsecond),
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond),
		agentTimes(e))
}

// agentTimes summarises the agent's calc and apply histograms.
func agentTimes(e *e2e) string {
	_, body, err := e.get("/metrics")
	if err != nil {
		return err.Error()
	}
	v := map[string]float64{}
	for _, l := range strings.Split(body, "\n") {
		var name string
		var x float64
		if _, err := fmt.Sscanf(l, "%s %g", &name, &x); err == nil {
			v[name] = x
		}
	}
	mean := func(h string) time.Duration {
		if v[h+"_count"] == 0 {
			return 0
		}
		return time.Duration(v[h+"_sum"] / v[h+"_count"] * float64(time.Second)).Round(time.Microsecond)
	}
	return fmt.Sprintf("mean calc %v, mean nft transaction %v (%g transactions)",
		mean("felix_calc_graph_update_time_seconds"), mean("felix_int_dataplane_apply_time_seconds"),
		v["felix_int_dataplane_apply_time_seconds_count"])
}

// background writes pods pods on node n2 and a policy per 20 of them.
func background(b *testing.B, st store.Store, pods int) {
	var y strings.Builder
	for i := range pods {
		fmt.Fprintf(&y, `apiVersion: v1
kind: Pod
metadata: {name: bg%[1]d, namespace: bg, labels: {app: bg%[2]d}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 198.18.%[3]d.%[4]d, podIPs: [{ip: 198.18.%[3]d.%[4]d}]}
---
`, i, i%20, 10+i/250, 1+i%250)
		if i%20 == 0 {
			fmt.Fprintf(&y, `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bg%[1]d}
spec:
  selector: app == 'bg%[2]d'
  ingress: [{action: Allow, source: {selector: app == 'bg%[3]d'}}]
---
`, i, (i/20)%20, (i/20+1)%20)
		}
	}
	if pods == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, o := range objects(b, y.String()) {
		_, err := st.Create(ctx, o)
		must(b, err)
	}
}

// setPort rewrites policy from-ext to allow port and returns when the
// datastore acknowledged the write.
func setPort(b *testing.B, st store.Store, port int) time.Time {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o, err := st.Get(ctx, store.Key{Kind: store.Kind(api.KindGlobalNetworkPolicy), Name: "from-ext"})
	must(b, err)
	gnp := o.(*api.GlobalNetworkPolicy)
	for i := range gnp.Spec.Ingress {
		gnp.Spec.Ingress[i].Destination.Ports = []api.Port{api.SinglePort(uint16(port))}
	}
	_, err = st.Update(ctx, gnp)
	must(b, err)
	return time.Now()
}

// commitLog follows the node namespace's committed rules (`nft monitor
// rules`: a linear rule's "tcp dport N") and verdict map elements (a
// netlink monitor: the compiled form's identity . 6 . N boxes; nft 1.0.6's
// monitor misprints those), as lines naming the TCP port.
type commitLog struct{ lines chan string }

// tcpPort reads the TCP port of a rule or element line.
var tcpPort = regexp.MustCompile(`dport (\d+)`)

func portOf(line string) (int, bool) {
	m := tcpPort.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

func monitor(b *testing.B, e *e2e) *commitLog {
	cmd := exec.Command("nft", "monitor", "rules")
	out, err := cmd.StdoutPipe()
	must(b, err)
	must(b, e.node.Do(cmd.Start))
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &commitLog{lines: make(chan string, 4096)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	h, err := netns.GetFromPath(e.node.Path())
	must(b, err)
	defer h.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(h)))
	must(b, err)
	mon := nftables.NewMonitor()
	batches, err := conn.AddGenerationalMonitor(mon)
	must(b, err)
	b.Cleanup(func() { _ = mon.Close() })
	go func() {
		for batch := range batches {
			for _, ev := range batch.Changes {
				elems, ok := ev.Data.([]nftables.SetElement)
				if ev.Type != nftables.MonitorEventTypeNewSetElem || !ok {
					continue
				}
				for _, el := range elems {
					// identity (4 bytes) . protocol (4) . port (2+2)
					if len(el.Key) == 12 && el.Key[4] == 6 {
						c.lines <- fmt.Sprintf("element tcp dport %d", byteorder.BigEndian.Uint16(el.Key[8:10]))
					}
				}
			}
		}
	}()
	return c
}

// waitFor reads commit lines until one names TCP port want.
func (c *commitLog) waitFor(want int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return fmt.Errorf("nft monitor ended")
			}
			if p, ok := portOf(l); ok && p == want {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("no rule or element with TCP port %d reached the kernel in %v", want, timeout)
		}
	}
}

// BenchmarkStoreToKernelRate is B7's rate case: policy changes written at
// 50 a second (one every 20 ms, without waiting for the kernel), each
// timed from its write to the first commit in the node's kernel of its
// port or a later one (the agent may fold changes that arrive together
// into one transaction; the later state includes the earlier change).
//
//	go test ./agent -run '^$' -bench StoreToKernelRate -benchtime 200x
func BenchmarkStoreToKernelRate(b *testing.B) {
	for _, pods := range []int{0, 2000} {
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) { benchStoreToKernelRate(b, pods) })
	}
}

func benchStoreToKernelRate(b *testing.B, pods int) {
	e := newE2E(b)
	e.apply(b, e2eManifests(80))
	st, err := store.NewEtcd(store.EtcdConfig{Endpoints: []string{e.endpoint}})
	must(b, err)
	defer st.Close()
	background(b, st, pods)
	e.startAgent(b)
	e.ready(b, 60*time.Second)
	commits := monitor(b, e)
	const period = 20 * time.Millisecond
	var mu sync.Mutex
	seen := map[int]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for l := range commits.lines {
			if port, ok := portOf(l); ok {
				mu.Lock()
				if _, ok := seen[port]; !ok {
					seen[port] = time.Now()
				}
				mu.Unlock()
			}
		}
	}()
	b.ResetTimer()
	written := make([]time.Time, b.N)
	next := time.Now()
	for i := range b.N {
		time.Sleep(time.Until(next))
		next = next.Add(period)
		written[i] = setPort(b, st, 20000+i)
	}
	last := 20000 + b.N - 1
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		_, ok := seen[last]
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the last change (port %d) did not reach the kernel in 5 s", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	rate := float64(b.N-1) / written[b.N-1].Sub(written[0]).Seconds()
	mu.Lock()
	lat := make([]time.Duration, b.N)
	for i := range b.N {
		first := time.Time{}
		for p, at := range seen {
			if p >= 20000+i && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
		lat[i] = first.Sub(written[i])
	}
	mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(rate, "changes/s")
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.Logf("%d changes at %.1f/s: p50 %v, p99 %v, max %v; in the agent: %s", b.N, rate, pct(0.5).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), agentTimes(e))
}
