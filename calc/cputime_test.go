package calc

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the process's CPU time (user and system, all threads,
// so garbage collection counts) over the timed parts of a benchmark. On a
// shared machine wall time also counts waiting for a CPU; CPU time does
// not, so the two side by side tell contention from cost.
type cpuClock struct{ start, total time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuClock) Start() { c.start = cpuNow() }
func (c *cpuClock) Stop()  { c.total += cpuNow() - c.start }

// Report adds cpu-ns/op for n operations.
func (c *cpuClock) Report(b *testing.B, n int) {
	if n > 0 {
		b.ReportMetric(float64(c.total.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}
