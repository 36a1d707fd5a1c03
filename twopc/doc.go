// Package twopc owns the Percolator commit protocol and the lock resolver:
// prewrite and commit of a transaction's mutations grouped by region, async
// commit, one-phase commit, pessimistic prewrite and rollback, the TTL
// heartbeat of a primary lock, and the resolution of other transactions'
// locks (CheckTxnStatus, CheckSecondaryLocks, ResolveLock,
// PessimisticRollback).
//
// It does not buffer writes or read snapshots (package txnkv does): a
// caller hands it a set of [Mutations] (a write buffer implements the
// interface over its own storage, so nothing is copied) and a start ts, and
// gets back a commit ts or a typed error. It reaches stores only through
// locate's routing helpers (Router.SendKey, GroupByRegion, SendBatches) and
// timestamps only through the [TimestampSource] it declares (*tso.Client
// satisfies it). Keys are wire keys; the codec ([WithCodec]) gives request
// contexts their API version and keyspace.
//
// # Usage
//
//	c, err := twopc.New(locate.NewSender(cache, rpc), tsoClient) // twopc.WithCodec for API V2
//	defer c.Close()
//	start, _ := tsoClient.GetTS(ctx)
//	res, err := c.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: k, Value: v}}, start,
//		twopc.WithAsyncCommit(), twopc.With1PC())
//	if errors.Is(err, twopc.ErrUndetermined) { ... } // neither committed nor failed
//	fmt.Println(res.CommitTS(), res.Mode())
//
// # The protocol
//
// Commit chooses the primary (the first mutation that writes a lock, or
// [WithPrimary]), groups the keys by region and cuts each region's share
// into requests of at most 16 KiB of keys and values ([WithBatchSize]), and
// prewrites every batch in parallel under a bound ([WithConcurrency]). With
// plain 2PC it then takes a commit ts, commits the primary's batch, and
// commits the other batches in the background; [Result.Wait] waits for
// them. Every lock carries a min commit ts, so a reader may push it instead
// of waiting. A failed commit rolls back its locks in the background
// ([Client.Drain] waits for that).
//
// With [WithAsyncCommit] (at most 256 keys and 4 KiB of keys) the primary's
// lock lists the secondaries and every prewrite carries a min and max
// commit ts; once every prewrite has answered with a min commit ts, the
// transaction is committed at the largest, and all commit RPCs run in the
// background. With [With1PC] a transaction that fits in one request is
// committed by its prewrite. When TiKV declines either (it answers without
// a min commit ts or 1PC commit ts, for example because its max_ts passed
// the max commit ts) the commit falls back to 2PC and [Result.FellBack]
// says so.
//
// A pessimistic transaction ([WithForUpdateTS]) prewrites keys flagged
// [FlagPessimisticLock] with a check that its lock is still there, and
// keys flagged [FlagNeedConstraintCheck] with a uniqueness check;
// [Client.PessimisticLock] (wait or no-wait, return values, existence
// checks, lock-only-if-exists; TiKV detects deadlocks) and
// [Client.PessimisticRollback] take and drop the locks. [Client.KeepAlive] keeps a primary lock alive with TxnHeartBeat
// (Commit does it itself for pessimistic transactions, transactions over 32
// MiB, and with [WithKeepAlive], unless [WithCallerHeartbeat] says the
// caller's heartbeat covers the commit). A heartbeat costs a goroutine only
// once its first beat is due, half a managed TTL after it started.
//
// Shared locks: [LockRequest].Shared takes pessimistic locks in share
// mode and [OpSharedLock] prewrites them; holders share a key, an
// exclusive locker waits for all of them. The primary is always an
// exclusive lock. [WakeUpForceLock] lets TiKV lock a key for a waiter
// after the conflicting commit (fair locking).
//
// # Pipelined DML
//
// [Client.NewPipeline] returns the committer of a transaction too large to
// buffer whole ([Pipeline]): [Pipeline.Flush] writes part of its buffer as
// locks while it runs (KvFlush, each flush a larger generation, grouped by
// region like a prewrite), [Pipeline.BufferBatchGet] reads them back,
// [Pipeline.Commit] commits only the primary and resolves the flushed key
// range region by region in the background, and [Pipeline.Rollback]
// resolves it with commit ts 0. Write conflicts, existing keys and failed
// assertions are returned by the flush that met them.
//
// A pipelined transaction's heartbeat does more than raise the primary's
// TTL: each beat takes a fresh ts from the timestamp source and pushes the
// primary's min commit ts to it (only ever raising it), then broadcasts
// the transaction's status (BroadcastTxnStatus: running, with that min
// commit ts) to every up TiKV store PD lists, at most 10 stores at once,
// each bounded by 5 s. TiKV caches these statuses; its resolved ts (the
// stale-read safe ts) then advances past a running pipelined transaction
// up to its min commit ts instead of stopping at its start ts, and a
// snapshot reader below the min commit ts that meets one of its locks
// learns from the primary that it may ignore the lock, without pushing it.
// The heartbeat stops before Commit takes its commit ts,
// so no beat pushes the primary past it. Commit broadcasts the commit ts
// before it returns (the primary is committed by then); once every flushed
// lock is resolved, by Commit or by Rollback, and a grace period for
// lagging followers has passed ([WithBroadcastGracePeriod]), it broadcasts
// that the transaction completed, committed or rolled back, and the stores
// drop it. Broadcasts are best effort: a failure is logged (at debug level)
// and counted ([Client.BroadcastFailures]), never returned.
//
// # Lock resolution
//
// The [Resolver] (package twopc itself, so the committer and readers share
// routing, lock decoding and errors) answers "resolve these locks or tell
// me how long to back off": [Resolver.ResolveLocks] for writers,
// [Resolver.ResolveLocksForRead] for readers, which also pushes live
// transactions' min commit ts above the reader and reports which
// transactions' locks the retried read may ignore (Context.resolved_locks)
// or read through (Context.committed_locks). A lock's TTL is judged against
// the timestamp source's physical time. Async-commit transactions whose
// primary expired are decided by CheckSecondaryLocks. Small transactions'
// locks are resolved key by key, larger ones region by region; determined
// statuses are cached ([WithResolvedCacheSize]).
//
// # Errors
//
// Every outcome a caller branches on is a typed error matching a sentinel:
//
//   - [*WriteConflictError] ([ErrWriteConflict]; retryable: run the
//     transaction again),
//   - [*KeyExistsError] ([ErrKeyExists]),
//   - [*AssertionFailedError] ([ErrAssertionFailed]),
//   - [*TxnTooLargeError] ([ErrTxnTooLarge]) and [*EntryTooLargeError]
//     ([ErrEntryTooLarge]), checked before anything is sent,
//   - [*LockNotFoundError] ([ErrLockNotFound]; retryable): the lock expired
//     and was rolled back before the commit,
//   - [*CommitTSExpiredError] ([ErrCommitTSExpired]; retryable), after
//     three newer commit timestamps failed too,
//   - [*UndeterminedError] ([ErrUndetermined], which is locate's sentinel;
//     not retryable): the primary's
//     commit (or a 1PC prewrite) may or may not have been applied. Nothing
//     is rolled back; a reader's resolution will find the transaction
//     either fully committed or fully rolled back,
//   - [*DeadlockError] ([ErrDeadlock]; retryable, with the wait chain),
//     [*LockWaitTimeoutError] ([ErrLockWaitTimeout]), [*KeyIsLockedError],
//     [*TxnNotFoundError] ([ErrTxnNotFound]), [*AbortError]
//     ([ErrTxnAborted], TiKV's abort text).
//
// Retryable errors have a Retryable() bool method, so retry.IsRetryable
// reports them. Transport and routing failures come from kvrpc, locate and
// retry, wrapped; bad options wrap retry's ErrInvalidOption. docs/errors.md
// has the whole taxonomy.
//
// # Observing
//
// [WithTracer] installs a pgx-style [Tracer] (CommitStart returns the ctx
// CommitEnd gets); one that also implements [ResolveTracer] sees lock
// resolutions. [WithLogger] receives state transitions only (secondaries
// or a cleanup that failed, a heartbeat that gave up).
//
// # Concurrency
//
// A [Client] and its [Resolver] are safe for concurrent use; a [Mutations]
// must not change while a commit that uses it runs. Background work runs on
// the client's lifetime: Close abandons it (the next reader resolves what
// is left) and waits for its goroutines.
package twopc
