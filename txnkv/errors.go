package txnkv

import (
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/twopc"
)

// Sentinels txnkv owns. Test for them with errors.Is.
var (
	// ErrNotFound is returned by Get for a key with no value at the
	// snapshot (never written, deleted, or deleted in the transaction's
	// buffer).
	ErrNotFound = errors.New("txnkv: key not found")
	// ErrGCTooEarly is gc's sentinel (gc.ErrTooEarly, the very same value),
	// matched by [*GCTooEarlyError]: the read ts is below the txn safe
	// point, so the versions it needs may be gone. Not retryable with the
	// same ts; start a newer snapshot.
	ErrGCTooEarly = gc.ErrTooEarly
	// ErrTxnDone is returned by any call on a transaction that has already
	// been committed or rolled back.
	ErrTxnDone = errors.New("txnkv: transaction already committed or rolled back")
	// ErrNotPessimistic is returned by LockKeys on an optimistic
	// transaction.
	ErrNotPessimistic = errors.New("txnkv: transaction is not pessimistic")
	// ErrReadOnly is returned by writes to a read-only transaction (one
	// begun at a stale or explicit past ts with WithStaleRead).
	ErrReadOnly = errors.New("txnkv: transaction is read-only")
	// ErrInvalidRange is retry's shared sentinel, wrapped for a range whose
	// start is after its end, or a reverse iteration without an upper
	// bound.
	ErrInvalidRange = retry.ErrInvalidRange
	// ErrClosed is retry's shared sentinel, returned by calls made after
	// Client.Close.
	ErrClosed = retry.ErrClosed
	// ErrInvalidOption is retry's shared sentinel, wrapped by New for a bad
	// option.
	ErrInvalidOption = retry.ErrInvalidOption
)

// Sentinels of the commit protocol and lock resolution, re-exported from
// package twopc (the very same values). Each is matched by a typed error;
// see docs/errors.md for which are retryable.
var (
	// ErrWriteConflict: run the transaction again (retryable).
	ErrWriteConflict = twopc.ErrWriteConflict
	// ErrKeyExists: an Insert found the key present (not retryable).
	ErrKeyExists = twopc.ErrKeyExists
	// ErrAssertionFailed: a per-key assertion did not hold (not
	// retryable).
	ErrAssertionFailed = twopc.ErrAssertionFailed
	// ErrTxnTooLarge is matched when the write buffer outgrows its limit
	// or the committer's (retry's shared value).
	ErrTxnTooLarge = twopc.ErrTxnTooLarge
	// ErrEntryTooLarge is matched when one entry is over the buffer's or
	// the committer's limit (retry's shared value).
	ErrEntryTooLarge = twopc.ErrEntryTooLarge
	// ErrLockNotFound: the transaction's lock expired and was rolled back
	// before its commit (retryable).
	ErrLockNotFound = twopc.ErrLockNotFound
	// ErrCommitTSExpired: the commit ts stayed below a lock's min commit ts
	// (retryable).
	ErrCommitTSExpired = twopc.ErrCommitTSExpired
	// ErrUndetermined: the commit may or may not have been applied; read
	// back to learn which (never retried automatically).
	ErrUndetermined = twopc.ErrUndetermined
	// ErrDeadlock: TiKV chose this transaction as a deadlock's victim
	// (retryable as a new transaction).
	ErrDeadlock = twopc.ErrDeadlock
	// ErrLockWaitTimeout: a pessimistic lock was not acquired in time.
	ErrLockWaitTimeout = twopc.ErrLockWaitTimeout
	// ErrTxnNotFound: a lock's transaction left no trace on its primary.
	ErrTxnNotFound = twopc.ErrTxnNotFound
	// ErrTxnAborted: TiKV refused a command, with its own text.
	ErrTxnAborted = twopc.ErrTxnAborted
)

// Typed errors of the commit protocol, aliases of twopc's.
type (
	// WriteConflictError is twopc.WriteConflictError.
	WriteConflictError = twopc.WriteConflictError
	// KeyExistsError is twopc.KeyExistsError.
	KeyExistsError = twopc.KeyExistsError
	// AssertionFailedError is twopc.AssertionFailedError.
	AssertionFailedError = twopc.AssertionFailedError
	// TxnTooLargeError is twopc.TxnTooLargeError.
	TxnTooLargeError = twopc.TxnTooLargeError
	// EntryTooLargeError is twopc.EntryTooLargeError.
	EntryTooLargeError = twopc.EntryTooLargeError
	// UndeterminedError is twopc.UndeterminedError.
	UndeterminedError = twopc.UndeterminedError
	// DeadlockError is twopc.DeadlockError (with the wait chain).
	DeadlockError = twopc.DeadlockError
	// LockWaitTimeoutError is twopc.LockWaitTimeoutError.
	LockWaitTimeoutError = twopc.LockWaitTimeoutError
	// KeyIsLockedError is twopc.KeyIsLockedError (a no-wait lock request
	// met a live lock).
	KeyIsLockedError = twopc.KeyIsLockedError
	// WaitFor is one edge of a deadlock's wait chain (twopc.WaitFor).
	WaitFor = twopc.WaitFor
)

// GCTooEarlyError reports a read at StartTS below the txn safe point
// SafePoint; it is gc.TooEarlyError (an alias), matches ErrGCTooEarly and
// is not retryable.
type GCTooEarlyError = gc.TooEarlyError

// IsRetryable reports whether running the transaction again (with a new
// start ts) may succeed: write conflicts, deadlock victims, expired locks
// and commit ts that fell behind say yes; undetermined commits, key exists
// and assertion failures say no. It is retry.IsRetryable.
func IsRetryable(err error) bool { return retry.IsRetryable(err) }

// bufferError prefixes the write buffer's errors. Its size errors are
// retry's shared sentinels, the very values twopc (and so txnkv) exports as
// ErrTxnTooLarge and ErrEntryTooLarge, so one errors.Is test covers both
// places a size limit is noticed.
func bufferError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("txnkv: %w", err)
}
