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
//
// Most transactions end before their first beat is due, so a heartbeat
// starts as an entry in the client's queue of pending heartbeats and gets a
// goroutine only when its first beat comes due (see heartbeatQueue).
type Heartbeat struct {
	c       *Client
	startTS tso.Timestamp
	maxTTL  time.Duration // the beats stop once the transaction is this old
	send    heartbeatFunc
	due     time.Time
	done    chan struct{}

	// Guarded by c.bgMu.
	prev, next *Heartbeat // links in the client's pending queue
	queued     bool
	stop       chan struct{} // made when the heartbeat's goroutine starts
	stopped    bool
}

// Stop ends the heartbeat and waits for its goroutine to exit. It is
// idempotent.
func (h *Heartbeat) Stop() {
	if h == nil {
		return
	}
	c := h.c
	if c == nil {
		<-h.done
		return
	}
	c.bgMu.Lock()
	if !h.stopped {
		h.stopped = true
		switch {
		case h.queued:
			// Never started: nothing to wait for.
			c.hbq.remove(h)
			close(h.done)
		case h.stop != nil:
			close(h.stop)
		}
	}
	c.bgMu.Unlock()
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
		return c.heartbeatOnce(ctx, primary, startTS, ttl, 0)
	}
	return c.startHeartbeat(startTS, maxTTL, send)
}

// heartbeatOnce sends one TxnHeartBeat raising the primary lock's TTL to
// ttl and, when minCommitTS is not 0, its min commit ts to minCommitTS
// (TiKV raises it only, and only on a pipelined lock); gone reports that
// the lock no longer exists.
func (c *Client) heartbeatOnce(ctx context.Context, primary []byte, startTS tso.Timestamp, ttl time.Duration, minCommitTS uint64) (bool, error) {
	bo := retry.New(c.cfg.managedLockTTL / 2)
	// TxnHeartBeat only raises a TTL and a min commit ts, so resending it
	// is harmless.
	resp, err := c.sendKey(ctx, bo, primary, func() *kvrpc.Request {
		return kvrpc.NewTxnHeartBeat(&kvrpcpb.TxnHeartBeatRequest{
			Context: c.codec.Context(), PrimaryLock: primary, StartVersion: uint64(startTS),
			AdviseLockTtl: uint64(ttl.Milliseconds()), MinCommitTs: minCommitTS,
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

// heartbeatFunc sends one heartbeat raising the TTL to ttl; gone reports
// that the lock no longer exists.
type heartbeatFunc func(ctx context.Context, ttl time.Duration) (gone bool, err error)

func (c *Client) startHeartbeat(startTS tso.Timestamp, maxTTL time.Duration, send heartbeatFunc) *Heartbeat {
	h := &Heartbeat{c: c, startTS: startTS, maxTTL: maxTTL, send: send, done: make(chan struct{})}
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed {
		close(h.done)
		return h
	}
	h.due = time.Now().Add(c.cfg.managedLockTTL / 2)
	wasEmpty := c.hbq.head == nil
	c.hbq.push(h)
	if !c.hbq.running {
		c.hbq.running = true
		c.hbq.kick = make(chan struct{}, 1)
		c.bg.Go(c.runHeartbeatQueue)
	} else if wasEmpty {
		select {
		case c.hbq.kick <- struct{}{}:
		default:
		}
	}
	return h
}

// heartbeatQueue holds the heartbeats whose first beat is not due yet, in
// due order: every heartbeat waits the same half managed TTL, so appending
// keeps the order and a stopped one leaves in O(1). One goroutine per
// client (runHeartbeatQueue) waits for the head and starts each due
// heartbeat's own goroutine; a transaction that ends sooner costs no
// goroutine and no timer. Guarded by Client.bgMu.
type heartbeatQueue struct {
	head, tail *Heartbeat
	running    bool
	kick       chan struct{} // wakes the queue goroutine when the queue stops being empty
}

func (q *heartbeatQueue) push(h *Heartbeat) {
	h.queued = true
	h.prev, h.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = h
	} else {
		q.head = h
	}
	q.tail = h
}

func (q *heartbeatQueue) remove(h *Heartbeat) {
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		q.head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		q.tail = h.prev
	}
	h.prev, h.next, h.queued = nil, nil, false
}

// runHeartbeatQueue starts queued heartbeats as they come due, until the
// client closes; then it ends the ones still queued.
func (c *Client) runHeartbeatQueue() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		c.bgMu.Lock()
		now := time.Now()
		var wait time.Duration
		for h := c.hbq.head; h != nil; h = c.hbq.head {
			if wait = h.due.Sub(now); wait > 0 || c.closed {
				// After Close the queue is emptied below, once life ends.
				break
			}
			c.hbq.remove(h)
			h.stop = make(chan struct{})
			c.bg.Go(func() {
				defer close(h.done)
				runHeartbeat(c.life, h.stop, h.startTS, c.cfg.managedLockTTL, h.maxTTL, c.cfg.logger, h.send, true)
			})
		}
		if c.hbq.head == nil || c.closed {
			wait = time.Hour
		}
		kick := c.hbq.kick
		c.bgMu.Unlock()
		t.Reset(wait)
		select {
		case <-c.life.Done():
			c.bgMu.Lock()
			for h := c.hbq.head; h != nil; h = c.hbq.head {
				c.hbq.remove(h)
				close(h.done)
			}
			c.bgMu.Unlock()
			return
		case <-kick:
		case <-t.C:
		}
	}
}

// runHeartbeat is the TTL manager's loop; it runs on timers only, so tests
// drive it under testing/synctest. With now it beats at once (its first
// beat came due while it waited in the client's queue), then every half
// managed TTL.
func runHeartbeat(life context.Context, stop <-chan struct{}, startTS tso.Timestamp, managed, maxTTL time.Duration, log *slog.Logger, send heartbeatFunc, now bool) {
	t := time.NewTicker(managed / 2)
	defer t.Stop()
	fails := 0
	for {
		if !now {
			select {
			case <-stop:
				return
			case <-life.Done():
				return
			case <-t.C:
			}
		}
		now = false
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
