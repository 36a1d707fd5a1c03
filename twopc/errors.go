package twopc

import (
	"errors"
	"fmt"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

// Sentinels for the outcomes a caller branches on. Each typed error below
// matches its sentinel with errors.Is, so callers may test either.
var (
	// ErrWriteConflict: another transaction wrote a key after this one's
	// start (or for-update) ts. Retry the whole transaction.
	ErrWriteConflict = errors.New("twopc: write conflict")
	// ErrKeyExists: an insert or check-not-exists found the key present.
	ErrKeyExists = errors.New("twopc: key already exists")
	// ErrAssertionFailed: a per-key existence assertion did not hold.
	ErrAssertionFailed = errors.New("twopc: assertion failed")
	// ErrTxnTooLarge: the transaction exceeds the size or key-count limit
	// (retry's sentinel, shared with the write buffer).
	ErrTxnTooLarge = retry.ErrTxnTooLarge
	// ErrEntryTooLarge: one key or value exceeds its size limit (retry's
	// sentinel, shared with the write buffer).
	ErrEntryTooLarge = retry.ErrEntryTooLarge
	// ErrLockNotFound: a commit found neither this transaction's lock nor its
	// commit record: the lock expired and another transaction rolled it back.
	ErrLockNotFound = errors.New("twopc: transaction lock not found")
	// ErrCommitTSExpired: the commit ts was below a lock's min commit ts and
	// retries with newer timestamps did not catch up.
	ErrCommitTSExpired = errors.New("twopc: commit ts expired")
	// ErrUndetermined: the commit of the primary key (or a 1PC prewrite)
	// may or may not have been applied. The transaction is neither
	// committed nor rolled back as far as the caller knows; never retry it
	// blindly. It is locate's sentinel for a write of unknown outcome.
	ErrUndetermined = locate.ErrUndetermined
	// ErrDeadlock: TiKV's deadlock detector chose this transaction.
	ErrDeadlock = errors.New("twopc: deadlock")
	// ErrTxnAborted: TiKV refused a command for a reason without a typed
	// field (the KeyError's abort text), for example a pessimistic lock
	// that is no longer there.
	ErrTxnAborted = errors.New("twopc: transaction aborted by tikv")
	// ErrLockWaitTimeout: a pessimistic lock request waited for another
	// transaction's lock longer than its wait timeout.
	ErrLockWaitTimeout = errors.New("twopc: lock wait timeout")
	// ErrTxnNotFound: CheckTxnStatus found no trace of the transaction on
	// its primary and was asked not to roll it back.
	ErrTxnNotFound = errors.New("twopc: transaction not found")
	// ErrInvalidOption is wrapped by errors about bad options or arguments
	// (retry's shared sentinel).
	ErrInvalidOption = retry.ErrInvalidOption
	// ErrClosed is wrapped by the error of background work refused after
	// Close (retry's shared sentinel).
	ErrClosed = retry.ErrClosed
)

// WriteConflictError reports a write conflict on Key: the transaction
// StartTS met a write of transaction ConflictStartTS committed at
// ConflictCommitTS (0 when the conflicting transaction's lock was released
// without a commit ts being known).
type WriteConflictError struct {
	StartTS          tso.Timestamp
	ConflictStartTS  tso.Timestamp
	ConflictCommitTS tso.Timestamp
	Key              []byte
	Primary          []byte
	// Reason is TiKV's classification (optimistic, pessimistic retry,
	// self rolled back, lazy uniqueness check, ...).
	Reason kvrpcpb.WriteConflict_Reason
}

// Error implements error.
func (e *WriteConflictError) Error() string {
	return fmt.Sprintf("twopc: write conflict on key %q: txn %d met txn %d committed at %d (%s)",
		e.Key, e.StartTS, e.ConflictStartTS, e.ConflictCommitTS, e.Reason)
}

// Is matches [ErrWriteConflict].
func (e *WriteConflictError) Is(target error) bool { return target == ErrWriteConflict }

// Retryable reports true: running the transaction again at a newer ts may
// succeed.
func (e *WriteConflictError) Retryable() bool { return true }

// KeyExistsError reports that Key already exists.
type KeyExistsError struct {
	Key []byte
}

// Error implements error.
func (e *KeyExistsError) Error() string { return fmt.Sprintf("twopc: key %q already exists", e.Key) }

// Is matches [ErrKeyExists].
func (e *KeyExistsError) Is(target error) bool { return target == ErrKeyExists }

// AssertionFailedError reports a failed assertion on Key: the newest version
// found was written by ExistingStartTS and committed at ExistingCommitTS
// (both zero when the key has no version).
type AssertionFailedError struct {
	StartTS          tso.Timestamp
	Key              []byte
	Assertion        Assertion
	ExistingStartTS  tso.Timestamp
	ExistingCommitTS tso.Timestamp
}

// Error implements error.
func (e *AssertionFailedError) Error() string {
	return fmt.Sprintf("twopc: assertion %s failed on key %q (txn %d; existing version %d committed at %d)",
		e.Assertion, e.Key, e.StartTS, e.ExistingStartTS, e.ExistingCommitTS)
}

// Is matches [ErrAssertionFailed].
func (e *AssertionFailedError) Is(target error) bool { return target == ErrAssertionFailed }

// TxnTooLargeError reports a transaction over a limit.
type TxnTooLargeError struct {
	Keys, Size       int
	MaxKeys, MaxSize int
}

// Error implements error.
func (e *TxnTooLargeError) Error() string {
	return fmt.Sprintf("twopc: transaction too large: %d keys, %d bytes (limits %d keys, %d bytes)", e.Keys, e.Size, e.MaxKeys, e.MaxSize)
}

// Is matches [ErrTxnTooLarge].
func (e *TxnTooLargeError) Is(target error) bool { return target == ErrTxnTooLarge }

// EntryTooLargeError reports a key or key+value over the entry limit.
type EntryTooLargeError struct {
	Key   []byte
	Size  int
	Limit int
}

// Error implements error.
func (e *EntryTooLargeError) Error() string {
	return fmt.Sprintf("twopc: entry for key %.32q too large: %d bytes, limit %d", e.Key, e.Size, e.Limit)
}

// Is matches [ErrEntryTooLarge].
func (e *EntryTooLargeError) Is(target error) bool { return target == ErrEntryTooLarge }

// LockNotFoundError reports that committing Key found no lock of
// transaction StartTS: it was rolled back (typically after its TTL expired).
type LockNotFoundError struct {
	StartTS tso.Timestamp
	Key     []byte
}

// Error implements error.
func (e *LockNotFoundError) Error() string {
	return fmt.Sprintf("twopc: lock of txn %d on key %q not found (ttl expired and rolled back)", e.StartTS, e.Key)
}

// Is matches [ErrLockNotFound].
func (e *LockNotFoundError) Is(target error) bool { return target == ErrLockNotFound }

// Retryable reports true: the transaction is rolled back and may be run
// again.
func (e *LockNotFoundError) Retryable() bool { return true }

// CommitTSExpiredError reports a commit ts below a lock's min commit ts.
type CommitTSExpiredError struct {
	StartTS     tso.Timestamp
	AttemptedTS tso.Timestamp
	MinCommitTS tso.Timestamp
	Key         []byte
}

// Error implements error.
func (e *CommitTSExpiredError) Error() string {
	return fmt.Sprintf("twopc: commit ts %d of txn %d expired on key %q (min commit ts %d)", e.AttemptedTS, e.StartTS, e.Key, e.MinCommitTS)
}

// Is matches [ErrCommitTSExpired].
func (e *CommitTSExpiredError) Is(target error) bool { return target == ErrCommitTSExpired }

// Retryable reports true: a newer commit ts may succeed.
func (e *CommitTSExpiredError) Retryable() bool { return true }

// UndeterminedError reports that the commit of transaction StartTS's
// primary key at CommitTS may or may not have been applied; Err is the
// transport failure that hid the answer. Resolving the primary's status
// (for example with [Resolver.TxnStatus]) tells which.
type UndeterminedError struct {
	StartTS  tso.Timestamp
	CommitTS tso.Timestamp
	Primary  []byte
	Err      error
}

// Error implements error.
func (e *UndeterminedError) Error() string {
	return fmt.Sprintf("twopc: commit of txn %d at %d undetermined: %v", e.StartTS, e.CommitTS, e.Err)
}

// Is matches [ErrUndetermined].
func (e *UndeterminedError) Is(target error) bool { return target == ErrUndetermined }

// Unwrap returns the transport failure.
func (e *UndeterminedError) Unwrap() error { return e.Err }

// Retryable reports false: the transaction may have committed.
func (e *UndeterminedError) Retryable() bool { return false }

// DeadlockError reports that TiKV found this transaction in a deadlock
// while waiting for LockKey held by LockTS.
type DeadlockError struct {
	StartTS tso.Timestamp
	LockTS  tso.Timestamp
	LockKey []byte
	// KeyHash is TiKV's hash of the key this transaction waited for.
	KeyHash uint64
	// WaitChain lists the waits that form the cycle.
	WaitChain []WaitFor
}

// WaitFor is one edge of a deadlock's wait chain.
type WaitFor struct {
	TxnTS, WaitForTxnTS tso.Timestamp
	Key                 []byte
}

// Error implements error.
func (e *DeadlockError) Error() string {
	return fmt.Sprintf("twopc: deadlock: txn %d waits for key %q locked by txn %d", e.StartTS, e.LockKey, e.LockTS)
}

// Is matches [ErrDeadlock].
func (e *DeadlockError) Is(target error) bool { return target == ErrDeadlock }

// Retryable reports true: the transaction was chosen as the victim and may
// be run again.
func (e *DeadlockError) Retryable() bool { return true }

// AbortError carries TiKV's abort text for a command it refused.
type AbortError struct {
	Msg string
}

// Error implements error.
func (e *AbortError) Error() string { return "twopc: aborted by tikv: " + e.Msg }

// Is matches [ErrTxnAborted].
func (e *AbortError) Is(target error) bool { return target == ErrTxnAborted }

// TxnNotFoundError reports that the transaction StartTS left no trace on
// Primary.
type TxnNotFoundError struct {
	StartTS tso.Timestamp
	Primary []byte
}

// Error implements error.
func (e *TxnNotFoundError) Error() string {
	return fmt.Sprintf("twopc: txn %d not found on primary %q", e.StartTS, e.Primary)
}

// Is matches [ErrTxnNotFound].
func (e *TxnNotFoundError) Is(target error) bool { return target == ErrTxnNotFound }

// LockWaitTimeoutError reports a pessimistic lock request of StartTS that
// waited Waited for Lock (nil when the time ran out between requests).
type LockWaitTimeoutError struct {
	StartTS tso.Timestamp
	Lock    *Lock
	Waited  time.Duration
}

// Error implements error.
func (e *LockWaitTimeoutError) Error() string {
	if e.Lock == nil {
		return fmt.Sprintf("twopc: txn %d lock wait timeout after %v", e.StartTS, e.Waited)
	}
	return fmt.Sprintf("twopc: txn %d lock wait timeout after %v on key %q locked by txn %d", e.StartTS, e.Waited, e.Lock.Key, e.Lock.StartTS)
}

// Is matches [ErrLockWaitTimeout].
func (e *LockWaitTimeoutError) Is(target error) bool { return target == ErrLockWaitTimeout }

// KeyIsLockedError reports that Lock blocked a command and was not
// resolved.
type KeyIsLockedError struct {
	Lock *Lock
}

// Error implements error.
func (e *KeyIsLockedError) Error() string {
	return fmt.Sprintf("twopc: key %q is locked by txn %d", e.Lock.Key, e.Lock.StartTS)
}

// keyError converts a KeyError of transaction startTS into a typed error.
// Locked errors are not handled here: callers collect and resolve them.
func keyError(startTS tso.Timestamp, ke *kvrpcpb.KeyError) error {
	switch {
	case ke.Conflict != nil:
		c := ke.Conflict
		return &WriteConflictError{StartTS: ts(c.StartTs), ConflictStartTS: ts(c.ConflictTs), ConflictCommitTS: ts(c.ConflictCommitTs),
			Key: c.Key, Primary: c.Primary, Reason: c.Reason}
	case ke.AlreadyExist != nil:
		return &KeyExistsError{Key: ke.AlreadyExist.Key}
	case ke.AssertionFailed != nil:
		a := ke.AssertionFailed
		return &AssertionFailedError{StartTS: ts(a.StartTs), Key: a.Key, Assertion: assertionFromPB(a.Assertion),
			ExistingStartTS: ts(a.ExistingStartTs), ExistingCommitTS: ts(a.ExistingCommitTs)}
	case ke.TxnLockNotFound != nil:
		return &LockNotFoundError{StartTS: startTS, Key: ke.TxnLockNotFound.Key}
	case ke.CommitTsExpired != nil:
		c := ke.CommitTsExpired
		return &CommitTSExpiredError{StartTS: ts(c.StartTs), AttemptedTS: ts(c.AttemptedCommitTs), MinCommitTS: ts(c.MinCommitTs), Key: c.Key}
	case ke.Deadlock != nil:
		d := ke.Deadlock
		out := &DeadlockError{StartTS: startTS, LockTS: ts(d.LockTs), LockKey: d.LockKey, KeyHash: d.DeadlockKeyHash}
		for _, w := range d.WaitChain {
			out.WaitChain = append(out.WaitChain, WaitFor{TxnTS: ts(w.Txn), WaitForTxnTS: ts(w.WaitForTxn), Key: w.Key})
		}
		return out
	case ke.TxnNotFound != nil:
		return &TxnNotFoundError{StartTS: ts(ke.TxnNotFound.StartTs), Primary: ke.TxnNotFound.PrimaryKey}
	case ke.Locked != nil:
		return &KeyIsLockedError{Lock: NewLock(ke.Locked)}
	case ke.Abort != "":
		return &AbortError{Msg: ke.Abort}
	}
	return &AbortError{Msg: ke.String()}
}

// ts converts a wire timestamp.
func ts(v uint64) tso.Timestamp { return tso.Timestamp(v) }
