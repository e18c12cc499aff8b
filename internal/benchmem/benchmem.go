package benchmem

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
)

// HeapAfterGC returns the bytes of heap in use after two collections (the
// second frees what the first's finalizers released).
func HeapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// WriteHeapProfile writes the heap profile to the file PALISADE_HEAP_PROFILE
// names, if it names one (read it with go tool pprof
// -sample_index=inuse_space).
func WriteHeapProfile(tb testing.TB) {
	path := os.Getenv("PALISADE_HEAP_PROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		tb.Fatal(err)
	}
}

// EnvInt returns the positive integer the environment variable name holds,
// or def.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
