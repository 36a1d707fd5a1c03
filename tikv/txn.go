package tikv

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv"
)

// The transactional API, re-exported from package txnkv so a user of the
// facade needs one import. These are aliases and the very same values.

// TxnClient is the transactional client Client.Txn returns (txnkv.Client).
type TxnClient = txnkv.Client

// Txn is one transaction (txnkv.Txn).
type Txn = txnkv.Txn

// Snapshot reads at one timestamp (txnkv.Snapshot).
type Snapshot = txnkv.Snapshot

// TxnOption configures a transaction or snapshot (txnkv.TxnOption).
type TxnOption = txnkv.TxnOption

// ReadOption tunes one transactional read (txnkv.ReadOption).
type ReadOption = txnkv.ReadOption

// LockOptions says how Txn.LockKeys waits and what it returns
// (txnkv.LockOptions).
type LockOptions = txnkv.LockOptions

// LockResult is what Txn.LockKeys learned about one key (txnkv.LockResult).
type LockResult = txnkv.LockResult

// TxnKV is a pair a transactional iteration returned (txnkv.KV).
type TxnKV = txnkv.KV

// CommitInfo is what a commit hook learns (txnkv.CommitInfo).
type CommitInfo = txnkv.CommitInfo

// IsolationLevel is how a snapshot treats locks (txnkv.IsolationLevel).
type IsolationLevel = txnkv.IsolationLevel

// Isolation levels.
const (
	// SI is snapshot isolation, the default.
	SI = txnkv.SI
	// RC is read committed: locks are ignored.
	RC = txnkv.RC
)

// NoWait, as LockOptions.WaitTimeout, fails at once on a held lock.
const NoWait = txnkv.NoWait

// WithStartTS begins at an explicit ts (txnkv.WithStartTS).
func WithStartTS(ts Timestamp) TxnOption { return txnkv.WithStartTS(ts) }

// WithPessimistic makes a transaction pessimistic (txnkv.WithPessimistic).
func WithPessimistic() TxnOption { return txnkv.WithPessimistic() }

// WithStaleness begins a read-only stale-read transaction d in the past
// (txnkv.WithStaleness).
func WithStaleness(d time.Duration) TxnOption { return txnkv.WithStaleness(d) }

// WithStaleRead reads as stale reads at the start ts (txnkv.WithStaleRead).
func WithStaleRead() TxnOption { return txnkv.WithStaleRead() }

// WithAsyncCommit commits with async commit when eligible
// (txnkv.WithAsyncCommit).
func WithAsyncCommit() TxnOption { return txnkv.WithAsyncCommit() }

// With1PC commits in one phase when the transaction fits one request
// (txnkv.With1PC).
func With1PC() TxnOption { return txnkv.With1PC() }

// WithIsolation sets the isolation level of reads (txnkv.WithIsolation).
func WithIsolation(l IsolationLevel) TxnOption { return txnkv.WithIsolation(l) }

// WithCommitHook calls fn when a commit ends (txnkv.WithCommitHook).
func WithCommitHook(fn func(CommitInfo)) TxnOption { return txnkv.WithCommitHook(fn) }

// PipelinedOption tunes pipelined DML (txnkv.PipelinedOption).
type PipelinedOption = txnkv.PipelinedOption

// PipelinedEvent is what a pipelined-DML hook learns
// (txnkv.PipelinedEvent).
type PipelinedEvent = txnkv.PipelinedEvent

// PipelinedStats describes a pipelined transaction's flushing
// (txnkv.PipelinedStats).
type PipelinedStats = txnkv.PipelinedStats

// WithPipelinedDML makes a transaction flush its writes to TiKV as its
// buffer grows, for transactions too large to buffer whole; its commit
// commits the primary and resolves the rest in the background
// (txnkv.WithPipelinedDML, which documents what changes).
//
// # Experimental
//
// The flushing policy and its options may change.
func WithPipelinedDML(opts ...PipelinedOption) TxnOption { return txnkv.WithPipelinedDML(opts...) }

// PipelinedFlushSize sets the buffer size that triggers a flush
// (txnkv.PipelinedFlushSize).
func PipelinedFlushSize(bytes int) PipelinedOption { return txnkv.PipelinedFlushSize(bytes) }

// PipelinedThrottleSize sets the buffer size at which writers wait for a
// running flush (txnkv.PipelinedThrottleSize).
func PipelinedThrottleSize(bytes int) PipelinedOption { return txnkv.PipelinedThrottleSize(bytes) }

// PipelinedMaxWriteStall bounds how long one write may wait for a running
// flush; a write that waited that long returns a WriteStallError
// (txnkv.PipelinedMaxWriteStall).
func PipelinedMaxWriteStall(d time.Duration) PipelinedOption {
	return txnkv.PipelinedMaxWriteStall(d)
}

// PipelinedMaxFlushing sets how many flushes may run at once
// (txnkv.PipelinedMaxFlushing).
func PipelinedMaxFlushing(n int) PipelinedOption { return txnkv.PipelinedMaxFlushing(n) }

// PipelinedFlushConcurrency caps the KvFlush RPCs of one flush
// (txnkv.PipelinedFlushConcurrency).
func PipelinedFlushConcurrency(n int) PipelinedOption { return txnkv.PipelinedFlushConcurrency(n) }

// PipelinedResolveConcurrency caps the regions resolved at once after the
// commit or by a rollback (txnkv.PipelinedResolveConcurrency).
func PipelinedResolveConcurrency(n int) PipelinedOption {
	return txnkv.PipelinedResolveConcurrency(n)
}

// PipelinedMaxTxnTTL sets how long the primary's heartbeat keeps a
// pipelined transaction alive at most (txnkv.PipelinedMaxTxnTTL).
func PipelinedMaxTxnTTL(d time.Duration) PipelinedOption { return txnkv.PipelinedMaxTxnTTL(d) }

// PipelinedHook observes flushes and throttle waits
// (txnkv.PipelinedHook).
func PipelinedHook(fn func(PipelinedEvent)) PipelinedOption { return txnkv.PipelinedHook(fn) }

// Txn returns the transactional client, building it over the Client's
// shared stack on first use (it starts the TSO client; ctx bounds only
// that). It is closed by Client.Close; do not close it yourself. Under API
// V2 it works in the Client's keyspace (the one WithKeyspace named, loaded
// once by New): keys get the keyspace prefix on the way out and lose it on
// the way back.
func (c *Client) Txn(ctx context.Context) (*TxnClient, error) {
	t, err := c.TSO(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClientClosed
	}
	if c.txn == nil {
		opts := append([]txnkv.Option{txnkv.WithLogger(c.cfg.logger)}, c.cfg.txnOpts...)
		if c.cfg.apiVersion == V2 {
			// Last, so a WithKeyspace among the caller's options cannot
			// point the transactional client at another keyspace.
			opts = append(opts, txnkv.WithKeyspaceID(c.raw.KeyspaceID()))
		}
		txn, err := txnkv.NewWithCluster(txnkv.Cluster{GC: c.pd, Cache: c.cache, RPC: c.rpc, TSO: t}, opts...)
		if err != nil {
			return nil, fmt.Errorf("tikv: transactional client: %w", err)
		}
		c.txn = txn
	}
	return c.txn, nil
}

// WithTxnOptions passes options to the transactional client Client.Txn
// builds (txnkv.Option: local latches, client-wide transaction defaults,
// committer options, ...).
func WithTxnOptions(opts ...txnkv.Option) Option {
	return optionFunc(func(c *config) { c.txnOpts = append(c.txnOpts, opts...) })
}

// Transactional errors, re-exported from txnkv (which re-exports twopc's):
// aliases of the same values and types. docs/errors.md says which are
// retryable; IsRetryable answers for a given error.
var (
	// ErrWriteConflict: another transaction wrote a key first; retryable
	// as a new transaction.
	ErrWriteConflict = txnkv.ErrWriteConflict
	// ErrKeyExists: an Insert found the key present.
	ErrKeyExists = txnkv.ErrKeyExists
	// ErrDeadlock: this transaction was a deadlock's victim; retryable as
	// a new transaction.
	ErrDeadlock = txnkv.ErrDeadlock
	// ErrLockWaitTimeout: a pessimistic lock was not acquired in time.
	ErrLockWaitTimeout = txnkv.ErrLockWaitTimeout
	// ErrTxnTooLarge: the transaction is over a size limit.
	ErrTxnTooLarge = txnkv.ErrTxnTooLarge
	// ErrEntryTooLarge: one key and value are over the entry limit.
	ErrEntryTooLarge = txnkv.ErrEntryTooLarge
	// ErrGCTooEarly: the read ts is below the GC safe point.
	ErrGCTooEarly = txnkv.ErrGCTooEarly
	// ErrAssertionFailed: a per-key existence assertion did not hold.
	ErrAssertionFailed = txnkv.ErrAssertionFailed
	// ErrLockNotFound: the transaction's lock expired before its commit;
	// retryable.
	ErrLockNotFound = txnkv.ErrLockNotFound
	// ErrCommitTSExpired: the commit ts stayed below a lock's min commit
	// ts; retryable.
	ErrCommitTSExpired = txnkv.ErrCommitTSExpired
	// ErrTxnNotFound: a lock's transaction left no trace on its primary.
	ErrTxnNotFound = txnkv.ErrTxnNotFound
	// ErrTxnAborted: TiKV refused a transactional command.
	ErrTxnAborted = txnkv.ErrTxnAborted
	// ErrNotFound: a transactional Get found no value.
	ErrNotFound = txnkv.ErrNotFound
	// ErrTxnDone: the transaction was already committed or rolled back.
	ErrTxnDone = txnkv.ErrTxnDone
	// ErrNotPessimistic: LockKeys on an optimistic transaction.
	ErrNotPessimistic = txnkv.ErrNotPessimistic
	// ErrReadOnly: a write to a stale-read transaction.
	ErrReadOnly = txnkv.ErrReadOnly
	// ErrPipelinedUnsupported: a pipelined transaction cannot do that
	// (iterate its own writes, write an empty value).
	ErrPipelinedUnsupported = txnkv.ErrPipelinedUnsupported
	// ErrWriteStalled: a pipelined write waited PipelinedMaxWriteStall
	// for a flush; the write is not made.
	ErrWriteStalled = txnkv.ErrWriteStalled
)

// Typed transactional errors (aliases of twopc's and txnkv's).
type (
	// WriteConflictError names the key and the conflicting transaction.
	WriteConflictError = txnkv.WriteConflictError
	// KeyExistsError names the key an Insert found.
	KeyExistsError = txnkv.KeyExistsError
	// DeadlockError carries the deadlock's wait chain.
	DeadlockError = txnkv.DeadlockError
	// LockWaitTimeoutError names the lock waited for.
	LockWaitTimeoutError = txnkv.LockWaitTimeoutError
	// KeyIsLockedError reports a held lock met by a NoWait request.
	KeyIsLockedError = txnkv.KeyIsLockedError
	// TxnTooLargeError reports the limit a transaction went over.
	TxnTooLargeError = txnkv.TxnTooLargeError
	// EntryTooLargeError reports an entry over the entry limit.
	EntryTooLargeError = txnkv.EntryTooLargeError
	// AssertionFailedError names the key whose assertion failed.
	AssertionFailedError = txnkv.AssertionFailedError
	// WriteStallError reports a pipelined write that waited too long
	// for a flush.
	WriteStallError = txnkv.WriteStallError
	// GCTooEarlyError names the read ts and the safe point.
	GCTooEarlyError = txnkv.GCTooEarlyError
	// TxnUndeterminedError is a commit whose outcome is unknown
	// (twopc.UndeterminedError); it matches ErrUndetermined like the raw
	// client's UndeterminedError.
	TxnUndeterminedError = twopc.UndeterminedError
)

// TxnKeyOnly makes a transactional iteration return keys with nil values
// (txnkv.KeyOnly).
func TxnKeyOnly() ReadOption { return txnkv.KeyOnly() }

// WithBoundedStaleness begins a read-only stale-read transaction at the
// newest ts every store can serve locally, at most d in the past
// (txnkv.WithBoundedStaleness).
func WithBoundedStaleness(d time.Duration) TxnOption { return txnkv.WithBoundedStaleness(d) }
