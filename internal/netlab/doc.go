// Package netlab builds small network topologies out of Linux network
// namespaces, for kernel tests and for the lab: namespaces with unique names,
// veth pairs with IPv4 and IPv6 addresses, routes and static neighbours,
// forwarding, functions and commands run inside a namespace, listeners (TCP
// accept-and-reply, UDP echo) and time-bounded probes (TCP connect with a
// one-byte exchange, UDP request and reply, ICMP echo).
//
// Everything a Lab creates is removed by Lab.Close: listeners are closed and
// namespaces deleted (which also deletes their interfaces, routes and
// rulesets). Namespace names carry the creating process's pid, so SweepStale
// can remove what a crashed run left behind without touching anybody else's.
//
// Rules for callers: use addresses from 198.18.0.0/15 and fd00::/8 only, never
// touch the root namespace, and send traffic only between the lab's own
// namespaces. Requires root (CAP_NET_ADMIN and CAP_SYS_ADMIN).
//
// Threads and namespaces: Do runs a function on a locked OS thread switched
// into the namespace and switches back afterwards; if switching back fails the
// thread stays locked so the Go runtime discards it. Sockets created inside Do
// stay in that namespace for their lifetime and may be used from any
// goroutine afterwards, which is how listeners and probes work.
package netlab
