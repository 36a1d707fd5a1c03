package txnkv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/twopc"
)

// Sentinels txnkv owns. Test for them with errors.Is.
var (
	// ErrNotFound is returned by Get for a key with no value at the
	// snapshot (never written, deleted, or deleted in the transaction's
	// buffer).
	ErrNotFound = errors.New("txnkv: key not found")
	// ErrKeyspace is wrapped by New when the keyspace named by
	// WithKeyspace cannot be used (unknown, disabled, or an id beyond 24
	// bits); keycodec's shared value, the same as rawkv's.
	ErrKeyspace = keycodec.ErrKeyspace
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
	// ErrPipelinedUnsupported is returned by what a pipelined transaction
	// (WithPipelinedDML) cannot do: iterate its own writes, write an empty
	// value.
	ErrPipelinedUnsupported = errors.New("txnkv: not supported by a pipelined transaction")
	// ErrWriteStalled is matched by [*WriteStallError]: a write to a
	// pipelined transaction waited PipelinedMaxWriteStall for a running
	// flush.
	ErrWriteStalled = errors.New("txnkv: pipelined write stalled")
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

// WriteStallError reports a write to a pipelined transaction that waited
// Waited (PipelinedMaxWriteStall) for a running flush to free memory, with
// Buffered bytes of keys and values held. It matches [ErrWriteStalled].
// The write was not made and the transaction stays usable: retry the same
// write (it waits again while the flush runs), Commit what was written
// (Commit waits for the flush under its ctx) or Rollback. It is retryable.
type WriteStallError struct {
	Waited   time.Duration
	Buffered int
}

// Error reports the wait and the bytes buffered.
func (e *WriteStallError) Error() string {
	return fmt.Sprintf("%v: waited %v for a flush, %d bytes buffered", ErrWriteStalled, e.Waited, e.Buffered)
}

// Is matches [ErrWriteStalled].
func (e *WriteStallError) Is(target error) bool { return target == ErrWriteStalled }

// Retryable reports true: see the type's doc.
func (e *WriteStallError) Retryable() bool { return true }

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

// userKeys rewrites the keys the committer's typed errors name from wire
// keys to user keys, so that under API V2 callers see the keys they wrote.
// The typed errors were built for this call alone, so they are changed in
// place; a lock an error points to may be shared with the resolver, so it
// is copied. The messages of the wrapping errors were formatted when they
// were built, so the returned error carries the message with the quoted
// keys replaced, and unwraps to err.
func (c *Client) userKeys(err error) error {
	if err == nil || c.codec.PrefixLen() == 0 {
		return err
	}
	r := keyRewriter{c: c}
	if e, ok := errors.AsType[*twopc.WriteConflictError](err); ok {
		e.Key, e.Primary = r.key(e.Key), r.key(e.Primary)
	}
	if e, ok := errors.AsType[*twopc.KeyExistsError](err); ok {
		e.Key = r.key(e.Key)
	}
	if e, ok := errors.AsType[*twopc.AssertionFailedError](err); ok {
		e.Key = r.key(e.Key)
	}
	if e, ok := errors.AsType[*twopc.EntryTooLargeError](err); ok {
		e.Key = r.key(e.Key)
	}
	if e, ok := errors.AsType[*twopc.LockNotFoundError](err); ok {
		e.Key = r.key(e.Key)
	}
	if e, ok := errors.AsType[*twopc.CommitTSExpiredError](err); ok {
		e.Key = r.key(e.Key)
	}
	if e, ok := errors.AsType[*twopc.UndeterminedError](err); ok {
		e.Primary = r.key(e.Primary)
	}
	if e, ok := errors.AsType[*twopc.TxnNotFoundError](err); ok {
		e.Primary = r.key(e.Primary)
	}
	if e, ok := errors.AsType[*twopc.DeadlockError](err); ok {
		e.LockKey = r.key(e.LockKey)
		chain := make([]twopc.WaitFor, len(e.WaitChain))
		for i, w := range e.WaitChain {
			w.Key = r.key(w.Key)
			chain[i] = w
		}
		e.WaitChain = chain
	}
	if e, ok := errors.AsType[*twopc.LockWaitTimeoutError](err); ok && e.Lock != nil {
		e.Lock = r.lock(e.Lock)
	}
	if e, ok := errors.AsType[*twopc.KeyIsLockedError](err); ok && e.Lock != nil {
		e.Lock = r.lock(e.Lock)
	}
	if len(r.quoted) == 0 {
		return err
	}
	return &userKeyError{msg: strings.NewReplacer(r.quoted...).Replace(err.Error()), err: err}
}

// keyRewriter decodes wire keys and remembers each as the pair of quoted
// forms (%q, as the errors format keys) to replace in messages.
type keyRewriter struct {
	c      *Client
	quoted []string
}

func (r *keyRewriter) key(w []byte) []byte {
	u := r.c.decodeKey(w)
	if len(u) != len(w) {
		r.quoted = append(r.quoted, strconv.Quote(string(w)), strconv.Quote(string(u)))
	}
	return u
}

// lock returns a copy of l with user keys.
func (r *keyRewriter) lock(l *twopc.Lock) *twopc.Lock {
	cp := *l
	cp.Key, cp.Primary = r.key(l.Key), r.key(l.Primary)
	return &cp
}

// userKeyError is an error whose message names user keys; it unwraps to
// the error it rewrote.
type userKeyError struct {
	msg string
	err error
}

func (e *userKeyError) Error() string { return e.msg }
func (e *userKeyError) Unwrap() error { return e.err }
