// Package nft applies palisade's rendered ruleset to the kernel and reads it
// back. It is the only package that writes to netfilter.
//
// # Contract
//
// An Applier owns exactly one table, "inet palisade" (render.TableName), in
// one network namespace:
//
//   - Apply makes the table equal to the ruleset in ONE atomic transaction.
//     Either the new ruleset is in force or, when the transaction fails, the
//     previous one stays exactly as it was; packets never see a half-applied
//     ruleset and there is no moment without protection. The objects a
//     change adds (sets, maps, counters, chains) go in a transaction of their
//     own just before it, where nothing refers to them yet, and what it
//     removes goes in one of its own after an RCU grace period (grace.go):
//     the kernel publishes an interval set's elements after the commit's
//     rules go live, and deleting a map hides its elements from a packet
//     still walking the old rules (render names sets by content, so a
//     changed one is new; differ.prepare, differ.commit). After a first
//     whole-table write the Kernel applier sends only the difference from the
//     ruleset it applied last (diff.go: elements added and deleted, changed
//     chains flushed and refilled), writes nothing when nothing differs, and
//     replaces the whole table when the difference cannot be made in place or
//     the kernel refuses it. Forget makes the next Apply a whole replace. A
//     whole replace keeps the table and its base chains when it can
//     (replace.go): their hooks stay registered throughout.
//   - Delete removes palisade's table and nothing else (not other tables, not
//     conntrack state). Deleting a table that is not there is not an error.
//   - Show returns the table as the kernel holds it, or ErrNoTable (ErrNoNft
//     when the nft binary that prints it is not installed).
//
// # Implementation: nf_tables netlink, no nft binary
//
// Kernel writes and reads its table over a NETLINK_NETFILTER socket opened
// inside the target namespace (Config.NetNS; the socket keeps the namespace
// it was created in, so no process is forked and no `ip netns exec` is
// needed). Every Apply is one batch (nlbatch.go): batch begin, the
// messages, batch end, in one sendmsg; the kernel runs the batch inside
// that call and commits it whole or not at all, and a refused batch is
// reported as a BatchError naming the object it refused ("rule 3 of chain
// X (the rule's text)").
//
//   - nlobjects.go and nlrules.go encode render's typed ruleset: tables,
//     chains with their comments, sets, maps, named counters and the flow log
//     limit, and every rule as nf_tables expressions in the shapes nft 1.0.6
//     compiles the same text to (its implicit family and protocol
//     dependencies, prefix loads, anonymous sets for lists, merged intervals),
//     so `nft list table inet palisade` prints a table written here exactly as
//     one nft loaded from render's text (TestNetlinkEqualsText over random
//     models, TestNetlinkShapes over every shape).
//   - nlmaps.go encodes verdict maps by kind: interface maps (hash), the
//     compiled form's address maps (rbtree: a start element and an end
//     element per range) and identity maps (pipapo: one element from the
//     first to the last key of a box, fields in 4-byte words, the mark
//     big-endian).
//   - diff.go turns the change from the last applied ruleset into phases of
//     messages: flush what changes, declare what is new, change set and map
//     elements as elements deleted and added (elements.go; mapDelta: an
//     address range deleted or added whole, start and end together, since
//     the kernel checks each element against the ranges it holds), refill
//     changed chains, delete what goes. A change that needs more (a new
//     hook, a changed comment) is a whole replace, which keeps the table and
//     its base chains, and the chains and maps that stay (nlapply.go,
//     replace.go).
//   - nlread.go reads the table back with dumps: the named counters
//     (Counters), the objects a whole replace deletes when the last ruleset
//     is unknown, and a Fingerprint of everything but counter values and
//     handles, which the agent compares to notice that someone else changed
//     the table.
//
// The socket stays open for the Kernel's life: closing a netfilter socket
// makes the kernel wait for the memory of replaced objects to be freed (an
// RCU grace period, about 5 ms on a large table), which a socket per
// transaction would pay on every change.
//
// The nft binary is optional. Show (the table as nft lists it), Check (`nft
// -c`) and ApplyText use it, and return ErrNoNft without it; Config.NoNetlink
// makes every write an nft script piped to `nft -f -` (forked from a locked
// OS thread that entered the namespace), the path palisade used before it
// wrote over netlink, kept to compare the two (the B4 benchmarks run both)
// and as a fallback. In that mode nft's located errors are mapped back to
// lines of the ruleset text (ApplyError.Lines).
//
// The change monitor (monitor.go) listens to nf_tables' notifications with
// google/nftables and ignores the batches this Kernel committed: each
// commit records the id of the thread that sent it, which the kernel puts
// in the generation message.
//
// Fake is an in-memory Applier for unit tests of callers (the agent): it
// records every applied ruleset and its text, and can be told to fail.
package nft
