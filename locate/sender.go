package locate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/retry"
)

// RPCClient sends one request to one store. *kvrpc.Client satisfies it.
type RPCClient interface {
	Send(ctx context.Context, addr string, req *kvrpc.Request) (*kvrpc.Response, error)
}

// addrCloser is the optional part of an RPCClient that can drop the
// connections to an address (after StoreNotMatch).
type addrCloser interface{ CloseAddr(addr string) error }

type sendConfig struct {
	replicaRead    ReplicaRead
	labels         []Label
	staleRead      bool
	readTS         uint64 // stale reads only: skip replicas whose safe ts is below
	busyThreshold  time.Duration
	attemptTimeout time.Duration
	outcome        *Outcome
}

// SendOption tunes one [Sender.Send] call.
type SendOption interface{ applySend(sendConfig) sendConfig }

// sendOption takes and returns the config by value: handed a pointer, the
// dynamic call would move the config of every Send to the heap.
type sendOption func(sendConfig) sendConfig

func (f sendOption) applySend(c sendConfig) sendConfig { return f(c) }

// WithReplicaRead lets a read-only request be served by the replicas mode
// selects. Default [ReadLeader]. Never use it for writes.
func WithReplicaRead(mode ReplicaRead) SendOption {
	return sendOption(func(c sendConfig) sendConfig { c.replicaRead = mode; return c })
}

// WithMatchLabels prefers replicas whose store carries all labels (for
// example the client's zone).
func WithMatchLabels(labels ...Label) SendOption {
	return sendOption(func(c sendConfig) sendConfig { c.labels = labels; return c })
}

// WithStaleRead sends a read-only request as a stale read at its own read
// timestamp: first to the best replica with stale_read set; after
// DataIsNotReady to the leader as a normal read; then as replica reads.
func WithStaleRead() SendOption {
	return sendOption(func(c sendConfig) sendConfig { c.staleRead = true; return c })
}

// WithStaleReadAt is [WithStaleRead] for a request whose read ts is readTS
// (it must be the ts the request carries). The first attempt goes only to
// a replica whose store's polled safe ts covers readTS, so it is not turned
// away with DataIsNotReady; if no replica is known to cover it, the request
// goes straight to the leader as a normal read. A store never polled
// (safe ts 0, see [WithSafeTSUpdate]) is tried as under WithStaleRead.
//
// It is the stale-read option of every client module: txnkv's snapshot
// reads with a staleness bound pass it with the read ts they chose (for
// example with [Cache.MinSafeTS] as a floor).
func WithStaleReadAt(readTS uint64) SendOption {
	return sendOption(func(c sendConfig) sendConfig { c.staleRead, c.readTS = true, readTS; return c })
}

// WithBusyThreshold enables load-based replica reads for a leader read: if
// the leader's estimated queueing exceeds d, or it answers ServerIsBusy, an
// idle follower serves the read; if all are busy the leader serves it
// without a threshold.
func WithBusyThreshold(d time.Duration) SendOption {
	return sendOption(func(c sendConfig) sendConfig { c.busyThreshold = d; return c })
}

// WithAttemptTimeout bounds each attempt; a read whose attempt times out is
// retried on another replica at once.
func WithAttemptTimeout(d time.Duration) SendOption {
	return sendOption(func(c sendConfig) sendConfig { c.attemptTimeout = d; return c })
}

// Sender sends requests to regions: it picks the replica, stamps the
// request's kvrpcpb.Context, and handles region errors and transport
// failures with the right cache update and backoff. It is safe for
// concurrent use.
type Sender struct {
	cache  *Cache
	client RPCClient
	logger *slog.Logger
	// timesOut says the client enforces a request's own timeout
	// (kvrpc.Request.SetTimeout) itself, so an attempt bound needs no
	// derived ctx.
	timesOut bool
}

// NewSender returns a sender routing through cache and client.
func NewSender(cache *Cache, client RPCClient) *Sender {
	_, timesOut := client.(*kvrpc.Client)
	return &Sender{cache: cache, client: client, logger: cache.cfg.logger, timesOut: timesOut}
}

// Send sends req to the region at ver and returns the first response
// without a region error. bo bounds the backoff spent on retries; ctx bounds
// everything.
//
// An error matching [ErrRegionStale] means the region changed (the cache was
// already updated): locate the request's keys again, back off with
// retry.RegionMiss and resend. Other [*RegionError] values fail fast.
// Transport failures come back as the client's error (for kvrpc an
// *kvrpc.RPCError) once the budget is spent or, for a request that is not
// [kvrpc.Request.Idempotent], at once when it may have been received. A
// write's caller passes [WithOutcome] to learn whether any attempt, not
// only the last, may have been applied.
func (s *Sender) Send(ctx context.Context, bo *retry.Backoffer, req *kvrpc.Request, ver VerID, opts ...SendOption) (*kvrpc.Response, error) {
	var cfg sendConfig
	for _, o := range opts {
		cfg = o.applySend(cfg)
	}
	region := s.cache.CachedRegion(ver)
	if region == nil {
		return nil, &RegionError{Region: ver, Kind: ErrRegionStale, Stale: true}
	}
	sel := newSelector(&cfg, region)
	busyIdx := -1 // a ServerIsBusy backoff owed if this peer is picked again
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, ok := sel.next(ctx, s.cache)
		if !ok {
			s.cache.InvalidateRegion(ver.ID, Other)
			return nil, &RegionError{Region: ver, Kind: ErrNoReplica, Stale: true}
		}
		if t.idx == busyIdx {
			if err := bo.Backoff(ctx, retry.ServerBusy, ErrServerIsBusy); err != nil {
				return nil, err
			}
		}
		busyIdx = -1
		stamp(req, region, t, attempt)

		resp, err := s.sendAttempt(ctx, t.store.Addr(), req, cfg.attemptTimeout)
		if err != nil {
			cfg.outcome.recordSendErr(err)
			if ctx.Err() != nil {
				return nil, err
			}
			if err := s.onSendFail(ctx, bo, sel, t, &cfg, req, err); err != nil {
				return nil, err
			}
			continue
		}
		t.store.MarkReachable()
		re := resp.RegionError()
		if re == nil {
			cfg.outcome.mark()
			if !t.replicaRead && !t.staleRead && int(region.leader.Load()) != t.idx {
				// TiKV serves a leader read only on the leader, so the
				// peer that just did leads the region now (found after
				// the cached leader failed): send there from now on
				// instead of waiting on the old leader again.
				s.cache.UpdateLeader(ver, t.peer.Meta())
			}
			return resp, nil
		}
		if kindOf(re) == ErrUndetermined {
			cfg.outcome.mark()
		}
		again, err := s.onRegionError(ctx, bo, sel, region, t, re)
		if err != nil {
			return nil, err
		}
		if again == retryBusy {
			busyIdx = t.idx
		}
	}
}

// sendAttempt sends one attempt, bounded by timeout when it is positive.
// The bound travels in the request, which kvrpc's client enforces with a
// reused timer; other clients (wrappers, fakes) get a derived ctx as well.
func (s *Sender) sendAttempt(ctx context.Context, addr string, req *kvrpc.Request, timeout time.Duration) (*kvrpc.Response, error) {
	if timeout <= 0 {
		return s.client.Send(ctx, addr, req)
	}
	req.SetTimeout(timeout)
	if s.timesOut {
		return s.client.Send(ctx, addr, req)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return s.client.Send(actx, addr, req)
}

// stamp writes the routing fields of attempt into the request context.
func stamp(req *kvrpc.Request, r *Region, t target, attempt int) {
	c := req.Context()
	if c == nil {
		return
	}
	c.RegionId = r.id
	// The epoch and peer messages already there are kept when they say
	// the same (a retry to the same peer, or a caller reusing its request
	// context): never written to, they are replaced when they differ, so a
	// message shared with another request is never changed under it.
	if e := c.RegionEpoch; e == nil || e.ConfVer != r.confVer || e.Version != r.ver {
		c.RegionEpoch = r.sharedEpoch()
	}
	if p := c.Peer; p == nil || p.Id != t.peer.ID || p.StoreId != t.peer.StoreID || p.Role != t.peer.Role ||
		p.IsWitness {
		c.Peer = r.sharedMeta(t.peer)
	}
	c.ReplicaRead = t.replicaRead
	c.StaleRead = t.staleRead
	c.BusyThresholdMs = t.busyMs
	c.IsRetryRequest = attempt > 0
}

// onSendFail handles a transport failure of one attempt.
func (s *Sender) onSendFail(ctx context.Context, bo *retry.Backoffer, sel *selector, t target, cfg *sendConfig, req *kvrpc.Request, err error) error {
	var rpcErr *kvrpc.RPCError
	isRPC := errors.As(err, &rpcErr)
	// A request TiKV must not apply twice may be retried only if it provably
	// never left the client; the command table decides which those are.
	if (!isRPC || rpcErr.Sent) && !req.Idempotent() {
		return err
	}
	if cfg.attemptTimeout > 0 && errors.Is(err, context.DeadlineExceeded) {
		// Our own per-attempt deadline (the caller's has not passed): the
		// store is slow, not down; try the next replica at once without
		// invalidating anything.
		sel.markFailed(t.idx)
		return nil
	}
	if !retry.IsRetryable(err) {
		return err // client closed, bad request, or an error that says so
	}
	sel.markFailed(t.idx)
	t.store.MarkUnreachable()
	s.logger.Info("locate: store unreachable", slog.Uint64("store_id", t.store.ID()), slog.Any("error", err))
	return bo.Backoff(ctx, retry.TiKVRPC, err)
}

type retryHow int

const (
	retryNow retryHow = iota
	retryBusy
)

// onRegionError applies what a region error proves to the cache and decides
// how to continue: it returns an error to stop, or how to retry.
func (s *Sender) onRegionError(ctx context.Context, bo *retry.Backoffer, sel *selector, r *Region, t target, re *errorpb.Error) (retryHow, error) {
	ver := r.VerID()
	kind := kindOf(re)
	stale := func() (retryHow, error) {
		return retryNow, &RegionError{Region: ver, Kind: kind, Stale: true, Err: re}
	}
	fail := func() (retryHow, error) {
		return retryNow, &RegionError{Region: ver, Kind: kind, Err: re}
	}
	backoff := func(k *retry.Kind) (retryHow, error) {
		return retryNow, bo.Backoff(ctx, k, &RegionError{Region: ver, Kind: kind, Err: re})
	}
	switch kind {
	case ErrNotLeader:
		hint := re.GetNotLeader().GetLeader()
		if hint.GetStoreId() == 0 {
			// Election in progress, or this replica knows no leader.
			sel.markFailed(t.idx)
			return backoff(retry.RegionScheduling)
		}
		if !s.cache.UpdateLeader(ver, hint) {
			return stale()
		}
		if i := int(r.leader.Load()); i >= 0 && i < len(sel.stores) && !sel.usable(i) {
			// The named leader already failed for this request; wait
			// for the cluster to move on before asking the others.
			sel.markFailed(t.idx)
			return backoff(retry.RegionScheduling)
		}
		// Retrying on the hinted leader needs no backoff.
		return retryNow, nil
	case ErrEpochNotMatch:
		current := re.GetEpochNotMatch().GetCurrentRegions()
		if len(current) == 0 {
			s.cache.InvalidateRegion(ver.ID, EpochNotMatch)
			return stale()
		}
		if s.cache.OnEpochNotMatch(ver, t.store.ID(), current) {
			// The store lags behind our epoch: retrying the same
			// request is safe and will succeed once it catches up.
			return backoff(retry.RegionMiss)
		}
		return stale()
	case ErrRegionNotFoundOnStore, ErrKeyNotInRegion, ErrMismatchPeerID:
		s.cache.InvalidateRegion(ver.ID, RegionNotFound)
		return stale()
	case ErrBucketVersionNotMatch:
		b := re.GetBucketVersionNotMatch()
		s.cache.UpdateBuckets(ver, &metapb.Buckets{RegionId: ver.ID, Version: b.GetVersion(), Keys: b.GetKeys()})
		return stale()
	case ErrStoreNotMatch:
		// The address now belongs to another store: re-resolve it and drop
		// the connections. The request was rejected, so resending is safe.
		s.cache.InvalidateStore(t.store.ID())
		if c, ok := s.client.(addrCloser); ok {
			_ = c.CloseAddr(t.store.Addr())
		}
		sel.stores[t.idx] = nil
		return retryNow, nil
	case ErrServerIsBusy:
		busy := re.GetServerIsBusy()
		if w := busy.GetEstimatedWaitMs(); w > 0 {
			t.store.RecordEstimatedWait(time.Duration(w) * time.Millisecond)
		}
		sel.markBusy(t.idx)
		// The next replica is tried at once; the busy backoff is paid
		// only if this same replica comes round again.
		return retryBusy, nil
	case ErrStaleCommand:
		return backoff(retry.StaleCommand)
	case ErrMaxTimestampNotSynced:
		return backoff(retry.MaxTSNotSynced)
	case ErrReadIndexNotReady, ErrProposalInMergingMode:
		return backoff(retry.RegionScheduling)
	case ErrDataIsNotReady:
		// The replica's safe ts is behind the read ts; the leader can
		// serve the read as a normal read at once.
		if sel.staleStage == staleFirst {
			sel.staleStage = staleLeader
			return retryNow, nil
		}
		sel.markFailed(t.idx)
		return backoff(retry.DataNotReady)
	case ErrRegionNotInitialized:
		sel.markFailed(t.idx)
		return backoff(retry.RegionNotInitialized)
	case ErrDiskFull:
		return backoff(retry.DiskFull)
	case ErrRecoveryInProgress:
		return backoff(retry.RegionRecoveryInProgress)
	case ErrIsWitness:
		sel.markFailed(t.idx)
		return backoff(retry.IsWitness)
	case ErrFlashbackInProgress, ErrFlashbackNotPrepared, ErrRaftEntryTooLarge, ErrUndetermined:
		// Retrying cannot help (or, for an undetermined result, is unsafe).
		return fail()
	default:
		s.cache.InvalidateRegion(ver.ID, Other)
		s.logger.Info("locate: unknown region error", slog.Uint64("region_id", ver.ID), slog.String("error", fmt.Sprint(re)))
		return stale()
	}
}
