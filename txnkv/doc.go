// Package txnkv owns the transactional API of TiKV: transactions
// (optimistic and pessimistic), snapshot, stale and follower reads, lock
// resolution as a reader meets locks, local latches and the GC safe point
// as a user sees them. Its write buffer is package txnkv/memdb.
//
// It does not implement the commit protocol or the lock resolver itself
// (package twopc does) and never imports rawkv.
//
// # Usage
//
//	c, err := txnkv.New(ctx, pdAddrs)            // or NewWithCluster over a shared stack
//	defer c.Close()
//	txn, err := c.Begin(ctx)                     // start ts from TSO
//	v, err := txn.Get(ctx, k)                    // buffer, then snapshot; ErrNotFound if absent
//	err = txn.Set(k, v)                          // buffered, no I/O
//	err = txn.Commit(ctx)                        // twopc: 2PC, async commit or 1PC
//	if txnkv.IsRetryable(err) { ... }            // write conflict, deadlock victim: run it again
//
// Options are typed and per transaction ([Client.Begin]) or client-wide
// ([WithDefaults]): [WithStartTS], [WithStaleness], [WithBoundedStaleness],
// [WithPessimistic],
// [WithAsyncCommit], [With1PC], [WithCausalConsistency],
// [WithAssertionLevel], [WithIsolation], [WithReplicaRead],
// [WithMatchLabels], [WithScanBatchSize], [WithCommitHook],
// [WithPipelinedDML]. Nothing is
// process-global; two clients in one process may differ in everything.
//
// # API V2 keyspaces
//
// With [WithKeyspace] (New loads the keyspace by name) or [WithKeyspaceID]
// the client speaks API V2 in one keyspace: every key it sends carries 'x'
// and the 3-byte keyspace id, every request context the API version and
// the keyspace, a range with an empty end stops at the keyspace's end, and
// the keys it returns (iteration pairs, BatchGet's map, the keys typed
// errors name, and their messages) are user keys again. Locks that reads
// meet are resolved on their wire keys. The GC-too-early check reads the
// keyspace's own txn safe point when PD reports keyspace-level GC for it,
// the null keyspace's otherwise. [Client.Committer] works on wire keys.
//
// # Snapshots
//
// A [Snapshot] reads at one timestamp: Get, BatchGet (keys grouped by
// region, regions read in parallel under [WithReadConcurrency]), and Iter
// and IterReverse, Go iterators that read one page ([WithScanBatchSize])
// of one region at a time, so memory stays bounded. Reads meet locks of
// transactions in flight: twopc's resolver commits or rolls back decided
// and expired ones, pushes a live one's min commit ts above the reader, or
// says how long to back off; the transactions found resolved or committed
// are remembered by the snapshot and sent with later reads
// (Context.resolved_locks and committed_locks), so they are not asked
// about again. RC isolation ignores locks. Replica reads pick replicas with
// locate's selector; a stale read ([WithStaleness], or [WithStaleRead] at
// [WithStartTS]) may be answered by any replica whose safe ts covers it,
// and goes to the leader after DataIsNotReady.
//
// A read below the transaction safe point fails with [*GCTooEarlyError]
// instead of returning data GC may have removed. The safe point is read
// from PD's GC state at most once per [WithSafePointTTL].
//
// # Transactions
//
// A [Txn] buffers writes (Set, Delete, Insert, which fails the commit with
// [*KeyExistsError] when the key exists) and reads its own writes first.
// Commit hands the buffer to twopc without copying it. With
// [WithLocalLatches] optimistic commits of one client that write the same
// keys queue in the process, and one made stale by a newer local commit
// fails with a write conflict before anything is sent.
//
// A pessimistic transaction ([WithPessimistic]) locks keys with
// [Txn.LockKeys] at a fresh for-update ts, waiting as [LockOptions] says
// (NoWait, a timeout, or until ctx is done), optionally returning values
// or existence, locking only existing keys, or in the aggressive (fair)
// mode that locks again at a newer for-update ts instead of failing a
// woken waiter with a write conflict. TiKV detects deadlocks: the victim
// gets [*DeadlockError] with the wait chain. A LockKeys that fails rolls
// back the locks it took.
//
// # Pipelined DML
//
// A transaction begun with [WithPipelinedDML] is for writes too large to
// buffer whole: its buffer is frozen and flushed to TiKV in the background
// (twopc's [twopc.Pipeline]: KvFlush, one generation per flush) each time
// it reaches [PipelinedFlushSize], at most [PipelinedMaxFlushing] flushes
// at once; a write that finds every slot busy and the buffer at
// [PipelinedThrottleSize] waits for one to finish, so memory stays
// bounded ([Txn.PipelinedStats] reports the peak). Reads see the buffer,
// the frozen buffers, the flushed writes (KvBufferBatchGet) and then the
// snapshot; iteration is refused ([ErrPipelinedUnsupported]). Commit
// flushes the rest and commits the primary; the other locks are resolved
// in the background. Rollback removes the flushed locks.
//
// # Errors
//
// The errors a caller branches on are typed and match sentinels: twopc's
// (re-exported here: [ErrWriteConflict], [ErrKeyExists], [ErrDeadlock],
// [ErrLockWaitTimeout], [ErrTxnTooLarge], [ErrUndetermined],
// [ErrAssertionFailed], ...) and txnkv's own ([ErrNotFound],
// [ErrGCTooEarly], [ErrTxnDone], [ErrNotPessimistic], [ErrReadOnly],
// [ErrPipelinedUnsupported]).
// [IsRetryable] tells whether running the transaction again may help.
// docs/errors.md has the whole table.
//
// # Concurrency
//
// A [Client] and a [Snapshot] are safe for concurrent use. A [Txn] is
// driven by one goroutine at a time.
package txnkv
