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
//     ruleset and there is no moment without protection. After a first
//     whole-table write the Kernel applier sends only the difference from the
//     ruleset it applied last (diff.go: elements added and deleted, changed
//     chains flushed and refilled), writes nothing when nothing differs, and
//     replaces the whole table when the difference cannot be made in place or
//     the kernel refuses it. Forget makes the next Apply a whole replace. A
//     whole replace keeps the table and its base chains when it can
//     (replace.go): their hooks stay registered throughout.
//   - Delete removes palisade's table and nothing else (not other tables, not
//     conntrack state). Deleting a table that is not there is not an error.
//   - Show returns the table as the kernel holds it, or ErrNoTable.
//
// # Implementation: nft -f - with the rendered text
//
// Kernel pipes one script to `nft -f -`:
//
//	add table inet palisade
//	delete table inet palisade
//	table inet palisade { ... the rendered ruleset ... }
//
// nft submits a whole -f input as one netlink batch, so the delete and the
// new table commit together (the "add" first makes the delete succeed when
// the table does not exist yet; nft 1.0.6 has no "destroy"). We chose the
// nft binary fed with render's own text over building a knftables
// Transaction because:
//
//   - the bytes applied are exactly the text that golden tests, `palisade
//     dataplane show` and reviewers read, with no second printer to keep in
//     step with render's types;
//   - nft's errors name the failing line and column, and Kernel maps them
//     back to the line of the ruleset text (ApplyError), which is the
//     readable-errors reason for using the binary at all;
//   - knftables has no network-namespace option either; both need the nft
//     process to run inside the target namespace, which Kernel does by
//     forking nft from a locked OS thread that entered the namespace
//     (Config.NetNS), so no `ip netns exec` and no agent re-exec is needed.
//
// The incremental transactions are nft scripts too (`flush set` and the
// set re-declared, `flush chain`, `add rule`, `delete chain`), so they read
// like the ruleset and need no second printer, with one exception: a change
// that is set elements and nothing else (the most frequent one) is written
// over netlink with google/nftables, without running nft (elements.go).
// Whole replaces keep the table and its base chains (replace.go).
//
// Fake is an in-memory Applier for unit tests of callers (the agent): it
// records every applied ruleset and its text, and can be told to fail.
package nft
