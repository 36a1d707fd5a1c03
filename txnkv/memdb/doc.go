// Package memdb is a transaction's write buffer: an ordered map of keys to
// values or tombstones, with per-key [Flags], nested staging and size
// limits, built to cost little memory per key.
//
// Usage:
//
//	db := memdb.New(memdb.WithTotalSizeLimit(100 << 20))
//	h := db.Staging()              // a statement
//	_ = db.Set(k, v)               // buffered, visible to db.Get
//	_ = db.Delete(k2, memdb.SetPresumeKeyNotExists)
//	_ = db.Cleanup(h)              // the statement failed: undo its writes
//	for m := range db.Mutations(false) { send(m.Op, m.Key, m.Value) }
//
// Reads come in three forms: [MemDB.Get] and [MemDB.Lookup] for one key;
// [Iterator] (pull: Valid, Key, Value, Next), which is what a merge with
// snapshot reads consumes; and the range-over-func forms [MemDB.All],
// [MemDB.Backward], [MemDB.Entries] and [MemDB.Mutations].
//
// # Concurrency
//
// One goroutine writes; while it may write, no other goroutine may use the
// buffer. Concurrent readers are safe only while nobody writes (reads do not
// change the buffer). Transactions in txnkv are single-writer by contract,
// so the buffer carries no lock.
//
// # Errors
//
// Writes fail with [ErrKeyTooLarge], [ErrEntryTooLarge] or [ErrTxnTooLarge]
// (wrapped with the sizes) and then change nothing; [MemDB.Release] and
// [MemDB.Cleanup] fail with [ErrStagingHandle] on a handle that is not the
// innermost open level; an iterator used after a write reports
// [ErrIteratorInvalidated]. Nothing panics on bad input.
package memdb
