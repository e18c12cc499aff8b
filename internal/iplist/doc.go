// Package iplist owns the compact, immutable lists of address prefixes
// that selector sets hold: a selector's members in the engine, shared by
// the rendered set that the kernel is given.
//
// A cluster's selector sets hold millions of addresses, nearly all single
// IPv4 addresses. As netip.Prefix each takes 32 bytes and holds a pointer
// the garbage collector must follow; here an IPv4 address takes 4 bytes,
// an IPv6 address 16, and a prefix length one more byte only when some
// entry of the list is not a single address. The storage holds no
// pointers, so the collector never scans it.
package iplist
