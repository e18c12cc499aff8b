package netlab

import (
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

var (
	mp = netip.MustParsePrefix
	ma = netip.MustParseAddr
)

// topo is client -- router -- server, the client behind a Calico-style
// gateway (pod), the server on a plain subnet (external host).
type topo struct {
	lab                    *Lab
	client, router, server *NS
}

func buildTopo(t *testing.T) topo {
	t.Helper()
	l := ForTest(t, "pal-nl")
	var tp topo
	tp.lab = l
	var err error
	for _, x := range []struct {
		p    **NS
		name string
	}{{&tp.client, "cli"}, {&tp.router, "rtr"}, {&tp.server, "srv"}} {
		if *x.p, err = l.NewNS(x.name); err != nil {
			t.Fatal(err)
		}
	}
	must(t, tp.router.EnableForwarding())
	pod := End{NS: tp.client, Name: "eth0", Addrs: []netip.Prefix{mp("198.18.1.10/32"), mp("fd00:18:1::10/128")}}
	hostSide := End{NS: tp.router, Name: "cali0123456789"}
	must(t, l.Veth(hostSide, pod))
	must(t, HostRoutes(hostSide, pod))
	must(t, Gateway(pod, hostSide, ma("198.18.255.1"), ma("fd00:ffff::1")))
	up := End{NS: tp.router, Name: "eth0", Addrs: []netip.Prefix{mp("198.19.0.2/24"), mp("fd00:19::2/64")}}
	ext := End{NS: tp.server, Name: "eth0", Addrs: []netip.Prefix{mp("198.19.0.254/24"), mp("fd00:19::fe/64")}}
	must(t, l.Veth(up, ext))
	must(t, tp.server.AddRoute(Route{Dst: mp("198.18.0.0/16"), Via: ma("198.19.0.2")}))
	must(t, tp.server.AddRoute(Route{Dst: mp("fd00:18::/32"), Via: ma("fd00:19::2")}))
	must(t, tp.server.ServeTCP(8080))
	must(t, tp.server.ServeUDP(5353))
	return tp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestProbesThroughRouter(t *testing.T) {
	tp := buildTopo(t)
	ctx := context.Background()
	for _, dst := range []netip.Addr{ma("198.19.0.254"), ma("fd00:19::fe")} {
		for _, p := range []Probe{
			{Proto: "tcp", Dst: dst, DstPort: 8080, SrcPort: 41000},
			{Proto: "udp", Dst: dst, DstPort: 5353, SrcPort: 41001},
			{Proto: "icmp", Dst: dst},
		} {
			if err := tp.client.Probe(ctx, p); err != nil {
				t.Errorf("client: %v", err)
			}
		}
	}
	// The router reaches the pod over its veth, and the pod answers ICMP.
	for _, dst := range []netip.Addr{ma("198.18.1.10"), ma("fd00:18:1::10")} {
		if err := tp.router.Probe(ctx, Probe{Proto: "icmp", Dst: dst}); err != nil {
			t.Errorf("router: %v", err)
		}
	}
}

const dropRules = `table inet t {
	chain in {
		type filter hook input priority 0
		tcp dport 8080 drop
		udp dport 5353 drop
		meta l4proto icmp drop
	}
}
`

func TestProbeFailures(t *testing.T) {
	tp := buildTopo(t)
	ctx := context.Background()
	// A closed port is refused at once: not a timeout.
	start := time.Now()
	err := tp.client.Probe(ctx, Probe{Proto: "tcp", Dst: ma("198.19.0.254"), DstPort: 9, Timeout: 2 * time.Second})
	if err == nil || IsTimeout(err) || time.Since(start) > time.Second {
		t.Errorf("closed port: got %v after %v, want a quick refusal", err, time.Since(start))
	}
	// A dropped packet is a timeout, bounded by the probe's timeout.
	_, err = tp.server.Run(ctx, strings.NewReader(dropRules), "nft", "-f", "-")
	must(t, err)
	for _, p := range []Probe{
		{Proto: "tcp", Dst: ma("198.19.0.254"), DstPort: 8080},
		{Proto: "udp", Dst: ma("198.19.0.254"), DstPort: 5353},
		{Proto: "icmp", Dst: ma("198.19.0.254")},
	} {
		p.Timeout = 200 * time.Millisecond
		start := time.Now()
		err := tp.client.Probe(ctx, p)
		if !IsTimeout(err) || time.Since(start) > time.Second {
			t.Errorf("%s: got %v after %v, want a timeout after about 200ms", p, err, time.Since(start))
		}
	}
	// IPv6 is untouched by that ruleset's IPv4-only ICMP rule.
	if err := tp.client.Probe(ctx, Probe{Proto: "icmp", Dst: ma("fd00:19::fe")}); err != nil {
		t.Error(err)
	}
}

func TestLongLivedConnection(t *testing.T) {
	tp := buildTopo(t)
	c, err := tp.client.DialTCP(context.Background(), netip.AddrPort{}, netip.MustParseAddrPort("198.19.0.254:8080"), time.Second)
	must(t, err)
	defer c.Close()
	for i := 0; i < 3; i++ {
		must(t, Exchange(c, byte('a'+i), time.Second))
	}
}

func TestSysctlIsNamespaced(t *testing.T) {
	tp := buildTopo(t)
	if err := tp.router.Sysctl("kernel.hostname", "x"); err == nil {
		t.Fatal("a non-net sysctl was accepted")
	}
	out, err := tp.router.Run(context.Background(), nil, "cat", "/proc/sys/net/ipv4/ip_forward")
	must(t, err)
	if strings.TrimSpace(string(out)) != "1" {
		t.Errorf("router ip_forward = %q, want 1", out)
	}
	out, err = tp.server.Run(context.Background(), nil, "cat", "/proc/sys/net/ipv4/ip_forward")
	must(t, err)
	if strings.TrimSpace(string(out)) != "0" {
		t.Errorf("server ip_forward = %q, want 0 (forwarding leaked out of the router)", out)
	}
}

func TestCloseRemovesNamespaces(t *testing.T) {
	RequireRoot(t)
	l, err := New("pal-nl")
	must(t, err)
	n, err := l.NewNS("x")
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	must(t, n.ServeTCP(8080))
	must(t, l.Close())
	must(t, l.Close())
	if _, err := os.Stat(n.Path()); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Close (%v)", n.Path(), err)
	}
}

func TestSweepStale(t *testing.T) {
	RequireRoot(t)
	// No process can have this pid (above the kernel's pid_max limit).
	dead := "pal-nlsweep-999999999-abcdef-x"
	h, err := createNamed(dead)
	must(t, err)
	h.Close()
	l, err := New("pal-nlsweep")
	must(t, err)
	t.Cleanup(func() { l.Close() })
	live, err := l.NewNS("live")
	must(t, err)
	gone, err := SweepStale("pal-nlsweep")
	must(t, err)
	if len(gone) != 1 || gone[0] != dead {
		t.Errorf("swept %v, want only %s", gone, dead)
	}
	if _, err := os.Stat(live.Path()); err != nil {
		t.Errorf("a live run's namespace was swept: %v", err)
	}
}

func TestFlushConntrack(t *testing.T) {
	tp := buildTopo(t)
	ctx := context.Background()
	_, err := tp.server.Run(ctx, strings.NewReader("table inet t {\n\tchain in {\n\t\ttype filter hook input priority 0\n\t\tct state new accept\n\t}\n}\n"), "nft", "-f", "-")
	must(t, err)
	must(t, tp.client.Probe(ctx, Probe{Proto: "udp", Dst: ma("198.19.0.254"), DstPort: 5353}))
	count := func() string {
		out, err := tp.server.Run(ctx, nil, "cat", "/proc/sys/net/netfilter/nf_conntrack_count")
		must(t, err)
		return strings.TrimSpace(string(out))
	}
	if count() == "0" {
		t.Fatal("no conntrack entry after a UDP exchange")
	}
	must(t, tp.server.FlushConntrack())
	if c := count(); c != "0" {
		t.Errorf("%s conntrack entries after the flush", c)
	}
}
