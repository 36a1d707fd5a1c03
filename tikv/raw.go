package tikv

import (
	"time"

	"github.com/tikvgo/tikvgo/rawkv"
)

// The raw API, re-exported from package rawkv so a user of the facade needs
// one import. These are aliases and the very same values: errors.Is and
// errors.As work across the two names.

// RawClient is the raw key-value client Client.Raw returns (rawkv.Client).
type RawClient = rawkv.Client

// APIVersion is the storage API version of the cluster (rawkv.APIVersion).
type APIVersion = rawkv.APIVersion

// API versions (TiKV's storage.api-version).
const (
	// V1 stores raw keys as they are, without TTL. The default.
	V1 = rawkv.V1
	// V1TTL stores raw keys as they are, with an expiry per value.
	V1TTL = rawkv.V1TTL
	// V2 prefixes every key with its keyspace.
	V2 = rawkv.V2
)

// DefaultKeyspace is the keyspace API V2 uses when WithKeyspace is not
// given.
const DefaultKeyspace = rawkv.DefaultKeyspace

// MaxScanLimit is the largest limit one Scan or ReverseScan accepts.
const MaxScanLimit = rawkv.MaxScanLimit

// KV is a key-value pair a scan returned (rawkv.KV).
type KV = rawkv.KV

// CASResult is the outcome of RawClient.CompareAndSwap (rawkv.CASResult).
type CASResult = rawkv.CASResult

// Checksum is the checksum of a key range (rawkv.Checksum).
type Checksum = rawkv.Checksum

// CallOption tunes one raw call (rawkv.CallOption).
type CallOption = rawkv.CallOption

// ServerError is an error TiKV reported in a raw response
// (rawkv.ServerError); it matches ErrServer.
type ServerError = rawkv.ServerError

// UndeterminedError reports a write whose outcome is unknown
// (rawkv.UndeterminedError); it matches ErrUndetermined.
type UndeterminedError = rawkv.UndeterminedError

// WithColumnFamily selects the column family of a raw call (see
// rawkv.WithColumnFamily).
func WithColumnFamily(cf string) CallOption { return rawkv.WithColumnFamily(cf) }

// WithKeyOnly makes raw scans return keys with nil values.
func WithKeyOnly() CallOption { return rawkv.WithKeyOnly() }

// WithTTL makes raw writes expire after d (API V1TTL and V2 only).
func WithTTL(d time.Duration) CallOption { return rawkv.WithTTL(d) }

// Sentinel errors of the raw API, the same values as rawkv's. ErrClosed is
// also what Client.TSO and Client.CurrentTS return after Client.Close.
var (
	// ErrClosed is returned by calls made after Close.
	ErrClosed = rawkv.ErrClosed
	// ErrEmptyKey is returned for an empty key where TiKV forbids one.
	ErrEmptyKey = rawkv.ErrEmptyKey
	// ErrKeyTooLarge is returned for a key over the size limit.
	ErrKeyTooLarge = rawkv.ErrKeyTooLarge
	// ErrValueTooLarge is returned for a value over the size limit.
	ErrValueTooLarge = rawkv.ErrValueTooLarge
	// ErrBatchTooLarge is returned for a batch over the size limits.
	ErrBatchTooLarge = rawkv.ErrBatchTooLarge
	// ErrInvalidRange is returned for a range whose start is after its end.
	ErrInvalidRange = rawkv.ErrInvalidRange
	// ErrLengthMismatch is returned when a batch's slices differ in length.
	ErrLengthMismatch = rawkv.ErrLengthMismatch
	// ErrUnknownColumnFamily is returned for a column family the API
	// version does not know.
	ErrUnknownColumnFamily = rawkv.ErrUnknownColumnFamily
	// ErrTTLNotSupported is returned for a TTL under API V1.
	ErrTTLNotSupported = rawkv.ErrTTLNotSupported
	// ErrInvalidTTL is returned for a negative TTL.
	ErrInvalidTTL = rawkv.ErrInvalidTTL
	// ErrScanLimitExceeded is returned for a scan limit out of range.
	ErrScanLimitExceeded = rawkv.ErrScanLimitExceeded
	// ErrCASNeedsAtomicMode is returned by CompareAndSwap outside atomic
	// mode (see WithAtomicForCAS).
	ErrCASNeedsAtomicMode = rawkv.ErrCASNeedsAtomicMode
	// ErrNotInAtomicMode is returned by DeleteRange in atomic mode.
	ErrNotInAtomicMode = rawkv.ErrNotInAtomicMode
	// ErrUndetermined is matched by a write whose outcome is unknown.
	ErrUndetermined = rawkv.ErrUndetermined
	// ErrKeyspace is matched when the keyspace cannot be used.
	ErrKeyspace = rawkv.ErrKeyspace
	// ErrServer is matched by every *ServerError.
	ErrServer = rawkv.ErrServer
)
