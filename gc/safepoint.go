package gc

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tso"
)

// GCStateReader reads PD's GC state; *pdclient.Client satisfies it.
type GCStateReader interface {
	GetGCState(ctx context.Context, keyspaceID uint32, withBarriers bool, opts ...pdclient.CallOption) (pdclient.GCState, error)
}

// SafePointSource reads the txn safe point from somewhere other than PD's
// GC-state API; *gcetcd.Loader satisfies it, for PD versions that keep the
// safe point only in their etcd.
type SafePointSource interface {
	TxnSafePoint(ctx context.Context) (uint64, error)
}

// PDSafePoints returns a source that reads the txn safe point governing a
// keyspace from PD's GC state: the keyspace's own when it runs
// keyspace-level GC, else the null keyspace's (unified GC). PD answers a
// keyspace without its own GC with the null keyspace's state, so one call
// usually settles it. Use [pdclient.NullKeyspaceID] under API V1.
func PDSafePoints(pd GCStateReader, keyspaceID uint32) SafePointSource {
	return pdSafePoints{pd: pd, keyspaceID: keyspaceID}
}

type pdSafePoints struct {
	pd         GCStateReader
	keyspaceID uint32
}

func (s pdSafePoints) TxnSafePoint(ctx context.Context) (uint64, error) {
	st, err := s.pd.GetGCState(ctx, s.keyspaceID, false)
	if err != nil {
		return 0, err
	}
	if s.keyspaceID != pdclient.NullKeyspaceID && !st.KeyspaceLevelGC && st.KeyspaceID == s.keyspaceID {
		// Not redirected, yet not the keyspace's own GC either: the
		// unified state governs the keyspace.
		if st, err = s.pd.GetGCState(ctx, pdclient.NullKeyspaceID, false); err != nil {
			return 0, err
		}
	}
	return st.TxnSafePoint, nil
}

// SafePointCache caches the txn safe point that snapshot reads check. It is
// the one implementation of that check: txnkv's reads and [Client] use it,
// and the facade hands one cache to both, so a GC round run by the client
// is seen by the next read at once.
//
// A SafePointCache is safe for concurrent use and starts no goroutines.
type SafePointCache struct {
	src SafePointSource
	ttl time.Duration

	mu  sync.Mutex // serialises fetches
	cur atomic.Pointer[cachedSafePoint]
}

type cachedSafePoint struct {
	ts      tso.Timestamp
	fetched time.Time
}

// NewSafePointCache returns a cache over src that trusts a fetched value
// for ttl (0: fetch on every check). It does no I/O.
func NewSafePointCache(src SafePointSource, ttl time.Duration) (*SafePointCache, error) {
	if src == nil || ttl < 0 {
		return nil, fmt.Errorf("gc: %w: safe point cache needs a source and a TTL >= 0", ErrInvalidOption)
	}
	return &SafePointCache{src: src, ttl: ttl}, nil
}

// CheckReadTS fails with [*TooEarlyError] when a read at ts is below the
// txn safe point: GC may already have removed the versions such a read
// needs, and TiKV does not refuse it, so protecting readers is the
// client's job.
//
// A ts below the cached value fails at once (the safe point never goes
// back); otherwise the cached value is trusted for the cache's TTL and
// fetched again after it. A cached value may therefore let a read through
// for at most the TTL after the safe point passed it, which the GC life
// time (ten minutes of history by default) covers.
func (c *SafePointCache) CheckReadTS(ctx context.Context, ts tso.Timestamp) error {
	sp := c.cur.Load()
	if sp != nil && ts < sp.ts {
		return &TooEarlyError{StartTS: ts, SafePoint: sp.ts}
	}
	if c.stale(sp) {
		cur, err := c.fetch(ctx, sp)
		if err != nil {
			return err
		}
		sp = cur
	}
	if ts < sp.ts {
		return &TooEarlyError{StartTS: ts, SafePoint: sp.ts}
	}
	return nil
}

// TxnSafePoint returns the txn safe point, from the cache while it is
// fresh.
func (c *SafePointCache) TxnSafePoint(ctx context.Context) (tso.Timestamp, error) {
	sp := c.cur.Load()
	if c.stale(sp) {
		var err error
		if sp, err = c.fetch(ctx, sp); err != nil {
			return 0, err
		}
	}
	return sp.ts, nil
}

// Refresh fetches the txn safe point now and caches it.
func (c *SafePointCache) Refresh(ctx context.Context) (tso.Timestamp, error) {
	sp, err := c.fetch(ctx, c.cur.Load())
	if err != nil {
		return 0, err
	}
	return sp.ts, nil
}

// Observe caches a txn safe point learnt on the way (a GC round, a state
// read); it never moves the cache back.
func (c *SafePointCache) Observe(ts tso.Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(ts)
}

func (c *SafePointCache) stale(sp *cachedSafePoint) bool {
	return sp == nil || time.Since(sp.fetched) > c.ttl
}

// fetch reads the txn safe point unless another caller replaced old while
// this one waited for the lock.
func (c *SafePointCache) fetch(ctx context.Context, old *cachedSafePoint) (*cachedSafePoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cur.Load(); cur != old && cur != nil {
		return cur, nil
	}
	sp, err := c.src.TxnSafePoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: read txn safe point: %w", err)
	}
	return c.store(tso.Timestamp(sp)), nil
}

// store caches ts (or keeps a higher cached value, refreshed); callers hold
// mu.
func (c *SafePointCache) store(ts tso.Timestamp) *cachedSafePoint {
	if cur := c.cur.Load(); cur != nil && cur.ts > ts {
		ts = cur.ts
	}
	sp := &cachedSafePoint{ts: ts, fetched: time.Now()}
	c.cur.Store(sp)
	return sp
}

// CheckReadTS is [SafePointCache.CheckReadTS] on the client's cache.
func (c *Client) CheckReadTS(ctx context.Context, ts tso.Timestamp) error {
	return c.safePoints.CheckReadTS(ctx, ts)
}

// TxnSafePoint returns the txn safe point, from the client's cache while it
// is fresh.
func (c *Client) TxnSafePoint(ctx context.Context) (tso.Timestamp, error) {
	return c.safePoints.TxnSafePoint(ctx)
}

// RefreshSafePoint fetches the txn safe point now and caches it.
func (c *Client) RefreshSafePoint(ctx context.Context) (tso.Timestamp, error) {
	return c.safePoints.Refresh(ctx)
}

// SafePoints returns the client's txn safe point cache.
func (c *Client) SafePoints() *SafePointCache { return c.safePoints }
