package gc

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// PD is the part of the PD client GC needs; *pdclient.Client satisfies it.
type PD interface {
	GetGCState(ctx context.Context, keyspaceID uint32, withBarriers bool, opts ...pdclient.CallOption) (pdclient.GCState, error)
	AdvanceTxnSafePoint(ctx context.Context, keyspaceID uint32, target uint64, opts ...pdclient.CallOption) (pdclient.TxnSafePointResult, error)
	AdvanceGCSafePoint(ctx context.Context, keyspaceID uint32, target uint64, opts ...pdclient.CallOption) (old, new uint64, err error)
	SetGCBarrier(ctx context.Context, keyspaceID uint32, id string, ts uint64, ttl time.Duration, opts ...pdclient.CallOption) (pdclient.GCBarrier, error)
	DeleteGCBarrier(ctx context.Context, keyspaceID uint32, id string, opts ...pdclient.CallOption) (*pdclient.GCBarrier, error)
	GetAllStores(ctx context.Context, opts ...pdclient.StoreOption) ([]*metapb.Store, error)
}

// StoreSender sends a request to one store by address; *kvrpc.Client
// satisfies it. UnsafeDestroyRange uses it, as it bypasses regions.
type StoreSender interface {
	Send(ctx context.Context, addr string, req *kvrpc.Request) (*kvrpc.Response, error)
}

// Client runs GC rounds and range deletes and caches the txn safe point.
// It is safe for concurrent use; it starts goroutines only inside a call
// and waits for them before returning.
type Client struct {
	pd       PD
	sender   *locate.Sender
	router   *locate.Router
	rpc      StoreSender
	resolver *twopc.Resolver
	codec    *keycodec.Codec
	cfg      config

	safePoints *SafePointCache
}

// New returns a GC client over pd, a region sender, a store sender (for
// UnsafeDestroyRange) and a lock resolver (twopc.Client.Resolver). The
// resolver must use the same key codec as [WithCodec]. New does no I/O.
func New(pd PD, sender *locate.Sender, rpc StoreSender, resolver *twopc.Resolver, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if pd == nil || sender == nil || rpc == nil || resolver == nil {
		return nil, fmt.Errorf("gc: %w: nil PD, sender, store sender or resolver", ErrInvalidOption)
	}
	codec := cfg.codec
	if codec == nil {
		codec, _ = keycodec.NewV1(keycodec.Txn) // cannot fail for a valid mode
	}
	if codec.PrefixLen() > 0 {
		// A keyspace codec scopes every range to the keyspace, so the GC
		// state must be the keyspace's too: a round that scanned one
		// keyspace must never advance another scope's safe points.
		switch cfg.keyspaceID {
		case pdclient.NullKeyspaceID:
			cfg.keyspaceID = codec.KeyspaceID()
		case codec.KeyspaceID():
		default:
			return nil, fmt.Errorf("gc: %w: keyspace id %d differs from the codec's keyspace %d", ErrInvalidOption, cfg.keyspaceID, codec.KeyspaceID())
		}
	}
	sp := cfg.safePoints
	if sp == nil {
		src := cfg.spSource
		if src == nil {
			src = PDSafePoints(pd, cfg.keyspaceID)
		}
		var err error
		if sp, err = NewSafePointCache(src, cfg.safePointTTL); err != nil {
			return nil, err
		}
	}
	return &Client{pd: pd, sender: sender, router: locate.NewRouter(sender, codec), rpc: rpc, resolver: resolver, codec: codec, cfg: cfg, safePoints: sp}, nil
}

// State returns PD's GC state of the client's scope, with its barriers.
func (c *Client) State(ctx context.Context) (pdclient.GCState, error) {
	st, err := c.pd.GetGCState(ctx, c.cfg.keyspaceID, true)
	if err != nil {
		return pdclient.GCState{}, fmt.Errorf("gc: get GC state: %w", err)
	}
	c.safePoints.Observe(tso.Timestamp(st.TxnSafePoint))
	return st, nil
}

// Result is the outcome of one GC round.
type Result struct {
	// Target is the safe point asked for.
	Target tso.Timestamp
	// TxnSafePoint is where the txn safe point stands after the round; it
	// is below Target when a barrier held it back (Blocker says which).
	TxnSafePoint tso.Timestamp
	// GCSafePoint is the GC safe point after the round (= TxnSafePoint).
	GCSafePoint tso.Timestamp
	// Blocker describes what held the txn safe point back, if anything.
	Blocker string
	// Regions is how many regions the lock phase scanned; Locks how many
	// locks it found at or below the txn safe point (all resolved).
	Regions, Locks int
}

// Run runs one GC round toward target:
//
//  1. advance the txn safe point toward target in PD, as far as GC
//     barriers allow; from then on no transaction may read or write below
//     it, and [Client.CheckReadTS] refuses such reads;
//  2. resolve every lock with start ts at or below the new txn safe point
//     in every region of the scope (ScanLock pages + the lock resolver,
//     concurrently over regions; see [RangeTask]), waiting out live locks
//     within the per-region budget;
//  3. advance the GC safe point to the txn safe point, which lets TiKV
//     drop versions below it.
//
// A target below the current txn safe point is not an error: PD keeps the
// higher value and the round resolves and advances to that. If step 2
// fails, the GC safe point is left where it was and a later round redoes
// the work (every step is idempotent).
func (c *Client) Run(ctx context.Context, target tso.Timestamp, opts ...TaskOption) (Result, error) {
	res := Result{Target: target}
	if target == 0 {
		return res, fmt.Errorf("gc: %w: target safe point 0", ErrInvalidOption)
	}
	st, err := c.pd.GetGCState(ctx, c.cfg.keyspaceID, false)
	if err != nil {
		return res, fmt.Errorf("gc: get GC state: %w", err)
	}
	if c.cfg.keyspaceID != pdclient.NullKeyspaceID && !st.KeyspaceLevelGC {
		// The keyspace is under unified GC: its safe points are the whole
		// cluster's, and this client sees only the keyspace's locks.
		return res, fmt.Errorf("gc: keyspace %d: %w", c.cfg.keyspaceID, ErrUnifiedGC)
	}
	sp := tso.Timestamp(st.TxnSafePoint)
	if uint64(target) > st.TxnSafePoint {
		adv, err := c.pd.AdvanceTxnSafePoint(ctx, c.cfg.keyspaceID, uint64(target))
		if err != nil {
			return res, fmt.Errorf("gc: advance txn safe point: %w", err)
		}
		sp, res.Blocker = tso.Timestamp(adv.New), adv.BlockerDescription
	}
	res.TxnSafePoint = sp
	c.safePoints.Observe(sp)
	c.cfg.logger.Info("gc: txn safe point advanced", "target", uint64(target), "txn_safe_point", uint64(sp), "blocker", res.Blocker)

	start, end := c.codec.EncodeRange(nil, nil)
	var locks atomic.Int64
	task := c.task(opts)
	prog, err := task.Run(ctx, start, end, func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
		n, err := c.resolveRegion(ctx, bo, s, sp)
		locks.Add(int64(n))
		return false, err
	})
	res.Regions, res.Locks = prog.Regions, int(locks.Load())
	if err != nil {
		return res, fmt.Errorf("gc: resolve locks below %d: %w", sp, err)
	}

	_, gcsp, err := c.pd.AdvanceGCSafePoint(ctx, c.cfg.keyspaceID, uint64(sp))
	if err != nil {
		return res, fmt.Errorf("gc: advance GC safe point: %w", err)
	}
	res.GCSafePoint = tso.Timestamp(gcsp)
	c.cfg.logger.Info("gc: round done", "txn_safe_point", uint64(sp), "gc_safe_point", gcsp, "regions", res.Regions, "locks", res.Locks)
	return res, nil
}

func (c *Client) task(opts []TaskOption) *RangeTask {
	return NewRangeTask(c.router, c.cfg.concurrency, c.cfg.budget, opts...)
}

// errLocksAlive is the backoff cause while locks below the safe point
// belong to transactions that are still alive.
var errLocksAlive = errors.New("gc: locks below the txn safe point are still alive")

// resolveRegion scans the locks of one region span at or below maxVersion
// page by page and resolves them; a page with live locks is scanned again
// after the time the resolver says they have left.
func (c *Client) resolveRegion(ctx context.Context, bo *retry.Backoffer, s locate.Span, maxVersion tso.Timestamp) (int, error) {
	found := 0
	key := s.Start
	for {
		req := kvrpc.NewScanLock(&kvrpcpb.ScanLockRequest{
			Context:    c.codec.Context(),
			MaxVersion: uint64(maxVersion),
			StartKey:   key,
			EndKey:     s.End,
			Limit:      uint32(c.cfg.scanLimit),
		})
		resp, err := c.sender.Send(ctx, bo, req, s.Location.Region)
		if err != nil {
			return found, err
		}
		r := resp.Message().(*kvrpcpb.ScanLockResponse)
		infos := r.GetLocks()
		if ke := r.GetError(); ke != nil {
			// An in-memory lock (async commit, pipelined) refuses the scan
			// until it is resolved like any other.
			if ke.GetLocked() == nil {
				return found, fmt.Errorf("gc: scan lock: %s", ke.String())
			}
			infos = []*kvrpcpb.LockInfo{ke.GetLocked()}
		}
		locks := expandLocks(infos)
		rr, err := c.resolver.ResolveLocks(ctx, bo, locks)
		if err != nil {
			return found, err
		}
		if rr.Wait > 0 {
			if err := bo.BackoffAtMost(ctx, retry.TxnLock, rr.Wait, errLocksAlive); err != nil {
				return found, err
			}
			continue // the same page again: its locks may be gone now
		}
		found += len(infos)
		if r.GetError() != nil {
			// Scan again once the in-memory lock is resolved; the backoff
			// bounds a lock that keeps coming back by the budget.
			if err := bo.Backoff(ctx, retry.TxnLockFast, errLocksAlive); err != nil {
				return found, err
			}
			continue
		}
		if len(infos) < c.cfg.scanLimit {
			return found, nil
		}
		last := infos[len(infos)-1].GetKey()
		key = append(append(make([]byte, 0, len(last)+1), last...), 0)
	}
}

// expandLocks converts ScanLock's LockInfos to locks to resolve. A shared
// lock comes as one wrapper of type SharedLock listing its holders; each
// holder is a transaction of its own, so each is resolved on its own.
func expandLocks(infos []*kvrpcpb.LockInfo) []*twopc.Lock {
	locks := make([]*twopc.Lock, 0, len(infos))
	for _, info := range infos {
		if info.GetLockType() != kvrpcpb.Op_SharedLock {
			locks = append(locks, twopc.NewLock(info))
			continue
		}
		for _, h := range info.GetSharedLockInfos() {
			l := twopc.NewLock(h)
			if len(l.Key) == 0 {
				l.Key = info.GetKey()
			}
			locks = append(locks, l)
		}
	}
	return locks
}

// SetBarrier sets (or moves) the GC barrier id at ts for ttl: until it is
// deleted or expires, no GC round advances the txn safe point past ts, so
// a long reader at ts keeps its versions. ts must not be below the current
// txn safe point. Use [pdclient.NoExpiry] for a barrier that never
// expires, and delete it when done.
func (c *Client) SetBarrier(ctx context.Context, id string, ts tso.Timestamp, ttl time.Duration) (pdclient.GCBarrier, error) {
	if id == "" || ttl <= 0 {
		return pdclient.GCBarrier{}, fmt.Errorf("gc: %w: barrier needs an id and a positive TTL", ErrInvalidOption)
	}
	b, err := c.pd.SetGCBarrier(ctx, c.cfg.keyspaceID, id, uint64(ts), ttl)
	if err != nil {
		return pdclient.GCBarrier{}, fmt.Errorf("gc: set barrier %q: %w", id, err)
	}
	return b, nil
}

// DeleteBarrier removes the barrier id and returns it, or nil if there was
// none.
func (c *Client) DeleteBarrier(ctx context.Context, id string) (*pdclient.GCBarrier, error) {
	b, err := c.pd.DeleteGCBarrier(ctx, c.cfg.keyspaceID, id)
	if err != nil {
		return nil, fmt.Errorf("gc: delete barrier %q: %w", id, err)
	}
	return b, nil
}
