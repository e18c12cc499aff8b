package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-net/palisade/api"
	"github.com/palisade-net/palisade/store"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// One embedded etcd serves every benchmark of a run (started on first use,
// closed by TestMain).
var bench struct {
	once sync.Once
	dir  string
	srv  *store.Embedded
	s    *store.Etcd
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.s != nil {
		bench.s.Close()
	}
	if bench.srv != nil {
		bench.srv.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchStore(b *testing.B) *store.Etcd {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "store-bench-")
		if bench.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bench.srv, bench.err = store.StartEmbedded(ctx, store.EmbedConfig{
			Name: "bench", DataDir: filepath.Join(bench.dir, "etcd"), UnsafeNoFsync: true,
			ListenClient: []string{"http://127.0.0.1:0"}, ListenPeer: []string{"http://127.0.0.1:0"},
		})
		if bench.err == nil {
			bench.s, bench.err = store.NewEtcd(store.EtcdConfig{Endpoints: bench.srv.ClientEndpoints()})
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.s
}

// benchWEP is a realistic workload endpoint (about 600 bytes of JSON).
func benchWEP(i int) *api.WorkloadEndpoint {
	ns := fmt.Sprintf("ns-%03d", i%100)
	name := fmt.Sprintf("node%02d-k8s-pod--%05d-eth0", i%50, i)
	return &api.WorkloadEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
			"app": fmt.Sprintf("app-%d", i%40), "tier": "backend", "projectcalico.org/namespace": ns,
			"projectcalico.org/orchestrator": "k8s", "projectcalico.org/serviceaccount": "default"}},
		Spec: api.WorkloadEndpointSpec{
			Orchestrator: "k8s", Node: fmt.Sprintf("node%02d", i%50), Pod: fmt.Sprintf("pod-%05d", i),
			Endpoint: "eth0", InterfaceName: fmt.Sprintf("cali%08x", i), ContainerID: fmt.Sprintf("%064x", i),
			IPNetworks: []string{fmt.Sprintf("10.%d.%d.%d/32", i>>16&255, i>>8&255, i&255)},
			Profiles:   []string{"kns." + ns, "ksa." + ns + ".default"},
			Ports:      []api.WorkloadEndpointPort{{Name: "http", Protocol: api.ProtocolFromString("TCP"), Port: 8080}},
		},
	}
}

const benchEndpoints = 10000

// seedEndpoints stores benchEndpoints workload endpoints (once per run),
// with 16 concurrent creators.
func seedEndpoints(b *testing.B, s store.Store) {
	b.Helper()
	ctx := context.Background()
	list, _, err := s.List(ctx, store.Kind(api.KindWorkloadEndpoint), "")
	if err != nil {
		b.Fatal(err)
	}
	if len(list) == benchEndpoints {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < benchEndpoints; i = int(next.Add(1)) - 1 {
				if _, err := s.Create(ctx, benchWEP(i)); err != nil && !store.IsAlreadyExists(err) {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func BenchmarkList10000Endpoints(b *testing.B) {
	s := benchStore(b)
	seedEndpoints(b, s)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		list, _, err := s.List(ctx, store.Kind(api.KindWorkloadEndpoint), "")
		if err != nil {
			b.Fatal(err)
		}
		if len(list) != benchEndpoints {
			b.Fatalf("listed %d endpoints", len(list))
		}
	}
}

// BenchmarkPutToWatchEvent measures from the start of an Update to the
// arrival of its watch event; it also reports the median and 99th
// percentile.
func BenchmarkPutToWatchEvent(b *testing.B) {
	s := benchStore(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kind := store.Kind(api.KindGlobalNetworkSet)
	obj := &api.GlobalNetworkSet{ObjectMeta: metav1.ObjectMeta{Name: "bench-watch"}}
	if _, err := s.Create(ctx, obj); err != nil && !store.IsAlreadyExists(err) {
		b.Fatal(err)
	}
	ch, err := s.Watch(ctx, 0, kind)
	if err != nil {
		b.Fatal(err)
	}
	for ev := range ch {
		if ev.Type == store.Synced {
			break
		}
	}
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		obj.Labels = map[string]string{"i": fmt.Sprint(i)}
		start := time.Now()
		out, err := s.Update(ctx, obj)
		if err != nil {
			b.Fatal(err)
		}
		for ev := range ch {
			if ev.Type == store.Modified && ev.Object.GetResourceVersion() == out.GetResourceVersion() {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

var createSeq atomic.Int64

func BenchmarkCreate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		o := &api.Tier{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-create-%d", createSeq.Add(1))}}
		if _, err := s.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := benchStore(b)
	seedEndpoints(b, s)
	ctx := context.Background()
	k := store.KeyOf(benchWEP(42))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
}
