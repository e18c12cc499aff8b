// Package gen generates synthetic clusters (namespaces, pods and policies)
// from a seed, for benchmarks and property tests. The same seed always gives
// the same objects. It does no I/O.
package gen
