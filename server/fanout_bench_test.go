package server

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/internal/benchmem"
	"github.com/palisade-net/palisade/store"
)

// BenchmarkWatchFanout is issue 15's fan-out measurement: three `palisade
// server` processes form one etcd cluster on loopback, and
// PALISADE_FANOUT_WATCHERS (default 1,000) simulated agents each open their
// own client (to all three members, as an agent does) and watch the whole
// datastore as the agent does (store.Watch from the start). Then
// PALISADE_FANOUT_WRITES (default 20) policy changes are written, one every
// 200 ms; for each, the time from the write's start until each watcher
// receives it is recorded. It reports the p50, p99 and maximum of those
// latencies, and the members' resident memory before the watchers
// connected and after the writes (the largest member). Run it with
//
//	go test ./server -run '^$' -bench WatchFanout -benchtime 1x
func BenchmarkWatchFanout(b *testing.B) {
	watchers := benchmem.EnvInt("PALISADE_FANOUT_WATCHERS", 1000)
	writes := benchmem.EnvInt("PALISADE_FANOUT_WRITES", 20)
	ms, endpoints := startCluster(b, 3)
	rssBefore := maxRSS(b, ms)
	for range b.N {
		lat, connect := fanout(b, endpoints, watchers, writes)
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(connect.Seconds(), "connect-s")
	}
	b.ReportMetric(rssBefore, "member-rss-before-MB")
	b.ReportMetric(maxRSS(b, ms), "member-rss-after-MB")
	b.ReportMetric(float64(watchers), "watchers")
}

// fanout connects the watchers, waits until each has the initial list,
// writes the changes and returns every (change, watcher) latency and how
// long connecting took.
func fanout(b *testing.B, endpoints []string, watchers, writes int) ([]time.Duration, time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writer, err := store.NewEtcd(store.EtcdConfig{Endpoints: endpoints})
	if err != nil {
		b.Fatal(err)
	}
	defer writer.Close()
	name := fmt.Sprintf("fanout-%d", time.Now().UnixNano())
	gnp := &api.GlobalNetworkPolicy{Spec: api.GlobalNetworkPolicySpec{Selector: "role == 'fanout'"}}
	gnp.Name = name
	api.SetTypeMeta(gnp)
	if _, err := writer.Create(ctx, gnp); err != nil {
		b.Fatal(err)
	}
	key := store.KeyOf(gnp)

	var (
		seen   = make([][]time.Time, watchers)
		synced sync.WaitGroup
		got    sync.WaitGroup
	)
	begin := time.Now()
	synced.Add(watchers)
	got.Add(watchers)
	var clients []*store.Etcd
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range watchers {
		c, err := store.NewEtcd(store.EtcdConfig{Endpoints: endpoints})
		if err != nil {
			b.Fatalf("watcher %d: %v", i, err)
		}
		clients = append(clients, c)
		ch, err := c.Watch(ctx, 0)
		if err != nil {
			b.Fatalf("watcher %d: %v", i, err)
		}
		go func() {
			done := false
			for ev := range ch {
				switch {
				case ev.Type == store.Synced:
					synced.Done()
				case ev.Type == store.Modified && ev.Key == key && !done:
					seen[i] = append(seen[i], time.Now())
					if len(seen[i]) == writes {
						done = true
						got.Done()
					}
				}
			}
		}()
	}
	synced.Wait()
	connect := time.Since(begin)

	var startTimes []time.Time
	for w := range writes {
		cur, err := writer.Get(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		p := cur.(*api.GlobalNetworkPolicy)
		order := float64(w + 1)
		p.Spec.Order = &order
		start := time.Now()
		if _, err := writer.Update(ctx, p); err != nil {
			b.Fatal(err)
		}
		startTimes = append(startTimes, start)
		time.Sleep(200 * time.Millisecond)
	}
	waited := make(chan struct{})
	go func() { got.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(60 * time.Second):
		b.Fatal("not every watcher received every change within 60 s")
	}
	var lat []time.Duration
	for i := range watchers {
		for w, at := range seen[i] {
			lat = append(lat, at.Sub(startTimes[w]))
		}
	}
	return lat, connect
}

// maxRSS is the largest resident set of the members, in MB.
func maxRSS(b *testing.B, ms []*member) float64 {
	var most float64
	for _, m := range ms {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.p.cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				most = max(most, kb/1024)
			}
		}
	}
	return most
}
