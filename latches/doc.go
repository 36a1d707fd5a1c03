// Package latches owns local latches for optimistic transactions inside one
// process: transactions that write the same keys queue behind each other before
// they reach TiKV, and a transaction learns locally that it is stale when a
// conflicting one committed after its start timestamp.
//
// It does not talk to TiKV or PD and does not run two-phase commit; txnkv uses
// it before starting a commit. It depends on nothing but the standard library.
package latches
