package retry

import "time"

// The predefined kinds: one for every class client-go backs off on (its
// config/retry/config.go), with its numbers. They are package variables only
// because a *Kind is the identity a [Backoffer] keys its sequences by; they are
// immutable, and nothing in this module reassigns them.
//
// Region errors and the kind a client backs off with for each, following
// client-go's region request sender:
//
//	NotLeader with a leader hint        none: retry the new leader at once
//	NotLeader without a hint (election) RegionScheduling
//	ReadIndexNotReady                   RegionScheduling
//	ProposalInMergingMode               RegionScheduling
//	EpochNotMatch (real)                none: refresh the cache, re-split
//	EpochNotMatch without regions       RegionMiss (a synthetic "all replicas failed")
//	unknown region errors               none in the sender: drop the cache entry and return;
//	                                    the caller backs off with RegionMiss and re-splits
//	ServerIsBusy                        ServerBusy ("deadline is exceeded": next replica, none)
//	DiskFull                            DiskFull
//	RecoveryInProgress                  RegionRecoveryInProgress
//	StaleCommand                        StaleCommand (only without a replica selector)
//	MaxTimestampNotSynced               MaxTSNotSynced
//	RegionNotInitialized                RegionNotInitialized
//	IsWitness                           IsWitness
//	DataIsNotReady                      none in client-go today: retry the leader; DataNotReady otherwise
//	StoreNotMatch                       none: re-resolve the store and retry
//	RegionNotFound, KeyNotInRegion,
//	MismatchPeerId, BucketVersionNotMatch none: invalidate or refresh, return to the caller
//	FlashbackInProgress, FlashbackNotPrepared,
//	RaftEntryTooLarge, invalid max-ts update  none: fail fast, never retried
//
// Other triggers: an RPC that fails to reach TiKV backs off with TiKVRPC; a
// failed PD call (TSO, region or store load, scatter) with PDRPC; writes
// blocked by another transaction's live lock with TxnLock, reads with
// TxnLockFast (capped per sleep by the lock's remaining TTL, see
// [Backoffer.BackoffAtMost]); a lock whose primary has no status yet with
// TxnNotFound; waiting for TSO to pass a commit-wait target with CommitTSLag.
var (
	// TiKVRPC ("tikvRPC": 100 ms, cap 2 s, equal jitter; exhausted:
	// [ErrTiKVServerTimeout]) backs off after an RPC to TiKV failed: a gRPC
	// error, a broken connection or a timeout.
	TiKVRPC = predefined("tikvRPC", 100*time.Millisecond, 2*time.Second, EqualJitter, ErrTiKVServerTimeout)

	// PDRPC ("pdRPC": 500 ms, cap 3 s, equal jitter; exhausted:
	// [ErrPDServerTimeout]) backs off after a PD call failed.
	PDRPC = predefined("pdRPC", 500*time.Millisecond, 3*time.Second, EqualJitter, ErrPDServerTimeout)

	// RegionMiss ("regionMiss": 2 ms, cap 500 ms, no jitter; exhausted:
	// [ErrRegionUnavailable]) backs off on region errors that send the
	// caller back to re-split its keys. The 2 ms base is short because the
	// cache usually recovers at once.
	RegionMiss = predefined("regionMiss", 2*time.Millisecond, 500*time.Millisecond, NoJitter, ErrRegionUnavailable)

	// RegionScheduling ("regionScheduling": 2 ms, cap 500 ms, no jitter;
	// exhausted: [ErrRegionUnavailable]) backs off while a region has no
	// usable leader: election in progress, read index not ready, proposal
	// in merging mode.
	RegionScheduling = predefined("regionScheduling", 2*time.Millisecond, 500*time.Millisecond, NoJitter, ErrRegionUnavailable)

	// RegionRecoveryInProgress ("regionRecoveryInProgress": 100 ms, cap 10 s,
	// equal jitter; exhausted: [ErrRecoveryInProgress]) backs off while
	// the region is under online unsafe recovery.
	RegionRecoveryInProgress = predefined("regionRecoveryInProgress", 100*time.Millisecond, 10*time.Second, EqualJitter, ErrRecoveryInProgress)

	// RegionNotInitialized ("regionNotInitialized": 2 ms, cap 1 s, no jitter;
	// exhausted: [ErrRegionNotInitialized]) backs off while the target peer
	// has not been initialised yet (a split or add-peer still applying).
	RegionNotInitialized = predefined("regionNotInitialized", 2*time.Millisecond, time.Second, NoJitter, ErrRegionNotInitialized)

	// ServerBusy ("tikvServerBusy": 2 s, cap 10 s, equal jitter; exhausted:
	// [ErrServerIsBusy]) backs off when TiKV reports ServerIsBusy. Its
	// sleeps are charged to a separate pool of at least 10 minutes, not the
	// operation budget (see [WithSeparateBudget]).
	ServerBusy = predefined("tikvServerBusy", 2*time.Second, 10*time.Second, EqualJitter, ErrServerIsBusy,
		WithSeparateBudget(10*time.Minute))

	// DiskFull ("tikvDiskFull": 500 ms, cap 5 s, no jitter; exhausted:
	// [ErrDiskFull]) backs off when a store refuses a write because its
	// disk is full.
	DiskFull = predefined("tikvDiskFull", 500*time.Millisecond, 5*time.Second, NoJitter, ErrDiskFull)

	// StaleCommand ("staleCommand": 2 ms, cap 1 s, no jitter; exhausted:
	// [ErrStaleCommand]) backs off when a proposal was dropped because
	// the leader's term changed.
	StaleCommand = predefined("staleCommand", 2*time.Millisecond, time.Second, NoJitter, ErrStaleCommand)

	// MaxTSNotSynced ("maxTsNotSynced": 2 ms, cap 500 ms, no jitter;
	// exhausted: [ErrMaxTimestampNotSynced]) backs off while a new leader has not
	// yet synced max-ts from PD, which async commit and 1PC need.
	MaxTSNotSynced = predefined("maxTsNotSynced", 2*time.Millisecond, 500*time.Millisecond, NoJitter, ErrMaxTimestampNotSynced)

	// IsWitness ("isWitness": 1 s, cap 10 s, equal jitter; exhausted:
	// [ErrIsWitness]) backs off when the request reached a witness peer,
	// which holds no data.
	IsWitness = predefined("isWitness", time.Second, 10*time.Second, EqualJitter, ErrIsWitness)

	// DataNotReady ("dataNotReady": 2 ms, cap 2 s, no jitter; exhausted:
	// [ErrDataIsNotReady]) backs off when a stale read reached a replica
	// whose safe-ts is behind the read ts. Newest client-go retries the
	// leader without backing off; the kind (client-go v2.0.4's numbers) is
	// for callers that have no other replica to try.
	DataNotReady = predefined("dataNotReady", 2*time.Millisecond, 2*time.Second, NoJitter, ErrDataIsNotReady)

	// TxnLock ("txnLock": 100 ms, cap 3 s, equal jitter; exhausted:
	// [ErrResolveLockTimeout]) backs off when a write (prewrite, flush,
	// GC lock resolving) is blocked by live locks of other transactions.
	TxnLock = predefined("txnLock", 100*time.Millisecond, 3*time.Second, EqualJitter, ErrResolveLockTimeout)

	// TxnLockFast ("txnLockFast": 10 ms, cap 3 s, equal jitter; exhausted:
	// [ErrResolveLockTimeout]) backs off when a read is blocked by a lock.
	// client-go makes the base configurable (BackoffLockFast, default 10 ms):
	// use [Kind.WithBackoff] for that, and [Backoffer.BackoffAtMost] to sleep
	// no longer than the lock's remaining TTL.
	TxnLockFast = predefined("txnLockFast", 10*time.Millisecond, 3*time.Second, EqualJitter, ErrResolveLockTimeout)

	// TxnNotFound ("txnNotFound": 2 ms, cap 500 ms, no jitter; exhausted:
	// [ErrResolveLockTimeout]) backs off while the primary of a lock has
	// neither a lock nor a commit record yet (its prewrite may be in flight).
	TxnNotFound = predefined("txnNotFound", 2*time.Millisecond, 500*time.Millisecond, NoJitter, ErrResolveLockTimeout)

	// CommitTSLag ("commitTSLag": 2 ms, cap 500 ms, no jitter; exhausted:
	// [ErrCommitTSLag]) backs off while waiting for PD's TSO to pass a
	// commit-wait target.
	CommitTSLag = predefined("commitTSLag", 2*time.Millisecond, 500*time.Millisecond, NoJitter, ErrCommitTSLag)

	// Default ("default": [DefaultBackoff], proportional jitter; no
	// sentinel) is the kind [Do] uses when its [Policy] names none.
	Default = &Kind{name: "default", curve: DefaultBackoff, jitter: ProportionalJitter}
)

// Kinds returns every predefined kind, in the order they are declared. The
// slice is new on each call.
func Kinds() []*Kind {
	return []*Kind{
		TiKVRPC, PDRPC, RegionMiss, RegionScheduling, RegionRecoveryInProgress,
		RegionNotInitialized, ServerBusy, DiskFull, StaleCommand, MaxTSNotSynced,
		IsWitness, DataNotReady, TxnLock, TxnLockFast, TxnNotFound, CommitTSLag,
		Default,
	}
}

// Operation budgets: the total sleep client-go allows each operation, with its
// default BackOffWeight of 2 already applied (client-go keeps the unweighted
// numbers in milliseconds and doubles them when it creates a Backoffer).
const (
	// ReadBudget bounds a point get, batch get or scan batch (20 s × 2).
	ReadBudget = 40 * time.Second
	// RawKVBudget bounds one raw KV call (20 s × 2).
	RawKVBudget = 40 * time.Second
	// PrewriteBudget bounds the prewrite phase of a commit (40 s × 2).
	PrewriteBudget = 80 * time.Second
	// CommitBudget bounds committing the primary (40 s × 2).
	CommitBudget = 80 * time.Second
	// CommitSecondaryBudget bounds committing secondaries in the
	// background (41 s × 2).
	CommitSecondaryBudget = 82 * time.Second
	// TSOBudget bounds getting a timestamp (15 s × 2).
	TSOBudget = 30 * time.Second
	// PessimisticLockBudget bounds acquiring pessimistic locks, their
	// rollback, cleanup and TTL keep-alive (20 s × 2).
	PessimisticLockBudget = 40 * time.Second
	// TxnStatusBudget bounds checking a transaction's status while
	// resolving a lock (20 s × 2).
	TxnStatusBudget = 40 * time.Second
	// AsyncResolveLockBudget bounds resolving an async-commit lock (40 s × 2).
	AsyncResolveLockBudget = 80 * time.Second
	// LocateRegionBudget bounds locating a region (20 s × 2).
	LocateRegionBudget = 40 * time.Second
	// GCResolveLockBudget bounds resolving locks of one region during GC,
	// and deleting one region's range (100 s × 2).
	GCResolveLockBudget = 200 * time.Second
	// SplitRegionBudget bounds splitting, per split key (20 s × 2); a split
	// of many keys is capped at [MaxSplitRegionsBudget].
	SplitRegionBudget = 40 * time.Second
	// MaxSplitRegionsBudget caps the budget of a split (120 s × 2).
	MaxSplitRegionsBudget = 240 * time.Second
	// WaitScatterBudget bounds waiting for a scatter to finish (120 s × 2).
	WaitScatterBudget = 240 * time.Second
)
