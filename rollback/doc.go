// Package rollback is commit-confirmed for the datastore: a change made
// with `palisade apply --confirm-within D` records, before it is written,
// what each object it touches was (absent or its value) and a deadline;
// `palisade confirm` removes the record; the elected server restores every
// recorded object of a change still unconfirmed at its deadline, so the
// rollback happens even when the client that made the change lost its
// connection (the usual reason for not confirming). Records live in etcd
// under Prefix, outside the resource keys.
package rollback
