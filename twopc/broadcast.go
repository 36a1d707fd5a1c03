package twopc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tso"
)

// A pipelined transaction's status goes to at most broadcastConcurrency
// stores at once, each given broadcastTimeout (client-go's values): the
// broadcast is best effort, a slow store must not hold up the heartbeat.
const (
	broadcastConcurrency = 10
	broadcastTimeout     = 5 * time.Second
)

// broadcastStats counts the per-store broadcast sends that failed.
type broadcastStats struct {
	failures atomic.Uint64
}

// BroadcastFailures returns how many per-store BroadcastTxnStatus sends
// have failed since the client was made. A failure is only counted and
// logged: it never fails a transaction (readers fall back to resolving
// the locks they meet).
func (c *Client) BroadcastFailures() uint64 { return c.bcast.failures.Load() }

// broadcastTxnStatus sends st to every up TiKV store (the store list comes
// from PD through the region cache), at most broadcastConcurrency at once,
// each with broadcastTimeout. It is best effort: it returns nothing, and
// failures are counted and logged.
func (c *Client) broadcastTxnStatus(ctx context.Context, st *kvrpcpb.TxnStatus) {
	stores, err := c.sender.Cache().RefreshStores(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		c.bcast.failures.Add(1)
		c.cfg.logger.Debug("twopc: broadcast txn status: listing stores failed",
			slog.Uint64("start_ts", st.GetStartTs()), slog.Any("error", err))
		return
	}
	rpc := c.sender.RPCClient()
	sem := make(chan struct{}, broadcastConcurrency)
	var wg sync.WaitGroup
	for _, s := range stores {
		if s.State() != metapb.StoreState_Up || s.IsTiFlash() {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			sctx, cancel := context.WithTimeout(ctx, broadcastTimeout)
			defer cancel()
			req := kvrpc.NewBroadcastTxnStatus(&kvrpcpb.BroadcastTxnStatusRequest{
				Context: c.codec.Context(), TxnStatus: []*kvrpcpb.TxnStatus{st},
			})
			if _, err := rpc.Send(sctx, s.Addr(), req); err != nil && ctx.Err() == nil {
				// (An abandoned broadcast, the heartbeat stopped or the
				// client closed, is not a failure.)
				c.bcast.failures.Add(1)
				c.cfg.logger.Debug("twopc: broadcast txn status failed",
					slog.Uint64("start_ts", st.GetStartTs()), slog.Uint64("store_id", s.ID()),
					slog.Any("error", fmt.Errorf("twopc: store %d: %w", s.ID(), err)))
			}
		})
	}
	wg.Wait()
}

// keepAlivePipelined is keepAlive for a pipelined transaction: every beat
// also takes a fresh ts from the TSO and pushes the primary's min commit ts
// to it (minCommit only ever rises), then broadcasts the transaction as
// running with that min commit ts, so that readers below it pass its locks
// on every store without resolving them.
func (c *Client) keepAlivePipelined(primary []byte, startTS tso.Timestamp, maxTTL time.Duration, minCommit *atomic.Uint64) *Heartbeat {
	send := func(ctx context.Context, ttl time.Duration) (bool, error) {
		// A TSO failure must not cost the lock its TTL: the beat then goes
		// without a new push.
		if ts, err := c.ts.GetTS(ctx); err != nil {
			c.cfg.logger.Debug("twopc: heartbeat: no ts to push the min commit ts to",
				slog.Uint64("start_ts", uint64(startTS)), slog.Any("error", err))
		} else {
			for {
				cur := minCommit.Load()
				if uint64(ts) <= cur || minCommit.CompareAndSwap(cur, uint64(ts)) {
					break
				}
			}
		}
		push := minCommit.Load()
		gone, err := c.heartbeatOnce(ctx, primary, startTS, ttl, push)
		if err != nil || gone || push == 0 {
			return gone, err
		}
		c.broadcastTxnStatus(ctx, &kvrpcpb.TxnStatus{StartTs: uint64(startTS), MinCommitTs: push})
		return false, nil
	}
	return c.startHeartbeat(startTS, maxTTL, send)
}

// afterGrace runs fn on the client's lifetime once the broadcast grace
// period has passed; Close abandons it. It is not counted by Drain.
func (c *Client) afterGrace(fn func(life context.Context)) {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed {
		return
	}
	c.bg.Go(func() {
		if d := c.cfg.broadcastGrace; d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-c.life.Done():
				return
			}
		}
		fn(c.life)
	})
}
