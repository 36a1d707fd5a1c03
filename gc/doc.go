// Package gc runs garbage collection rounds and range deletes against a
// TiKV cluster, and keeps the cached transaction safe point that snapshot
// reads check.
//
// A GC round ([Client.Run]) follows PD's GC-state model: it advances the
// txn safe point toward a target (GC barriers may hold it back), resolves
// every lock at or below the resulting txn safe point in every region, and
// only then advances the GC safe point to it, after which TiKV may drop
// versions below it. A long reader protects its snapshot with
// [Client.SetBarrier] and removes the barrier when done.
//
//	g, err := gc.New(pd, sender, rpc, committer.Resolver())
//	res, err := g.Run(ctx, target, gc.WithProgress(func(p gc.Progress) { ... }))
//	err = g.CheckReadTS(ctx, startTS) // *TooEarlyError below the txn safe point
//
// The cached txn safe point is a [SafePointCache]; txnkv's reads check the
// same type, and the tikv facade gives its GC client the transactional
// client's cache, so there is one cache per facade client.
//
// With an API V2 codec ([WithCodec]) a client is scoped to one keyspace:
// its ranges stay inside the keyspace and its GC state is the keyspace's.
// Rounds then need a keyspace with keyspace-level GC; in a keyspace under
// unified GC, Run fails with [ErrUnifiedGC] rather than advance the whole
// cluster's safe points after looking at one keyspace's locks.
//
// Range work ([Client.Run]'s lock phase and [Client.DeleteRange]) goes
// through a [RangeTask]: the key range is cut at region boundaries and the
// pieces are handled by a bounded number of workers; each piece walks its
// regions again through the router, so a split or a leader change while the
// task runs only costs a re-locate.
//
// A Client is safe for concurrent use and starts no goroutines that outlive
// a call. Errors wrap their cause with %w; a read below the txn safe point
// fails with [*TooEarlyError], which matches [ErrTooEarly].
package gc
