// Package mvcc is the storage engine of tikvsim: one in-memory Percolator/MVCC
// store shared by every simulated TiKV store of a cluster, plus the RawKV
// column families.
//
// The cluster layer performs Context and region checks, then calls the Engine
// method named after the RPC with the request as the client sent it (scan
// ranges clamped to the region). The engine fills in every response field
// except RegionError:
//
//	e := mvcc.New(mvcc.Options{})
//	defer e.Close()
//	resp := e.KvGet(ctx, &kvrpcpb.GetRequest{Key: k, Version: ts})
//
// # Model
//
// Transactional data follows TiKV's three column families: one lock per key,
// write records (Put, Delete, Lock, Rollback) ordered by commit ts, and long
// values (more than 255 bytes) kept apart at key@start_ts as TiKV's default
// CF does. Rollback records are protected or not, collapse and overlap as
// TiKV master does. Keys are opaque bytes: the raw key order equals TiKV's
// memcomparable order, so no encoding is stored.
//
// RawKV keeps one value per key and column family with an optional expiry
// (unix seconds, checked against [Options.Now]). API V2 raw MVCC versions are
// not modelled: a read always sees the newest value, which is what a client
// observes.
//
// Values and keys in responses may share memory with the engine; callers
// treat them as read-only (gRPC marshalling only reads them).
//
// Hooks for the cluster layer: [Engine.MaxTS] and [Engine.UpdateMaxTS] expose
// the concurrency manager's max_ts (async commit and 1PC derive commit
// timestamps from it); [Engine.GC] applies TiKV's compaction-filter GC when
// PD's GC safe point advances. [Engine.KvGC] only reports
// [KvGCUnimplemented]: TiKV master answers KvGC with gRPC UNIMPLEMENTED,
// which the cluster layer returns itself.
//
// Lock waiting follows kvproto: wait_timeout < 0 never waits, 0 waits for
// the server default of 1 s, and positive values are capped at 1 s.
//
// Simplifications that change timing, not outcomes: waiters of a released
// lock are all woken at once (TiKV wakes the first and delays the others by
// 20 ms); deadlock key hashes use FNV-1a instead of farmhash. KvResolveLock
// and KVPessimisticRollback without keys act on the whole engine; their
// ...InRange variants take the region's bounds.
//
// # Concurrency and errors
//
// An [Engine] is safe for concurrent use. Transactional commands run under one
// read/write mutex, so every command is atomic; raw commands use a second one.
// KvPessimisticLock blocks on a per-key wait queue (no polling) until the lock
// is released, its wait timeout expires, the request's ctx is done or the
// engine is closed ([ErrClosed]). No handler panics on any input: malformed requests get
// KeyError.abort or the response's error string, as TiKV answers them.
package mvcc
