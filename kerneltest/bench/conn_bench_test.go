package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/netlab"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/policy"
	"github.com/palisade-net/palisade/render"
)

// ctOnlyTable is the conntrack-only baseline: a table of the benchmark's
// own (never palisade's) whose one rule makes conntrack track every flow of
// the node namespace, as palisade's fast path does.
const (
	ctOnlyTable = `add table inet palbench
delete table inet palbench
table inet palbench {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ct state established,related accept
	}
}
`
	ctOnlyDelete = "add table inet palbench\ndelete table inet palbench\n"
)

// variant is one ruleset the node can be switched to.
type variant struct {
	name     string
	policies int             // -1: conntrack only, no palisade table
	rs       *render.Ruleset // nil for conntrack only
	walked   int             // rules in the tier and policy chains: what a new connection's first packet walks
	apply    time.Duration   // the last switch to this variant
	compiled bool            // render.Compile's form
	vsBig    bool            // reported against the linear compareAt variant
}

// lab is the topology: the node namespace between an outside host (ext,
// the client) and the server pod behind its cali veth. The client's SYN is
// forwarded by the node out of the pod's interface, so it meets the pod's
// ingress policy in the node's forward hook, and nothing else polices it.
type lab struct {
	l              *netlab.Lab
	node, ext, pod *netlab.NS
	k              *nft.Kernel
	variants       []*variant
	current        *variant
	// big is the linear variant with compareAt policies.
	big int
}

func newLab(t testing.TB, policyCounts []int) *lab {
	t.Helper()
	b := &lab{l: netlab.ForTest(t, "pal-bench")}
	var err error
	for _, x := range []struct {
		p    **netlab.NS
		name string
	}{{&b.node, "node"}, {&b.ext, "ext"}, {&b.pod, "server"}} {
		if *x.p, err = b.l.NewNS(x.name); err != nil {
			t.Fatal(err)
		}
	}
	must(t, b.node.EnableForwarding())
	up := netlab.End{NS: b.node, Name: "eth0", Addrs: prefixes(nodeV4 + "/24")}
	out := netlab.End{NS: b.ext, Name: "eth0", Addrs: prefixes(extV4 + "/24")}
	must(t, b.l.Veth(up, out))
	must(t, b.ext.AddRoute(netlab.Route{Dst: netip.MustParsePrefix("198.18.0.0/16"), Via: netip.MustParseAddr(nodeV4)}))

	// The pod's interface is named as the model names it.
	m, err := benchModel(1)
	must(t, err)
	ws := m.WorkloadsOn(nodeName)
	if len(ws) != 1 || ws[0].Interface != policy.PodInterfaceName("bench", "server") {
		t.Fatalf("model: want one local workload on %s named %s, got %v", nodeName, policy.PodInterfaceName("bench", "server"), ws)
	}
	host := netlab.End{NS: b.node, Name: ws[0].Interface}
	pod := netlab.End{NS: b.pod, Name: "eth0", Addrs: prefixes(serverV4 + "/32")}
	must(t, b.l.Veth(host, pod))
	must(t, netlab.HostRoutes(host, pod))
	must(t, netlab.Gateway(pod, host, netip.MustParseAddr(podGW4)))

	// The client makes tens of thousands of connections a second and closes
	// first, so its sockets sit in TIME_WAIT: a wide port range, and reuse
	// of TIME_WAIT ports older than a second (the client's namespace only).
	must(t, b.ext.Sysctl("net.ipv4.ip_local_port_range", "1024 65535"))
	must(t, b.ext.Sysctl("net.ipv4.tcp_tw_reuse", "1"))

	must(t, b.pod.ServeTCP(benchPort, deniedPort))
	b.k, err = nft.NewKernel(nft.Config{NetNS: b.node.Path()})
	must(t, err)

	b.variants = append(b.variants, &variant{name: "conntrack-only", policies: -1})
	for _, n := range policyCounts {
		m, err := benchModel(n)
		must(t, err)
		rs, err := render.Node(m, nodeName)
		must(t, err)
		b.variants = append(b.variants, &variant{name: fmt.Sprintf("linear-%d", n), policies: n, rs: rs, walked: walkedRules(rs)})
		checkTrace(t, rs, n)
		if n == compareAt {
			b.big = len(b.variants) - 1
		}
	}
	// The compiled form of the same rulesets (render.Compile), what the
	// agent programs.
	for _, v := range slices.Clone(b.variants[1:]) {
		rs := render.Compile(v.rs)
		checkTrace(t, rs, v.policies)
		b.variants = append(b.variants, &variant{name: fmt.Sprintf("compiled-%d", v.policies), policies: v.policies, rs: rs,
			walked: walkedRules(rs), compiled: true})
	}
	// The cost of counters and flow logs (linear): the compareAt ruleset
	// without its counters, and with flow logs of allowed flows (a twin
	// before every Allow rule the first packet walks past).
	noCounters := stripCounters(b.variants[b.big].rs)
	b.variants = append(b.variants, &variant{name: fmt.Sprintf("%d-nocounters", compareAt), policies: compareAt, rs: noCounters,
		walked: walkedRules(noCounters), vsBig: true})
	flowModel, err := benchModel(compareAt, flowLogsAll)
	must(t, err)
	flowLogs, err := render.Node(flowModel, nodeName)
	must(t, err)
	checkTrace(t, flowLogs, compareAt)
	b.variants = append(b.variants, &variant{name: fmt.Sprintf("%d-flowlogs", compareAt), policies: compareAt, rs: flowLogs,
		walked: walkedRules(flowLogs), vsBig: true})
	return b
}

// compareAt is the policy count of B5's target and of the counters' and
// flow logs' comparisons.
const compareAt = 200

// stripCounters returns a copy of rs with no counter statements or
// counter objects: the ruleset as it was before counters.
func stripCounters(rs *render.Ruleset) *render.Ruleset {
	cp := *rs
	cp.Counters = nil
	cp.Chains = make([]*render.Chain, len(rs.Chains))
	for i, c := range rs.Chains {
		nc := *c
		nc.Rules = make([]render.Rule, len(c.Rules))
		for j, r := range c.Rules {
			var st []render.Statement
			for _, s := range r.Statements {
				if _, ok := s.(render.StmtCounter); !ok {
					st = append(st, s)
				}
			}
			r.Statements = st
			nc.Rules[j] = r
		}
		cp.Chains[i] = &nc
	}
	return &cp
}

// walkedRules counts the rules of the tier and policy chains: every one of
// them is on the path of the benchmark's first packet (checkTrace proves
// the last policy's last rule is the one that allows it).
func walkedRules(rs *render.Ruleset) int {
	n := 0
	for _, c := range rs.Chains {
		if strings.HasPrefix(c.Name, "tier-") || strings.HasPrefix(c.Name, "pol-") {
			n += len(c.Rules)
		}
	}
	return n
}

// checkTrace walks the benchmark's SYN through the rendered ruleset: it
// must be accepted by the last rule of the last policy.
func checkTrace(t testing.TB, rs *render.Ruleset, n int) {
	t.Helper()
	tr := rs.Trace(render.Packet{Iif: "eth0", Oif: policy.PodInterfaceName("bench", "server"),
		Src: netip.MustParseAddr(extV4), Dst: netip.MustParseAddr(serverV4), Proto: 6, Sport: 40000, Dport: benchPort})
	if !tr.Allowed() {
		t.Fatalf("%d policies: the benchmark's SYN is not allowed:\n%s", n, tr)
	}
	want := fmt.Sprintf("bench/p%03d ingress rule 3", n-1)
	for _, h := range tr.Hits {
		if strings.Contains(h.Rule, "bench/p") && !strings.Contains(h.Rule, want) {
			t.Fatalf("%d policies: the SYN matched %q before the last policy's last rule:\n%s", n, h.Rule, tr)
		}
		if strings.Contains(h.Rule, want) {
			return
		}
	}
	t.Fatalf("%d policies: the SYN was not allowed by %q:\n%s", n, want, tr)
}

// use switches the node to v: palisade's ruleset (and not the baseline
// table), or the baseline table (and no palisade table). Conntrack is
// flushed so every measurement starts from an empty table.
func (b *lab) use(t testing.TB, v *variant) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	if v.rs == nil {
		must(t, b.k.Delete(ctx))
		_, err := b.node.Run(ctx, strings.NewReader(ctOnlyTable), "nft", "-f", "-")
		must(t, err)
	} else {
		if b.current == nil || b.current.rs == nil {
			_, err := b.node.Run(ctx, strings.NewReader(ctOnlyDelete), "nft", "-f", "-")
			must(t, err)
		}
		must(t, b.k.Apply(ctx, v.rs))
	}
	v.apply = time.Since(start)
	b.current = v
	must(t, b.node.FlushConntrack())
}

// sanity checks that the current ruleset is in the path: the benchmark's
// port answers, and the port no policy allows is dropped under palisade.
func (b *lab) sanity(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	dst := netip.MustParseAddr(serverV4)
	must(t, b.ext.Probe(ctx, netlab.Probe{Proto: "tcp", Dst: dst, DstPort: benchPort, Timeout: time.Second}))
	err := b.ext.Probe(ctx, netlab.Probe{Proto: "tcp", Dst: dst, DstPort: deniedPort, Timeout: 200 * time.Millisecond})
	if b.current.rs == nil && err != nil {
		t.Fatalf("%s: port %d: %v", b.current.name, deniedPort, err)
	}
	if b.current.rs != nil && !netlab.IsTimeout(err) {
		t.Fatalf("%s: port %d should be dropped by the end of the tier, got %v", b.current.name, deniedPort, err)
	}
}

// connResult is one measurement of connect, one-byte request, one-byte
// response, close.
type connResult struct {
	n       int
	elapsed time.Duration
	lat     []time.Duration // per connection, sequential runs only
}

func (r connResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

const ioTimeout = time.Second

// connLoop runs connections from inside the ext namespace, on a thread
// locked into it, until dur passes or max connections are made.
func (b *lab) connLoop(dur time.Duration, max int, lat *[]time.Duration, count *atomic.Int64) error {
	dst := netip.AddrPortFrom(netip.MustParseAddr(serverV4), benchPort).String()
	return b.ext.Do(func() error {
		d := net.Dialer{Timeout: ioTimeout}
		buf := []byte{'b'}
		deadline := time.Now().Add(dur)
		for i := 0; i < max; i++ {
			t0 := time.Now()
			if !t0.Before(deadline) {
				return nil
			}
			c, err := d.Dial("tcp4", dst)
			if err != nil {
				return fmt.Errorf("connection %d: %w", i, err)
			}
			err = c.SetDeadline(t0.Add(ioTimeout))
			if err == nil {
				_, err = c.Write(buf)
			}
			if err == nil {
				_, err = io.ReadFull(c, buf)
			}
			cerr := c.Close()
			if err = errors.Join(err, cerr); err != nil {
				return fmt.Errorf("connection %d: %w", i, err)
			}
			if lat != nil {
				*lat = append(*lat, time.Since(t0))
			}
			count.Add(1)
		}
		return nil
	})
}

// measureSeq is one client doing one connection after another: the rate
// and each connection's latency.
func (b *lab) measureSeq(dur time.Duration, max int) (connResult, error) {
	var n atomic.Int64
	lat := make([]time.Duration, 0, 32768)
	start := time.Now()
	err := b.connLoop(dur, max, &lat, &n)
	return connResult{n: int(n.Load()), elapsed: time.Since(start), lat: lat}, err
}

// measurePar is workers clients at once: the rate with the CPUs saturated.
func (b *lab) measurePar(workers int, dur time.Duration, max int) (connResult, error) {
	var n atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = b.connLoop(dur, max/workers, nil, &n)
		}()
	}
	wg.Wait()
	return connResult{n: int(n.Load()), elapsed: time.Since(start)}, errors.Join(errs...)
}

// throughput sends bytes over one established TCP connection from ext to
// a sink in the pod for dur and returns the bytes per second the sink got.
func (b *lab) throughput(t testing.TB, dur time.Duration) float64 {
	t.Helper()
	var ln net.Listener
	must(t, b.pod.Do(func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", serverV4, sinkPort))
		return err
	}))
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(dur + 5*time.Second))
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	start := time.Now()
	err := b.ext.Do(func() error {
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", serverV4, sinkPort), ioTimeout)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 128<<10)
		end := time.Now().Add(dur)
		_ = c.SetDeadline(end.Add(ioTimeout))
		for time.Now().Before(end) {
			if _, err := c.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err)
	select {
	case n := <-got:
		if n <= 0 {
			t.Fatalf("throughput: the sink got %d bytes", n)
		}
		return float64(n) / time.Since(start).Seconds()
	case <-time.After(dur + 10*time.Second):
		t.Fatal("throughput: the sink never finished")
	}
	return 0
}

// settings sizes a run.
type settings struct {
	rounds         int
	seqDur, parDur time.Duration
	maxConns       int
	workers        int
	tputRounds     int
	tputDur        time.Duration
}

func smokeSettings() settings {
	return settings{rounds: 1, seqDur: 100 * time.Millisecond, parDur: 100 * time.Millisecond, maxConns: 300,
		workers: 2, tputRounds: 1, tputDur: 100 * time.Millisecond}
}

func fullSettings() settings {
	s := settings{rounds: 14, seqDur: 500 * time.Millisecond, parDur: 500 * time.Millisecond, maxConns: 50000,
		workers: 2 * runtime.GOMAXPROCS(0), tputRounds: 5, tputDur: time.Second}
	if r, err := strconv.Atoi(os.Getenv("PALISADE_BENCH_ROUNDS")); err == nil && r > 0 && r <= 50 {
		s.rounds = r
	}
	return s
}

// stats gathers every round of one variant; index r of each per-round
// slice is round r, so variants can be compared round by round (paired),
// which cancels the drift of a shared machine better than comparing
// medians taken over the whole run.
type stats struct {
	seqRates, parRates []float64       // per round
	p50s               []time.Duration // per round, sequential
	lat                []time.Duration // every sequential connection
	tput               []float64       // per throughput round
}

// paired returns, for each round, f(this variant's figure, the baseline's).
func paired(xs, base []float64, f func(x, b float64) float64) []float64 {
	out := make([]float64, 0, len(xs))
	for i := range min(len(xs), len(base)) {
		out = append(out, f(xs[i], base[i]))
	}
	return out
}

func ratio(x, b float64) float64 { return 100 * x / b }
func diff(x, b float64) float64  { return x - b }

func durs(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = us(d)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)))
	return sorted[min(i, len(sorted)-1)]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// TestConnRate measures the new-connection rate and per-connection latency
// through the node with no palisade table (conntrack only) and with
// palisade holding 1, 50 and 200 policies on the server pod, interleaved
// round by round, and the established-flow throughput with and without the
// 200-policy ruleset. By default it is a smoke run of a second or two; the
// full run (about a minute and a half) needs PALISADE_BENCH=1:
//
//	PALISADE_BENCH=1 go test ./kerneltest/bench -run TestConnRate -v -count=1 -timeout 10m
//
// PALISADE_BENCH_ROUNDS (default 14, at most 50) sets the number of rounds.
func TestConnRate(t *testing.T) {
	full := os.Getenv("PALISADE_BENCH") == "1"
	s := smokeSettings()
	if full {
		s = fullSettings()
	}
	b := newLab(t, []int{1, 50, compareAt, 1000})
	for _, v := range b.variants {
		b.use(t, v)
		b.sanity(t)
	}
	st := map[*variant]*stats{}
	for _, v := range b.variants {
		st[v] = &stats{}
	}
	runStart := time.Now()
	for r := 0; r < s.rounds; r++ {
		// Rotate the order each round so no variant always runs first.
		for i := range b.variants {
			v := b.variants[(i+r)%len(b.variants)]
			b.use(t, v)
			if _, err := b.measureSeq(s.seqDur/20, s.maxConns/20); err != nil { // warm up
				t.Fatalf("%s: warm-up: %v", v.name, err)
			}
			must(t, b.node.FlushConntrack())
			seq, err := b.measureSeq(s.seqDur, s.maxConns)
			if err != nil {
				t.Fatalf("%s: sequential: %v", v.name, err)
			}
			must(t, b.node.FlushConntrack())
			par, err := b.measurePar(s.workers, s.parDur, s.maxConns)
			if err != nil {
				t.Fatalf("%s: %d clients: %v", v.name, s.workers, err)
			}
			x := st[v]
			x.seqRates = append(x.seqRates, seq.rate())
			x.parRates = append(x.parRates, par.rate())
			x.lat = append(x.lat, seq.lat...)
			slices.Sort(seq.lat)
			x.p50s = append(x.p50s, pct(seq.lat, 50))
			t.Logf("round %d %-15s seq %6d conns %8.0f/s   %d clients %6d conns %8.0f/s   apply %v",
				r, v.name, seq.n, seq.rate(), s.workers, par.n, par.rate(), v.apply.Round(time.Millisecond))
		}
	}
	// B6: one established flow, with and without the largest ruleset.
	base, big := b.variants[0], b.largestCompiled()
	for r := 0; r < s.tputRounds; r++ {
		for _, v := range []*variant{base, big} {
			b.use(t, v)
			bps := b.throughput(t, s.tputDur)
			st[v].tput = append(st[v].tput, bps)
			t.Logf("round %d %-15s one flow %.2f Gbit/s", r, v.name, bps*8/1e9)
		}
	}
	if !full {
		t.Log("smoke run: the figures below mean little; PALISADE_BENCH=1 for the full run")
	}
	b.report(t, s, st, time.Since(runStart))
}

func (b *lab) report(t testing.TB, s settings, st map[*variant]*stats, took time.Duration) {
	var w strings.Builder
	base, one, big := b.variants[0], b.variants[1], b.variants[b.big]
	bs := st[base]
	fmt.Fprintf(&w, "new connections ext -> pod (connect, 1-byte request, 1-byte response, close); %d rounds, variants interleaved; per variant and round %v with one client (seq) then %v with %d clients (par); GOMAXPROCS %d; %v\n",
		s.rounds, s.seqDur, s.parDur, s.workers, runtime.GOMAXPROCS(0), took.Round(time.Second))
	fmt.Fprintf(&w, "rules: rules in the tier and policy chains (all walked by the first packet); c/s: median over rounds; ratio: median over rounds of the rate / conntrack-only's in the same round [min-max]; p50, p99: over all seq connections; dp50: median over rounds of p50 - conntrack-only's p50; switch: nft time to switch to the variant\n")
	fmt.Fprintf(&w, "%-15s %8s %6s | %8s %6s %-11s | %7s %7s %7s | %8s %6s %-11s | %7s\n",
		"variant", "policies", "rules", "seq c/s", "ratio", "[range]", "p50 us", "dp50 us", "p99 us", "par c/s", "ratio", "[range]", "switch")
	for _, v := range b.variants {
		x := st[v]
		slices.Sort(x.lat)
		pol := "-"
		if v.policies >= 0 {
			pol = strconv.Itoa(v.policies)
		}
		sq, pr := paired(x.seqRates, bs.seqRates, ratio), paired(x.parRates, bs.parRates, ratio)
		dp50 := median(paired(durs(x.p50s), durs(bs.p50s), diff))
		fmt.Fprintf(&w, "%-15s %8s %6d | %8.0f %5.1f%% %-11s | %7.1f %+7.1f %7.1f | %8.0f %5.1f%% %-11s | %7v\n",
			v.name, pol, v.walked, median(x.seqRates), median(sq), rng(sq),
			us(pct(x.lat, 50)), dp50, us(pct(x.lat, 99)),
			median(x.parRates), median(pr), rng(pr), v.apply.Round(time.Millisecond))
	}
	for _, v := range b.variants {
		if !v.compiled || (v.policies != compareAt && v.policies != b.largestCompiled().policies) {
			continue
		}
		xv := st[v]
		fmt.Fprintf(&w, "B5 %s: %.1f%% of the conntrack-only rate with one client, %.1f%% with %d (target >= 95%%); p50 %+.1f us per connection (target <= +2 us)\n",
			v.name, median(paired(xv.seqRates, bs.seqRates, ratio)), median(paired(xv.parRates, bs.parRates, ratio)), s.workers,
			median(paired(durs(xv.p50s), durs(bs.p50s), diff)))
	}
	xb, x1 := st[big], st[one]
	if dr := big.walked - one.walked; dr > 0 {
		d := median(paired(durs(xb.p50s), durs(x1.p50s), diff))
		fmt.Fprintf(&w, "linear, per rule on the first packet (%s vs %s: %d more rules, p50 %+.1f us): %.0f ns (peer A8 ~70 ns per set-match rule, A7 nft 14.8 ns per linear rule)\n",
			big.name, one.name, dr, d, d*1000/float64(dr))
	}
	for _, v := range b.variants {
		if !v.vsBig {
			continue
		}
		x := st[v]
		fmt.Fprintf(&w, "%s vs %s (same rounds): rate %.1f%% of it with one client, %.1f%% with %d; p50 %+.1f us\n",
			big.name, v.name, median(paired(xb.seqRates, x.seqRates, ratio)), median(paired(xb.parRates, x.parRates, ratio)), s.workers,
			median(paired(durs(xb.p50s), durs(x.p50s), diff)))
	}
	xb = st[b.largestCompiled()]
	if len(bs.tput) > 0 && len(xb.tput) > 0 {
		tr := paired(xb.tput, bs.tput, ratio)
		fmt.Fprintf(&w, "B6 one established flow, %d rounds of %v: conntrack-only %.2f Gbit/s, %s %.2f Gbit/s (medians); ratio %.1f%% %s (target >= 98%%)\n",
			len(bs.tput), s.tputDur, median(bs.tput)*8/1e9, b.largestCompiled().name, median(xb.tput)*8/1e9, median(tr), rng(tr))
	}
	t.Log("\n" + w.String())
}

// largestCompiled is the compiled variant with the most policies.
func (b *lab) largestCompiled() *variant {
	var out *variant
	for _, v := range b.variants {
		if v.compiled && (out == nil || v.policies > out.policies) {
			out = v
		}
	}
	return out
}

// rng prints the smallest and largest of ratios in percent.
func rng(xs []float64) string {
	if len(xs) == 0 {
		return ""
	}
	return fmt.Sprintf("[%.0f-%.0f%%]", slices.Min(xs), slices.Max(xs))
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
