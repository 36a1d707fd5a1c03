package gc

import (
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

// Sentinels of package gc. Test for them with errors.Is.
var (
	// ErrTooEarly is matched by [*TooEarlyError]: a read ts is below the
	// txn safe point, so the versions it needs may already be collected.
	// Retrying with the same ts cannot succeed; take a newer snapshot.
	// txnkv re-exports it as ErrGCTooEarly.
	ErrTooEarly = errors.New("gc: read ts is below the txn safe point")
	// ErrUnifiedGC is wrapped by Run on a client scoped to a keyspace that
	// does not run keyspace-level GC: the keyspace's safe points are the
	// cluster's, which only a round over every key (API V1, or the null
	// keyspace) may advance. Reads, barriers and State still work there.
	ErrUnifiedGC = errors.New("gc: keyspace is under unified GC")
	// ErrUnreachableEnd is wrapped by DeleteRange for a region whose end
	// boundary lies inside one key's versions (a split key with a
	// timestamp, which TiKV does not choose itself): no KvDeleteRange can
	// reach the region's end without crossing it.
	ErrUnreachableEnd = errors.New("gc: region end is unreachable by a range delete")
	// ErrInvalidRange is retry's shared sentinel, wrapped for a range whose
	// start is after its end, or an UnsafeDestroyRange with an open bound.
	ErrInvalidRange = retry.ErrInvalidRange
	// ErrInvalidOption is retry's shared sentinel, wrapped by New for a bad
	// option.
	ErrInvalidOption = retry.ErrInvalidOption
)

// TooEarlyError reports a read at StartTS below the txn safe point
// SafePoint. It matches [ErrTooEarly].
type TooEarlyError struct {
	StartTS   tso.Timestamp
	SafePoint tso.Timestamp
}

// Error implements error.
func (e *TooEarlyError) Error() string {
	return fmt.Sprintf("gc: read ts %d is below the txn safe point %d", e.StartTS, e.SafePoint)
}

// Is matches [ErrTooEarly].
func (e *TooEarlyError) Is(target error) bool { return target == ErrTooEarly }

// Retryable reports false: the same ts will never be readable again.
func (e *TooEarlyError) Retryable() bool { return false }

// StoreError reports a store-level command (UnsafeDestroyRange) that failed
// on one store.
type StoreError struct {
	StoreID uint64
	Addr    string
	Err     error
}

// Error implements error.
func (e *StoreError) Error() string {
	return fmt.Sprintf("gc: store %d (%s): %v", e.StoreID, e.Addr, e.Err)
}

// Unwrap returns the cause.
func (e *StoreError) Unwrap() error { return e.Err }
