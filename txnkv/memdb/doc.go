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
// [Iterator] (pull: Valid, Key, Value, Deleted, Next, with tombstones on
// request), which is what a merge with snapshot reads consumes; and the
// range-over-func forms [MemDB.All], [MemDB.Backward], [MemDB.Entries] and
// [MemDB.Mutations]. A committer takes [MemDB.MutationSet]: the mutations in
// key order, indexed, pointing into the buffer.
//
// # Memory
//
// Keys go to an entry arena, values to an append-only value log, both in
// chunks that double from 512 bytes to 1 MiB and are addressed by 4-byte
// offsets; a B+tree of those offsets orders the keys and, from 8192 keys
// on, a flat hash table finds them. From then on the table alone says
// whether a key is buffered: a new key is only appended to the entry arena,
// and the keys written since the last ordered read (iterators, All,
// Backward, Entries, Mutations, MutationSet) are sorted (radix sort on
// 8-byte abbreviations) and put into the tree by the next one, which
// rebuilds the tree bottom-up when they are a quarter of the buffer or
// more. A bulk load thus pays a probe of the table per key instead of a
// descent of the tree, and the first ordered read after it pays the sort
// (transiently 32 bytes per sorted key; a rebuild also drops the old
// tree's nodes). With 16-byte values the buffer takes 80-95 bytes per
// entry ([MemDB.Mem] after an ordered read, table and tree included) for
// 19-byte TiDB record keys or 16-byte random keys, at 1k to 1M keys (69-86
// right after the bulk load, before the tree holds the keys); client-go's
// ART takes 123-134 and 126-201 (peer/memdbcmp has the side-by-side
// benchmarks).
//
// # Concurrency
//
// One goroutine writes; while it may write, no other goroutine may use the
// buffer. Concurrent readers are safe only while nobody writes (a read
// changes nothing but the hash index and the tree, which it brings up to
// date under a lock). Transactions in txnkv are single-writer by
// contract, so writes take no lock.
//
// # Errors
//
// Writes fail with [ErrEntryTooLarge] or [ErrTxnTooLarge] (retry's shared
// sentinels, which twopc's committer reports too, wrapped with the sizes)
// and then change nothing; [MemDB.Release] and
// [MemDB.Cleanup] fail with [ErrStagingHandle] on a handle that is not the
// innermost open level; an iterator used after a write reports
// [ErrIteratorInvalidated]. Nothing panics on bad input.
package memdb
