package kvrpc

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/tikvpb"
)

// lingerWaiting is the number of callers waiting on one connection from
// which whoever sends a message yields the processor once before taking the
// queued requests, so that callers about to queue share the message, and
// from which pickBatch spreads requests to the next connection.
const lingerWaiting = 16

// maxCombineRounds bounds how many messages a caller sends for others after
// its own before it hands the queue over to the connection's sender
// goroutine: under sustained load one caller would otherwise keep sending
// for the others and never return with its own answer.
const maxCombineRounds = 4

// Request timeouts of at least sweepMin are enforced by sweeping: while
// such requests wait on a connection, its sender goroutine looks for expired
// ones every sweepTick (so they fire up to that much late), and goes on for
// sweepIdle ticks after the last one, so that a caller sending one request
// after another does not wake it each time. A timer per request instead
// costs a timer-heap insertion and removal per request, and often a wake-up
// of the network poller or of an idle thread to watch the new timer, which
// on a few cores shows in the latency of a lone caller. Shorter timeouts,
// where the lateness would matter, get a timer of their own.
const (
	sweepMin  = 500 * time.Millisecond
	sweepTick = 50 * time.Millisecond
	sweepIdle = 100
)

// clockBase anchors the monotonic clock the sweep deadlines are read on.
var clockBase = time.Now()

func monoNow() int64 { return int64(time.Since(clockBase)) }

// pooledMin is the least capacity of a message buffer: gRPC takes back
// into its pool only buffers larger than its pooling threshold (1 KiB, see
// mem.IsBelowBufferPoolingThreshold).
const pooledMin = 1<<10 + 1

// entry is one request waiting for a batch response.
type entry struct {
	cmd CmdType
	// frame is the request already encoded as one element of the
	// BatchCommandsRequest.requests field. Encoding happens in the caller's
	// goroutine, so whoever sends never reads the request message, and the
	// connection keeps no reference to the Request: a caller whose ctx
	// ended may retry (and re-stamp) the same Request at once, and a caller
	// may reuse the Request and its message once Send returned.
	frame []byte
	done  chan result // buffered 1; written at most once
	// timer enforces a short request timeout (Request.SetTimeout); made
	// on first use and kept with the pooled entry, so a bounded attempt
	// costs no allocation.
	timer *time.Timer
	// deadline is a swept request timeout (monoNow units), 0 if none.
	deadline int64
	// abandoned is set when the caller stopped waiting (ctx ended); the
	// sender drops such entries instead of sending them.
	abandoned atomic.Bool
	// sent is set once the entry was handed to the stream.
	sent atomic.Bool
	// stream and id locate the entry in its stream's pending map once
	// registered (id is guarded by that stream's mutex), so an abandoned
	// entry can be dropped without waiting for the store to answer.
	stream atomic.Pointer[batchStream]
	id     uint64
}

// entryPool recycles entries (with their done channels and timers) answered
// with a response. Such an entry is referenced by nobody else any more: the
// receive loop took it out of the stream's pending map before answering, and
// the sender stopped reading it once the batch was encoded, which happened
// before it was registered. Entries that ended any other way (an error, an
// abandoned wait) are left to the garbage collector, since a stream may still
// hold them.
var entryPool = sync.Pool{New: func() any { return &entry{done: make(chan result, 1)} }}

// recycle resets e and returns it to entryPool. Only the caller that
// received e's response may call it.
func (e *entry) recycle() {
	if e.timer != nil && !e.timer.Stop() {
		// Fired unseen: drain it, so that a stale expiry cannot reach
		// the next user where timer channels are buffered (a main
		// module before Go 1.23, or asynctimerchan=1).
		select {
		case <-e.timer.C:
		default:
		}
	}
	e.cmd, e.frame, e.id, e.deadline = "", nil, 0, 0
	e.abandoned.Store(false)
	e.sent.Store(false)
	e.stream.Store(nil)
	entryPool.Put(e)
}

// expiry starts e's timer for d and returns its channel.
func (e *entry) expiry(d time.Duration) <-chan time.Time {
	if e.timer == nil {
		e.timer = time.NewTimer(d)
	} else {
		e.timer.Reset(d)
	}
	return e.timer.C
}

// abandon marks e as no longer awaited and forgets it on its stream.
func (e *entry) abandon() {
	e.abandoned.Store(true)
	if s := e.stream.Load(); s != nil {
		s.mu.Lock()
		if s.pending[e.id] == e {
			delete(s.pending, e.id)
		}
		s.mu.Unlock()
	}
}

// result is what the receive loop hands a waiting caller: the encoded
// BatchCommandsResponse.Response (a private copy the caller decodes, see
// decode.go), or the error that ended the wait.
type result struct {
	raw  []byte
	load uint64
	err  error
}

// batchConn packs the requests sent on one connection into BatchCommands
// messages by combining: a caller queues its request, and if nobody is
// sending on the connection it takes the send lock and sends everything
// queued (its own request and whatever others queued meanwhile) in one
// message, then again while more arrived, before waiting for its answer.
// Callers that find the lock taken only queue: the holder sends their
// requests with the next message. So a lone request leaves at once from its
// caller's goroutine with no hand-off, and under load the requests that
// queue while a message is being written leave together, with no goroutine
// woken per request. The connection's sender goroutine takes over only when
// a caller has sent maxCombineRounds messages for others, and while the
// store reports overload (see WithOverloadBatchWait), when it waits to pack
// more.
type batchConn struct {
	cn *conn

	// qmu guards queued and closed; it is held only to append or take.
	qmu    sync.Mutex
	queued []*entry
	closed bool // set once the pool closed: nothing is queued any more
	// nqueued mirrors len(queued), written under qmu, so that a sender
	// can check for more work after releasing sendMu without taking qmu.
	nqueued atomic.Int64
	// kick wakes the sender goroutine (buffered 1; sends never block).
	kick chan struct{}

	// swept counts the callers waiting with a swept deadline; sweeping
	// is set while the sender goroutine sweeps; arm (buffered 1) starts
	// it. A caller increments swept before it reads sweeping, and the
	// sender clears sweeping before it reads swept, so one of them always
	// sees the other.
	swept    atomic.Int64
	sweeping atomic.Bool
	arm      chan struct{}

	// sendMu is held by whoever sends: a combining caller or the sender
	// goroutine. It guards the fields below.
	sendMu sync.Mutex
	stream *batchStream
	nextID uint64
	ids    []uint64 // scratch for one flush
	batch  []*entry // scratch for one flush
	// current mirrors stream for readers outside the send lock.
	current atomic.Pointer[batchStream]
	// waiting counts callers between queueing a request and getting its
	// answer: the load signal that decides whether to linger for more.
	waiting atomic.Int64
}

func newBatchConn(cn *conn) *batchConn {
	b := &batchConn{cn: cn, kick: make(chan struct{}, 1), arm: make(chan struct{}, 1)}
	cn.pool.wg.Go(b.sendLoop)
	return b
}

func (b *batchConn) addr() string { return b.cn.pool.addr }

// send queues req, sends the queue itself if nobody else is sending, and
// waits for req's response.
func (b *batchConn) send(ctx context.Context, req *Request) (*Response, error) {
	frame, err := encodeFrame(req)
	if err != nil {
		return nil, &RPCError{Addr: b.addr(), Cmd: req.Type(), Err: err}
	}
	e := entryPool.Get().(*entry)
	e.cmd, e.frame = req.Type(), frame
	var expired <-chan time.Time
	if d := req.timeout; d >= sweepMin {
		e.deadline = monoNow() + int64(d)
		b.swept.Add(1)
		defer b.swept.Add(-1)
		if !b.sweeping.Load() {
			select {
			case b.arm <- struct{}{}:
			default: // already asked
			}
		}
	} else if d > 0 {
		expired = e.expiry(d)
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	if !b.enqueue(e) {
		return nil, &RPCError{Addr: b.addr(), Cmd: e.cmd, Err: b.cn.pool.closedErr()}
	}
	if b.overloaded() {
		// The sender goroutine waits to pack more while the store is
		// overloaded.
		b.wake()
	} else if b.sendMu.TryLock() {
		b.combine(maxCombineRounds)
	}
	closing := b.cn.pool.ctx.Done()
	select {
	case r := <-e.done:
		if r.err != nil {
			return nil, r.err
		}
		cmd := e.cmd
		e.recycle()
		m, err := req.cmd.decodeBatch(r.raw)
		if err != nil {
			return nil, &RPCError{Addr: b.addr(), Cmd: cmd, Sent: true, Err: err}
		}
		return &Response{msg: m, TransportLayerLoad: r.load, Batched: true}, nil
	case <-ctx.Done():
		e.abandon()
		return nil, &RPCError{Addr: b.addr(), Cmd: e.cmd, Sent: e.sent.Load(), Err: ctx.Err()}
	case <-expired:
		e.abandon()
		return nil, &RPCError{Addr: b.addr(), Cmd: e.cmd, Sent: e.sent.Load(), Err: context.DeadlineExceeded}
	case <-closing:
		e.abandon()
		return nil, &RPCError{Addr: b.addr(), Cmd: e.cmd, Sent: e.sent.Load(), Err: b.cn.pool.closedErr()}
	}
}

// enqueue appends e to the queue; false once the pool closed.
func (b *batchConn) enqueue(e *entry) bool {
	b.qmu.Lock()
	if b.closed {
		b.qmu.Unlock()
		return false
	}
	b.queued = append(b.queued, e)
	b.nqueued.Store(int64(len(b.queued)))
	b.qmu.Unlock()
	return true
}

// take moves up to max queued entries to the end of dst.
func (b *batchConn) take(dst []*entry, max int) []*entry {
	b.qmu.Lock()
	n := min(len(b.queued), max-len(dst))
	dst = append(dst, b.queued[:n]...)
	rest := copy(b.queued, b.queued[n:])
	clear(b.queued[rest:])
	b.queued = b.queued[:rest]
	b.nqueued.Store(int64(rest))
	b.qmu.Unlock()
	return dst
}

// hasQueued reports whether requests are queued. Like reading the queue
// under qmu, the atomic read is ordered with a caller's enqueue: a holder
// that released sendMu and then sees nothing queued leaves the lock free
// for any caller whose enqueue it missed.
func (b *batchConn) hasQueued() bool { return b.nqueued.Load() > 0 }

// wake asks the sender goroutine to send what is queued.
func (b *batchConn) wake() {
	select {
	case b.kick <- struct{}{}:
	default: // already asked
	}
}

// overloaded reports whether the store's last reported load calls for
// waiting to pack larger messages (WithOverloadBatchWait).
func (b *batchConn) overloaded() bool {
	cfg := &b.cn.pool.client.cfg
	return cfg.overloadWait > 0 && b.cn.pool.load.Load() > cfg.overloadLoad
}

// combine sends the queue, one message of up to the max batch size at a
// time, until it is empty; it is called with sendMu held and returns with it
// released. A caller (rounds > 0) hands a queue that is still not empty
// after that many messages to the sender goroutine; the sender goroutine
// (rounds 0) keeps going.
//
// Releasing the lock and then checking the queue again is what keeps a
// request from being stranded: a caller that queued while the lock was held
// either finds it free itself, or queued before this check sees it.
func (b *batchConn) combine(rounds int) {
	max := b.cn.pool.client.cfg.maxBatchSize
	direct := rounds > 0
	for sent := 0; ; {
		batch := b.take(b.batch[:0], max)
		// Under load (many callers waiting on this connection, few of
		// them queued) yield once so that callers about to queue can do
		// so and share this message. At low load waiting is small and
		// nothing is delayed.
		if len(batch) > 0 && len(batch) < max && b.waiting.Load() >= lingerWaiting {
			runtime.Gosched()
			batch = b.take(batch, max)
		}
		if len(batch) > 0 {
			b.flush(batch)
			clear(batch)
			if direct {
				b.cn.pool.client.stats.directSends.Add(1)
			}
			sent++
		}
		b.batch = batch[:0]
		if len(batch) == 0 || (direct && sent >= rounds) {
			b.sendMu.Unlock()
			if !b.hasQueued() {
				return
			}
			if len(batch) != 0 {
				b.wake() // this caller has done its share
				return
			}
			if !b.sendMu.TryLock() {
				return // the new holder sends it
			}
		}
	}
}

func (b *batchConn) sendLoop() {
	closing := b.cn.pool.ctx.Done()
	var timer *time.Timer
	var ticker *time.Ticker
	var tick <-chan time.Time // nil while not sweeping
	idle := 0
	for {
		select {
		case <-b.kick:
		case <-b.arm:
			if tick == nil {
				if ticker == nil {
					ticker = time.NewTicker(sweepTick)
				} else {
					ticker.Reset(sweepTick)
				}
				tick, idle = ticker.C, 0
				b.sweeping.Store(true)
			}
			continue
		case <-tick:
			b.sweep(monoNow())
			if b.swept.Load() > 0 {
				idle = 0
				continue
			}
			if idle++; idle < sweepIdle {
				continue
			}
			b.sweeping.Store(false)
			if b.swept.Load() > 0 {
				// A caller queued after the check above and may have
				// seen sweeping still set.
				b.sweeping.Store(true)
				idle = 0
				continue
			}
			ticker.Stop() // since Go 1.23 no stale tick follows
			tick = nil
			continue
		case <-closing:
			b.sendMu.Lock()
			b.shutdown()
			b.sendMu.Unlock()
			return
		}
		if b.overloaded() {
			cfg := &b.cn.pool.client.cfg
			if timer == nil {
				timer = time.NewTimer(cfg.overloadWait)
			} else {
				timer.Reset(cfg.overloadWait)
			}
			b.waitMore(min(cfg.overloadSize, cfg.maxBatchSize), timer.C, closing)
			timer.Stop()
		}
		b.sendMu.Lock()
		b.combine(0)
	}
}

// sweep fails the requests whose swept deadline passed: those still queued,
// never sent, and those in flight on the current stream. Like every other
// answer, each is written once, by whoever took the entry out of the queue
// or the pending map.
func (b *batchConn) sweep(now int64) {
	late := func(e *entry) bool { return e.deadline != 0 && e.deadline <= now }
	var expired []*entry
	b.qmu.Lock()
	kept := b.queued[:0]
	for _, e := range b.queued {
		if late(e) {
			expired = append(expired, e)
		} else {
			kept = append(kept, e)
		}
	}
	clear(b.queued[len(kept):])
	b.queued = kept
	b.nqueued.Store(int64(len(kept)))
	b.qmu.Unlock()
	for _, e := range expired {
		e.done <- result{err: &RPCError{Addr: b.addr(), Cmd: e.cmd, Err: context.DeadlineExceeded}}
	}
	s := b.current.Load()
	if s == nil {
		return
	}
	expired = expired[:0]
	s.mu.Lock()
	for id, e := range s.pending {
		if late(e) {
			delete(s.pending, id)
			expired = append(expired, e)
		}
	}
	s.mu.Unlock()
	for _, e := range expired {
		e.done <- result{err: &RPCError{Addr: b.addr(), Cmd: e.cmd, Sent: true, Err: context.DeadlineExceeded}}
	}
}

// waitMore blocks until size entries are queued, the timer fires or the
// pool closes. Only used while the store reports overload; callers then
// queue and wake the sender instead of sending.
func (b *batchConn) waitMore(size int, timeout <-chan time.Time, closing <-chan struct{}) {
	for {
		b.qmu.Lock()
		n := len(b.queued)
		b.qmu.Unlock()
		if n >= size {
			return
		}
		select {
		case <-b.kick:
		case <-timeout:
			return
		case <-closing:
			return
		}
	}
}

// flush sends one batch, opening a stream first if needed.
func (b *batchConn) flush(batch []*entry) {
	live := batch[:0]
	for _, e := range batch {
		if !e.abandoned.Load() {
			live = append(live, e)
		}
	}
	if len(live) == 0 {
		return
	}
	s, err := b.ensureStream()
	if err != nil {
		// The stream could not be opened, so nothing was sent.
		for _, e := range live {
			e.done <- result{err: &RPCError{Addr: b.addr(), Cmd: e.cmd, Err: err}}
		}
		return
	}
	ids := slices.Grow(b.ids[:0], len(live))[:len(live)]
	b.ids = ids
	for i := range live {
		b.nextID++
		ids[i] = b.nextID
	}
	msg := encodeBatch(live, ids, uint64(time.Now().UnixNano()))
	if !s.register(ids, live) {
		return // the stream failed meanwhile and already failed the entries
	}
	if err := s.cs.SendMsg(msg); err != nil {
		s.fail(b, err)
		return
	}
	st := &b.cn.pool.client.stats
	st.batchMessages.Add(1)
	st.batchedRequests.Add(uint64(len(live)))
}

// ensureStream returns the current stream, opening a new one if there is
// none or the last one broke.
func (b *batchConn) ensureStream() (*batchStream, error) {
	if b.stream != nil && !b.stream.isClosed() {
		return b.stream, nil
	}
	pool := b.cn.pool
	ctx, cancel := context.WithCancel(pool.ctx)
	// The stream ctx must outlive stream creation, so the dial timeout
	// cancels it only if NewStream has not returned in time.
	timer := time.AfterFunc(pool.client.cfg.dialTimeout, cancel)
	cs, err := b.cn.stub.BatchCommands(ctx)
	if !timer.Stop() && err == nil {
		err = context.DeadlineExceeded
	}
	if err != nil {
		cancel()
		if pool.ctx.Err() != nil {
			return nil, pool.closedErr()
		}
		return nil, fmt.Errorf("kvrpc: open batch stream: %w", err)
	}
	if b.stream != nil {
		pool.client.cfg.logger.Info("kvrpc: batch stream re-established", slog.String("addr", pool.addr))
	}
	pool.client.stats.streamsOpened.Add(1)
	s := &batchStream{cs: cs, cancel: cancel, pending: make(map[uint64]*entry)}
	b.stream = s
	b.current.Store(s)
	pool.wg.Go(func() { s.recvLoop(b) })
	return s, nil
}

// shutdown fails everything still queued when the pool closes, and
// refuses what callers queue from then on.
func (b *batchConn) shutdown() {
	err := b.cn.pool.closedErr()
	if b.stream != nil {
		b.stream.fail(b, err)
	}
	b.qmu.Lock()
	b.closed = true
	queued := b.queued
	b.queued = nil
	b.nqueued.Store(0)
	b.qmu.Unlock()
	for _, e := range queued {
		e.done <- result{err: &RPCError{Addr: b.addr(), Cmd: e.cmd, Err: err}}
	}
}

// batchStream is one BatchCommands stream and the requests in flight on it.
type batchStream struct {
	cs     tikvpb.Tikv_BatchCommandsClient
	cancel context.CancelFunc

	mu      sync.Mutex
	pending map[uint64]*entry
	closed  bool
	// broken mirrors closed for the sender's per-flush check, which then
	// takes no lock; register still decides under mu.
	broken atomic.Bool
}

func (s *batchStream) isClosed() bool { return s.broken.Load() }

// register records entries as in flight under ids. It reports false, after
// failing the entries, if the stream already broke.
func (s *batchStream) register(ids []uint64, es []*entry) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		for _, e := range es {
			e.done <- result{err: &RPCError{Cmd: e.cmd, Err: ErrStreamBroken}}
		}
		return false
	}
	for i, e := range es {
		e.sent.Store(true)
		e.id = ids[i]
		s.pending[ids[i]] = e
		e.stream.Store(s)
		// A caller that abandoned e after flush filtered it found no
		// stream to forget it on; stream is stored before this check, so
		// either that caller or this check drops it.
		if e.abandoned.Load() {
			delete(s.pending, ids[i])
		}
	}
	s.mu.Unlock()
	return true
}

// fail closes the stream and fails every request in flight on it with a
// retryable RPCError wrapping ErrStreamBroken (or ErrClosed on shutdown).
func (s *batchStream) fail(b *batchConn, cause error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.broken.Store(true)
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	s.cancel()

	pool := b.cn.pool
	var err error
	if pool.ctx.Err() != nil {
		err = pool.closedErr()
	} else {
		pool.client.stats.streamFailures.Add(1)
		err = fmt.Errorf("%w: %w", ErrStreamBroken, cause)
		pool.client.cfg.logger.Warn("kvrpc: batch stream broken",
			slog.String("addr", pool.addr), slog.Int("in_flight", len(pending)), slog.Any("error", cause))
	}
	for _, e := range pending {
		e.done <- result{err: &RPCError{Addr: pool.addr, Cmd: e.cmd, Sent: true, Err: err}}
	}
}

// recvLoop routes responses to their waiters by request id until the stream
// fails.
func (s *batchStream) recvLoop(b *batchConn) {
	pool := b.cn.pool
	onFeedback := pool.client.cfg.onFeedback
	// Reused across messages: the raw bytes, their split, and the entries
	// answered by one message.
	var (
		rb    recvBuffer
		frame batchFrame
		hits  []hit
	)
	for {
		if err := s.cs.RecvMsg(&rb); err != nil {
			s.fail(b, err)
			return
		}
		if err := parseBatchFrame(rb.buf, &frame); err != nil {
			s.fail(b, err)
			return
		}
		load := frame.load
		pool.load.Store(load)
		if fb := frame.feedback; fb != nil {
			pool.feedback.Store(fb)
			if onFeedback != nil {
				onFeedback(pool.addr, fb)
			}
		}
		hits = hits[:0]
		s.mu.Lock()
		for i, id := range frame.ids {
			e, ok := s.pending[id]
			if !ok || i >= len(frame.responses) {
				continue // abandoned, unknown id or malformed response: nobody to answer
			}
			delete(s.pending, id)
			hits = append(hits, hit{e: e, i: i})
		}
		s.mu.Unlock()
		// Out of the pending map, an entry is answered only here, so the
		// copies and sends need no lock. Each caller gets its own copy: rb
		// is overwritten by the next message, and a value the caller keeps
		// should pin only its own response.
		for _, h := range hits {
			h.e.done <- result{raw: bytes.Clone(frame.responses[h.i]), load: load}
		}
		clear(hits)
	}
}

// hit is an entry answered by the message being dispatched, with the index
// of its response in that message.
type hit struct {
	e *entry
	i int
}

// inFlight counts the requests pending on the current stream. The stream is
// read through an atomic snapshot kept for this purpose.
func (b *batchConn) inFlight() int {
	s := b.current.Load()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}
