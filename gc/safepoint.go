package gc

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

// CheckReadTS fails with [*TooEarlyError] when a read at ts is below the
// txn safe point: GC may already have removed the versions such a read
// needs, and TiKV does not refuse it, so protecting readers is the
// client's job. txnkv calls it when a snapshot starts.
//
// The txn safe point is cached: a ts below the cached value fails at once
// (the safe point never goes back); otherwise the cached value is trusted
// for the TTL of [WithSafePointTTL] and fetched from PD after it. A GC
// round run by this client updates the cache itself.
func (c *Client) CheckReadTS(ctx context.Context, ts tso.Timestamp) error {
	sp := c.safePoint.Load()
	if sp != nil && ts < sp.ts {
		return &TooEarlyError{StartTS: ts, SafePoint: sp.ts}
	}
	if sp == nil || time.Since(sp.fetched) > c.cfg.safePointTTL {
		cur, err := c.fetchSafePoint(ctx, sp)
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
func (c *Client) TxnSafePoint(ctx context.Context) (tso.Timestamp, error) {
	sp := c.safePoint.Load()
	if sp == nil || time.Since(sp.fetched) > c.cfg.safePointTTL {
		var err error
		if sp, err = c.fetchSafePoint(ctx, sp); err != nil {
			return 0, err
		}
	}
	return sp.ts, nil
}

// RefreshSafePoint fetches the txn safe point from PD now and caches it.
func (c *Client) RefreshSafePoint(ctx context.Context) (tso.Timestamp, error) {
	sp, err := c.fetchSafePoint(ctx, c.safePoint.Load())
	if err != nil {
		return 0, err
	}
	return sp.ts, nil
}

// fetchSafePoint reads the txn safe point from PD unless another caller
// replaced old while this one waited for the lock.
func (c *Client) fetchSafePoint(ctx context.Context, old *cachedSafePoint) (*cachedSafePoint, error) {
	c.spMu.Lock()
	defer c.spMu.Unlock()
	if cur := c.safePoint.Load(); cur != old && cur != nil {
		return cur, nil
	}
	if src := c.cfg.spSource; src != nil {
		sp, err := src.TxnSafePoint(ctx)
		if err != nil {
			return nil, fmt.Errorf("gc: read txn safe point: %w", err)
		}
		return c.store(tso.Timestamp(sp)), nil
	}
	st, err := c.pd.GetGCState(ctx, c.cfg.keyspaceID, false)
	if err != nil {
		return nil, fmt.Errorf("gc: read txn safe point: %w", err)
	}
	return c.store(tso.Timestamp(st.TxnSafePoint)), nil
}

// remember caches a txn safe point learnt on the way (a round, a state
// read); it never moves the cache back.
func (c *Client) remember(ts tso.Timestamp) {
	c.spMu.Lock()
	defer c.spMu.Unlock()
	c.store(ts)
}

// store caches ts (or keeps a higher cached value, refreshed); callers hold
// spMu.
func (c *Client) store(ts tso.Timestamp) *cachedSafePoint {
	if cur := c.safePoint.Load(); cur != nil && cur.ts > ts {
		ts = cur.ts
	}
	sp := &cachedSafePoint{ts: ts, fetched: time.Now()}
	c.safePoint.Store(sp)
	return sp
}
