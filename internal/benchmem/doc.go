// Package benchmem holds what palisade's scale benchmarks share to report
// memory: the heap after garbage collection, the heap profile a run may be
// asked to write (PALISADE_HEAP_PROFILE), and sizes read from the
// environment. It is for benchmarks only.
package benchmem
