package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/palisade-net/palisade/internal/benchmem"
	"github.com/palisade-net/palisade/internal/gen"
	"github.com/palisade-net/palisade/nft"
	"github.com/palisade-net/palisade/render"
	"github.com/palisade-net/palisade/store"
	corev1 "k8s.io/api/core/v1"
)

// BenchmarkAgentMemory is B8 for the whole agent, not only its engine: an
// agent (in process, with an applier that keeps the last ruleset as the
// netlink one does) starts on a datastore holding a
// cluster of the given size, lists it, and writes its first ruleset; what
// its heap holds then, after GC, over the heap with the datastore alone
// (an in-memory store standing in for etcd, which runs elsewhere), is
// reported as held-MB. The cluster is internal/gen's: 100 namespaces,
// policies split between Kubernetes and Calico ones, the first 200 pods
// on the agent's node. Linear rules, as a compiled agent writes its first
// large ruleset.
//
//	go test ./agent -run '^$' -bench AgentMemory -benchtime 1x -timeout 30m
//
// PALISADE_AGENT_PODS sets the pod count (default 250,000, policies one
// per 25 pods); PALISADE_HEAP_PROFILE=FILE writes the heap profile then
// (go tool pprof -sample_index=inuse_space).
func BenchmarkAgentMemory(b *testing.B) {
	pods := benchmem.EnvInt("PALISADE_AGENT_PODS", 250_000)
	st := store.NewMemory()
	load := func() {
		objs := gen.Cluster(gen.Spec{Seed: 15, Namespaces: 100, Pods: pods, Policies: pods / 25, Apps: 500})
		ctx := context.Background()
		n := 0
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				p.Spec.NodeName = fmt.Sprintf("n%d", 2+n%100)
				if n < 200 {
					p.Spec.NodeName = testNode
				}
				n++
			}
			if _, err := st.Create(ctx, o); err != nil {
				b.Fatal(err)
			}
		}
	}
	load()
	base := benchmem.HeapAfterGC()
	for b.Loop() {
		applied := make(chan *render.Ruleset, 1)
		f := &keptRuleset{applied: applied}
		cfg := testConfig(b)
		cfg.Rules, cfg.NoRegister, cfg.HealthListen = RulesLinear, true, "-"
		cfg.WriteTimeout = 5 * time.Minute
		cfg.Logger = quietLogger()
		a := startAgent(b, cfg, st, f, NewStaticInterfaces(testIfaces()...))
		var rs *render.Ruleset
		select {
		case rs = <-applied:
		case <-time.After(10 * time.Minute):
			b.Fatal("no ruleset written in 10 minutes")
		}
		b.StopTimer()
		held := benchmem.HeapAfterGC()
		b.ReportMetric(float64(held-min(held, base))/1e6, "held-MB")
		benchmem.WriteHeapProfile(b)
		st := rs.Stats()
		b.ReportMetric(float64(st.Rules), "rules")
		b.ReportMetric(float64(st.SetElements), "set-elements")
		runtime.KeepAlive(a)
		b.StartTimer()
	}
}

// keptRuleset is an applier that keeps the last ruleset, as the netlink
// applier does (to diff the next against), and nothing else: nft.Fake
// keeps its text, which would count here.
type keptRuleset struct {
	last    *render.Ruleset
	applied chan *render.Ruleset
}

func (k *keptRuleset) Apply(_ context.Context, rs *render.Ruleset) error {
	k.last = rs
	select {
	case k.applied <- rs:
	default:
	}
	return nil
}

func (k *keptRuleset) Delete(context.Context) error { k.last = nil; return nil }

// Fingerprint stands for nft.Kernel's digest of the table (the agent
// compares it to tell drift), without printing the table.
func (k *keptRuleset) Fingerprint(context.Context) (string, error) {
	if k.last == nil {
		return "", nft.ErrNoTable
	}
	return fmt.Sprintf("%p", k.last), nil
}

func (k *keptRuleset) Show(context.Context) (string, error) {
	if k.last == nil {
		return "", nft.ErrNoTable
	}
	return k.last.Text(), nil
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
