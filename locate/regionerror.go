package locate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/kvproto/pkg/errorpb"

	"github.com/tikvgo/tikvgo/retry"
)

// Region error kinds. A [*RegionError] matches its kind with errors.Is, so
// errors.Is(err, locate.ErrNotLeader) works on an error decoded off the wire.
// Each is named after its kvproto errorpb field. The conditions a backoff
// kind exists for (busy, disk full, stale command, ...) are package retry's
// values, re-exported here under the same names: the kind and the region
// error share one sentinel, so an error that gave up backing off for one
// matches it too.
var (
	ErrNotLeader      = errors.New("locate: not leader")
	ErrEpochNotMatch  = errors.New("locate: epoch not match")
	ErrKeyNotInRegion = errors.New("locate: key not in region")
	// ErrRegionNotFoundOnStore is TiKV's RegionNotFound: the store that got
	// the request has no peer of the region (it moved, merged or was
	// removed). Compare [ErrRegionNotFound], PD knowing no region at all.
	ErrRegionNotFoundOnStore = errors.New("locate: region not found on store")
	ErrServerIsBusy          = retry.ErrServerIsBusy
	ErrStaleCommand          = retry.ErrStaleCommand
	ErrStoreNotMatch         = errors.New("locate: store not match")
	ErrRaftEntryTooLarge     = errors.New("locate: raft entry too large")
	ErrMaxTimestampNotSynced = retry.ErrMaxTimestampNotSynced
	ErrReadIndexNotReady     = errors.New("locate: read index not ready")
	ErrProposalInMergingMode = errors.New("locate: proposal in merging mode")
	ErrDataIsNotReady        = retry.ErrDataIsNotReady
	ErrRegionNotInitialized  = retry.ErrRegionNotInitialized
	ErrDiskFull              = retry.ErrDiskFull
	ErrRecoveryInProgress    = retry.ErrRecoveryInProgress
	ErrFlashbackInProgress   = errors.New("locate: flashback in progress")
	ErrFlashbackNotPrepared  = errors.New("locate: flashback not prepared")
	ErrIsWitness             = retry.ErrIsWitness
	ErrMismatchPeerID        = errors.New("locate: mismatch peer id")
	ErrBucketVersionNotMatch = errors.New("locate: bucket version not match")
	// ErrUndetermined means a write may or may not have been applied: TiKV
	// answered UndeterminedResult (the proposal's fate is unknown), or a
	// client above the sender lost the answer to a write it must not resend
	// (rawkv.ErrUndetermined is this value). Never retried automatically.
	ErrUndetermined       = errors.New("locate: write outcome undetermined")
	ErrUnknownRegionError = errors.New("locate: unknown region error")

	// ErrRegionStale is matched by every error after which the caller must
	// locate its keys again (the region split, merged, moved or vanished, or
	// no replica could serve it) and retry: the sender has already updated
	// the cache. Such errors are retryable with backoff kind
	// retry.RegionMiss.
	ErrRegionStale = errors.New("locate: region changed, re-locate keys")
	// ErrNoReplica is wrapped when every replica of a region failed for one
	// request; it also matches ErrRegionStale.
	ErrNoReplica = errors.New("locate: no replica available")
)

// RegionError is a region error TiKV returned, or the sender's conclusion
// that the target region is no longer usable.
type RegionError struct {
	Region VerID
	// Kind is one of the Err* sentinels above.
	Kind error
	// Stale reports that the caller must re-locate and retry (it matches
	// ErrRegionStale).
	Stale bool
	// Err is the wire error, nil when the sender concluded on its own.
	Err *errorpb.Error
}

// Error implements error.
func (e *RegionError) Error() string {
	// The kind's own prefix is dropped: retry's shared sentinels have none,
	// and "locate: region 7: locate: not leader" would stutter.
	kind := strings.TrimPrefix(fmt.Sprint(e.Kind), "locate: ")
	if e.Err != nil {
		return fmt.Sprintf("locate: region %d: %s: %s", e.Region.ID, kind, e.Err.String())
	}
	return fmt.Sprintf("locate: region %d: %s", e.Region.ID, kind)
}

// Is matches the error's kind and, for stale errors, ErrRegionStale.
func (e *RegionError) Is(target error) bool {
	return target == e.Kind || (e.Stale && target == ErrRegionStale)
}

// Unwrap returns the kind.
func (e *RegionError) Unwrap() error { return e.Kind }

// Retryable reports whether re-locating and sending again may succeed.
// Fail-fast errors (flashback, raft entry too large, undetermined result)
// say no.
func (e *RegionError) Retryable() bool { return e.Stale }

// BackoffKind is the kind a caller backs off with before re-locating.
func (e *RegionError) BackoffKind() *retry.Kind { return retry.RegionMiss }

// kindOf classifies a wire region error.
func kindOf(e *errorpb.Error) error {
	switch {
	case e.GetNotLeader() != nil:
		return ErrNotLeader
	case e.GetRegionNotFound() != nil:
		return ErrRegionNotFoundOnStore
	case e.GetKeyNotInRegion() != nil:
		return ErrKeyNotInRegion
	case e.GetEpochNotMatch() != nil:
		return ErrEpochNotMatch
	case e.GetServerIsBusy() != nil:
		return ErrServerIsBusy
	case e.GetStaleCommand() != nil:
		return ErrStaleCommand
	case e.GetStoreNotMatch() != nil:
		return ErrStoreNotMatch
	case e.GetRaftEntryTooLarge() != nil:
		return ErrRaftEntryTooLarge
	case e.GetMaxTimestampNotSynced() != nil:
		return ErrMaxTimestampNotSynced
	case e.GetReadIndexNotReady() != nil:
		return ErrReadIndexNotReady
	case e.GetProposalInMergingMode() != nil:
		return ErrProposalInMergingMode
	case e.GetDataIsNotReady() != nil:
		return ErrDataIsNotReady
	case e.GetRegionNotInitialized() != nil:
		return ErrRegionNotInitialized
	case e.GetDiskFull() != nil:
		return ErrDiskFull
	case e.GetRecoveryInProgress() != nil:
		return ErrRecoveryInProgress
	case e.GetFlashbackInProgress() != nil:
		return ErrFlashbackInProgress
	case e.GetFlashbackNotPrepared() != nil:
		return ErrFlashbackNotPrepared
	case e.GetIsWitness() != nil:
		return ErrIsWitness
	case e.GetMismatchPeerId() != nil:
		return ErrMismatchPeerID
	case e.GetBucketVersionNotMatch() != nil:
		return ErrBucketVersionNotMatch
	case e.GetUndeterminedResult() != nil:
		return ErrUndetermined
	default:
		return ErrUnknownRegionError
	}
}
