package tikv

import (
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

// The errors a caller branches on, re-exported from the module that owns
// each so one import is enough. Every name is an alias of the owner's value
// or type: errors.Is and errors.As match across both names. docs/errors.md
// lays out the whole taxonomy; the package doc sums it up. The raw API's own
// sentinels (ErrEmptyKey, ErrUndetermined, ...) are in raw.go.

// ExhaustedError is returned when a call gave up retrying: its backoff
// budget or a kind's attempt limit is spent (retry.ExhaustedError). It
// matches [ErrBudgetExhausted] or [ErrMaxAttempts], the sentinel of the
// condition it was backing off for (for example [ErrServerIsBusy] or
// [ErrTiKVServerTimeout]) and its last cause. Not retryable as is: the
// budget is gone; a caller may start the operation again later.
type ExhaustedError = retry.ExhaustedError

// InterruptedError is returned when the ctx ended during a backoff sleep
// (retry.InterruptedError); it matches ctx.Err() and the last cause.
type InterruptedError = retry.InterruptedError

// RPCError is a failed attempt to reach a store: a gRPC error, a broken
// BatchCommands stream, a dial failure (kvrpc.RPCError). Sent reports
// whether the store may have received the request. Callers see it only
// inside an [ExhaustedError] or when it is not retryable; a write that may
// have been applied is reported as [UndeterminedError] instead.
type RPCError = kvrpc.RPCError

// RegionError is a region error TiKV returned, or the conclusion that the
// target region cannot serve (locate.RegionError). The raw client retries the
// retryable ones itself; callers see the fail-fast kinds
// ([ErrFlashbackInProgress], [ErrFlashbackNotPrepared],
// [ErrRaftEntryTooLarge]) and, inside an [ExhaustedError], the last one it
// gave up on.
type RegionError = locate.RegionError

// PDError is an error PD reported in a response header (pdclient.PDError).
type PDError = pdclient.PDError

// IsRetryable reports whether err says the same call may succeed if made
// again (retry.IsRetryable). Errors returned by the clients of this package
// have already been retried within their budget, so they report false;
// this is for errors from custom interceptors and lower layers.
func IsRetryable(err error) bool { return retry.IsRetryable(err) }

// Giving up: matched by an [ExhaustedError] (retry's own sentinels).
var (
	// ErrBudgetExhausted: the call's total backoff sleep would have passed
	// its budget.
	ErrBudgetExhausted = retry.ErrBudgetExhausted
	// ErrMaxAttempts: one backoff kind hit its attempt limit.
	ErrMaxAttempts = retry.ErrMaxAttempts
	// ErrTiKVServerTimeout: gave up while a store could not be reached.
	ErrTiKVServerTimeout = retry.ErrTiKVServerTimeout
	// ErrPDServerTimeout: gave up while PD could not be reached.
	ErrPDServerTimeout = retry.ErrPDServerTimeout
	// ErrRegionUnavailable: gave up while a region had no usable leader or
	// kept changing under the call.
	ErrRegionUnavailable = retry.ErrRegionUnavailable
)

// Conditions TiKV reports for a region. A caller sees them inside an
// [ExhaustedError] (the call kept hitting them until its budget ran out) or,
// for the fail-fast ones, in a [RegionError] at once.
var (
	// ErrServerIsBusy: TiKV is overloaded.
	ErrServerIsBusy = retry.ErrServerIsBusy
	// ErrDiskFull: a store refused a write because its disk is full.
	ErrDiskFull = retry.ErrDiskFull
	// ErrStaleCommand: proposals kept being dropped by leader changes.
	ErrStaleCommand = retry.ErrStaleCommand
	// ErrMaxTimestampNotSynced: a new leader had not synced max-ts yet.
	ErrMaxTimestampNotSynced = retry.ErrMaxTimestampNotSynced
	// ErrDataIsNotReady: a stale read found no replica with its data.
	ErrDataIsNotReady = retry.ErrDataIsNotReady
	// ErrRegionNotInitialized: the target peer was still being created.
	ErrRegionNotInitialized = retry.ErrRegionNotInitialized
	// ErrIsWitness: requests kept reaching a witness peer.
	ErrIsWitness = retry.ErrIsWitness
	// ErrRecoveryInProgress: the region is under online unsafe recovery.
	ErrRecoveryInProgress = retry.ErrRecoveryInProgress
	// ErrFlashbackInProgress: the region is being flashed back; fail-fast.
	ErrFlashbackInProgress = locate.ErrFlashbackInProgress
	// ErrFlashbackNotPrepared: a flashback request reached a region not
	// prepared for it; fail-fast.
	ErrFlashbackNotPrepared = locate.ErrFlashbackNotPrepared
	// ErrRaftEntryTooLarge: the request is too large for one raft entry;
	// fail-fast: split it.
	ErrRaftEntryTooLarge = locate.ErrRaftEntryTooLarge
)

// Cluster metadata and transport, from PD and the store RPC layer.
var (
	// ErrRegionNotFound: PD knows no region for a key or id.
	ErrRegionNotFound = pdclient.ErrRegionNotFound
	// ErrStoreNotFound: PD knows no live store for an id.
	ErrStoreNotFound = pdclient.ErrStoreNotFound
	// ErrClusterIDMismatch: a PD endpoint belongs to another cluster; the
	// endpoints are wrong, never retried.
	ErrClusterIDMismatch = pdclient.ErrClusterIDMismatch
	// ErrNoLeader: no reachable PD member reported a leader.
	ErrNoLeader = pdclient.ErrNoLeader
	// ErrUnexpectedResponse: PD or a store answered out of protocol.
	ErrUnexpectedResponse = retry.ErrUnexpectedResponse
)

// Transactional errors (write conflict, key exists, deadlock, lock wait
// timeout, transaction too large, undetermined commit, GC too early,
// assertion failed, ...) are re-exported in txn.go.
