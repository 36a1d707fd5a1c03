package rawkv

import (
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/retry"
)

// errClosed is what calls return after Close: ErrClosed with this module's
// prefix.
var errClosed = fmt.Errorf("rawkv: %w", ErrClosed)

// Sentinel errors. Test for them with errors.Is. Every error that rejects bad
// input is returned before any request is sent.
var (
	// ErrClosed is matched by calls made after Close (retry.ErrClosed,
	// re-exported: a store connection or PD client closed under a call
	// matches it too).
	ErrClosed = retry.ErrClosed
	// ErrEmptyKey is returned when a key TiKV requires to be non-empty is
	// empty.
	ErrEmptyKey = errors.New("rawkv: empty key")
	// ErrKeyTooLarge is returned when a key (with its keyspace prefix) is
	// longer than the limit set by WithMaxKeySize.
	ErrKeyTooLarge = errors.New("rawkv: key too large")
	// ErrValueTooLarge is returned when a value is longer than the limit set
	// by WithMaxValueSize.
	ErrValueTooLarge = errors.New("rawkv: value too large")
	// ErrBatchTooLarge is returned when one batch call carries more keys or
	// bytes than WithMaxBatch allows.
	ErrBatchTooLarge = errors.New("rawkv: batch too large")
	// ErrInvalidRange is returned when a range's start is after its end, or
	// a reverse scan has no upper bound under API V1.
	// It is retry.ErrInvalidRange, re-exported.
	ErrInvalidRange = retry.ErrInvalidRange
	// ErrLengthMismatch is returned when parallel slices of a batch call
	// (keys, values, TTLs) differ in length.
	ErrLengthMismatch = errors.New("rawkv: keys, values and ttls differ in length")
	// ErrUnknownColumnFamily is returned for a column family the API version
	// does not know ("default", "lock" and "write" under V1 and V1TTL; only
	// "default" under V2).
	ErrUnknownColumnFamily = errors.New("rawkv: unknown column family")
	// ErrTTLNotSupported is returned for a TTL (or GetKeyTTL) under API V1,
	// whose storage keeps no expiry.
	ErrTTLNotSupported = errors.New("rawkv: ttl not supported by api version V1")
	// ErrInvalidTTL is returned for a negative TTL.
	ErrInvalidTTL = errors.New("rawkv: invalid ttl")
	// ErrScanLimitExceeded is returned for a scan limit above
	// MaxScanLimit or below zero.
	ErrScanLimitExceeded = errors.New("rawkv: scan limit out of range")
	// ErrCASNeedsAtomicMode is returned by CompareAndSwap on a client built
	// without WithAtomicForCAS: without it, plain writes bypass the latch
	// CAS takes on TiKV, so the swap would not be atomic.
	ErrCASNeedsAtomicMode = errors.New("rawkv: compare-and-swap needs atomic mode (WithAtomicForCAS)")
	// ErrNotInAtomicMode is returned by DeleteRange on a client in atomic
	// mode: RawDeleteRange cannot take CAS latches, so it would break the
	// atomicity CAS relies on.
	ErrNotInAtomicMode = errors.New("rawkv: operation not allowed in atomic mode")
	// ErrUndetermined is matched when a write may or may not have been
	// applied: the request reached a store but its answer was lost, or TiKV
	// answered UndeterminedResult; the write is not retried because it must
	// not be applied twice. It is locate.ErrUndetermined, re-exported.
	ErrUndetermined = locate.ErrUndetermined
	// ErrInvalidOption is wrapped by the error New returns for a bad option
	// (retry.ErrInvalidOption, re-exported).
	ErrInvalidOption = retry.ErrInvalidOption
	// ErrKeyspace is wrapped when the keyspace named by WithKeyspace cannot
	// be used (not found, not enabled, id out of range); keycodec's shared
	// value, which txnkv re-exports too.
	ErrKeyspace = keycodec.ErrKeyspace
	// ErrServer is matched by every *ServerError.
	ErrServer = errors.New("rawkv: tikv error")
)

// ServerError is an error TiKV reported in a raw response (an error string
// or an aborted key error): API version mismatch, invalid column family,
// key too large for the server and the like. It is not retryable.
type ServerError struct {
	// Cmd is the RPC that failed, for example "RawPut".
	Cmd string
	// Msg is TiKV's message.
	Msg string
}

// Error implements error.
func (e *ServerError) Error() string { return fmt.Sprintf("rawkv: %s: tikv: %s", e.Cmd, e.Msg) }

// Is matches ErrServer.
func (e *ServerError) Is(target error) bool { return target == ErrServer }

// UndeterminedError reports a write whose outcome is unknown. It matches
// ErrUndetermined and unwraps to the transport error.
type UndeterminedError struct {
	// Cmd is the RPC whose answer was lost.
	Cmd string
	// Err is the transport failure.
	Err error
}

// Error implements error.
func (e *UndeterminedError) Error() string {
	return fmt.Sprintf("rawkv: %s: outcome undetermined: %v", e.Cmd, e.Err)
}

// Is matches ErrUndetermined.
func (e *UndeterminedError) Is(target error) bool { return target == ErrUndetermined }

// Unwrap returns the transport failure.
func (e *UndeterminedError) Unwrap() error { return e.Err }
