package twopc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

// maxHeartbeatFailures is how many heartbeats in a row may fail before the
// TTL manager gives up (client-go's value).
const maxHeartbeatFailures = 10

// Heartbeat keeps a transaction's primary lock alive: every half managed
// lock TTL it sends TxnHeartBeat raising the lock's TTL to the
// transaction's age plus the managed lock TTL. It stops when stopped, when
// the client closes, when the transaction outlives the max TTL, when the
// lock is gone, or after repeated failures. It is safe for concurrent use.
type Heartbeat struct {
	stop chan struct{}
	done chan struct{}
}

// Stop ends the heartbeat and waits for its goroutine to exit. It is
// idempotent.
func (h *Heartbeat) Stop() {
	if h == nil {
		return
	}
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
}

// Done is closed once the heartbeat has stopped, whatever the reason.
func (h *Heartbeat) Done() <-chan struct{} { return h.done }

// KeepAlive starts a heartbeat for the primary lock of startTS. A
// pessimistic transaction starts one at its first lock; [Client.Commit]
// starts its own when needed. Stop it when the transaction ends.
func (c *Client) KeepAlive(primary []byte, startTS tso.Timestamp) *Heartbeat {
	return c.keepAlive(primary, startTS, c.cfg.maxTxnTTL)
}

// keepAlive is KeepAlive stopping once the transaction is maxTTL old.
func (c *Client) keepAlive(primary []byte, startTS tso.Timestamp, maxTTL time.Duration) *Heartbeat {
	send := func(ctx context.Context, ttl time.Duration) (bool, error) {
		bo := retry.New(c.cfg.managedLockTTL / 2)
		// TxnHeartBeat only raises a TTL, so resending it is harmless.
		resp, err := c.sendKey(ctx, bo, primary, func() *kvrpc.Request {
			return kvrpc.NewTxnHeartBeat(&kvrpcpb.TxnHeartBeatRequest{
				Context: c.codec.Context(), PrimaryLock: primary, StartVersion: uint64(startTS),
				AdviseLockTtl: uint64(ttl.Milliseconds()),
			})
		})
		if err != nil {
			return false, err
		}
		if ke := resp.Message().(*kvrpcpb.TxnHeartBeatResponse).GetError(); ke != nil {
			err := keyError(startTS, ke)
			return errors.Is(err, ErrTxnNotFound), err
		}
		return false, nil
	}
	return c.startHeartbeat(startTS, maxTTL, send)
}

// heartbeatFunc sends one heartbeat raising the TTL to ttl; gone reports
// that the lock no longer exists.
type heartbeatFunc func(ctx context.Context, ttl time.Duration) (gone bool, err error)

func (c *Client) startHeartbeat(startTS tso.Timestamp, maxTTL time.Duration, send heartbeatFunc) *Heartbeat {
	h := &Heartbeat{stop: make(chan struct{}), done: make(chan struct{})}
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed {
		close(h.done)
		return h
	}
	c.bg.Go(func() {
		defer close(h.done)
		runHeartbeat(c.life, h.stop, startTS, c.cfg.managedLockTTL, maxTTL, c.cfg.logger, send)
	})
	return h
}

// runHeartbeat is the TTL manager's loop; it runs on timers only, so tests
// drive it under testing/synctest.
func runHeartbeat(life context.Context, stop <-chan struct{}, startTS tso.Timestamp, managed, maxTTL time.Duration, log *slog.Logger, send heartbeatFunc) {
	t := time.NewTicker(managed / 2)
	defer t.Stop()
	fails := 0
	for {
		select {
		case <-stop:
			return
		case <-life.Done():
			return
		case <-t.C:
		}
		age := max(time.Since(startTS.Time()), 0)
		if age > maxTTL {
			log.Warn("twopc: heartbeat stopped: transaction reached the max ttl", slog.Uint64("start_ts", uint64(startTS)), slog.Duration("age", age))
			return
		}
		ctx, cancel := context.WithCancel(life)
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		gone, err := send(ctx, age+managed)
		cancel()
		switch {
		case gone:
			return
		case err != nil:
			fails++
			if fails >= maxHeartbeatFailures {
				log.Warn("twopc: heartbeat stopped after repeated failures", slog.Uint64("start_ts", uint64(startTS)), slog.Any("error", err))
				return
			}
		default:
			fails = 0
		}
	}
}
