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

// queueFactor sizes a connection's request queue as a multiple of the max
// batch size: enough to absorb a burst while one batch is on the wire.
const queueFactor = 8

// lingerWaiting is the number of callers waiting on one connection from
// which callers stop sending their own messages and the sender yields once
// before sending, to gather a larger batch.
const lingerWaiting = 16

// entry is one request waiting for a batch response.
type entry struct {
	req *Request
	// frame is the request already encoded as one element of the
	// BatchCommandsRequest.requests field. Encoding happens in the caller's
	// goroutine, so the sender never reads the request message: a caller
	// whose ctx ended may retry (and re-stamp) the same Request at once.
	frame []byte
	done  chan result // buffered 1; written at most once
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

// entryPool recycles entries (and their done channels) answered with a
// response. Such an entry is referenced by nobody else any more: the receive
// loop took it out of the stream's pending map before answering, and the
// sender stopped reading it once the batch was encoded, which happened
// before it was registered. Entries that ended any other way (an error, an
// abandoned wait) are left to the garbage collector, since a stream may still
// hold them.
var entryPool = sync.Pool{New: func() any { return &entry{done: make(chan result, 1)} }}

// recycle resets e and returns it to entryPool. Only the caller that
// received e's response may call it.
func (e *entry) recycle() {
	e.req, e.frame, e.id = nil, nil, 0
	e.abandoned.Store(false)
	e.sent.Store(false)
	e.stream.Store(nil)
	entryPool.Put(e)
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
// messages. A single sender goroutine owns the stream: it blocks for the
// first queued request, drains whatever else is already queued (up to the
// max batch size) and sends it at once. So a lone request is never delayed,
// while under load requests naturally pile up during the previous Send and
// leave together.
type batchConn struct {
	cn    *conn
	queue chan *entry

	// sendMu is held by whoever flushes: the sender goroutine, or a lone
	// caller sending directly (see sendDirect). It guards the fields below.
	sendMu sync.Mutex
	stream *batchStream
	nextID uint64
	ids    []uint64  // scratch for one flush
	direct [1]*entry // the batch of a direct send
	// current mirrors stream for readers outside the sender goroutine.
	current atomic.Pointer[batchStream]
	// waiting counts callers between queueing a request and getting its
	// answer: the load signal that decides whether to linger for more.
	waiting atomic.Int64
}

func newBatchConn(cn *conn) *batchConn {
	b := &batchConn{cn: cn, queue: make(chan *entry, queueFactor*cn.pool.client.cfg.maxBatchSize)}
	cn.pool.wg.Go(b.sendLoop)
	return b
}

func (b *batchConn) addr() string { return b.cn.pool.addr }

// send queues req and waits for its response.
func (b *batchConn) send(ctx context.Context, req *Request) (*Response, error) {
	frame, err := encodeFrame(req)
	if err != nil {
		return nil, &RPCError{Addr: b.addr(), Cmd: req.Type(), Err: err}
	}
	e := entryPool.Get().(*entry)
	e.req, e.frame = req, frame
	closing := b.cn.pool.ctx.Done()
	if b.waiting.Add(1) > lingerWaiting || !b.sendDirect(e) {
		select {
		case b.queue <- e:
		case <-ctx.Done():
			b.waiting.Add(-1)
			return nil, &RPCError{Addr: b.addr(), Cmd: req.Type(), Err: ctx.Err()}
		case <-closing:
			b.waiting.Add(-1)
			return nil, &RPCError{Addr: b.addr(), Cmd: req.Type(), Err: b.cn.pool.closedErr()}
		}
	}
	defer b.waiting.Add(-1)
	select {
	case r := <-e.done:
		if r.err != nil {
			return nil, r.err
		}
		e.recycle()
		m, err := req.cmd.decodeBatch(r.raw)
		if err != nil {
			return nil, &RPCError{Addr: b.addr(), Cmd: req.Type(), Sent: true, Err: err}
		}
		return &Response{msg: m, TransportLayerLoad: r.load, Batched: true}, nil
	case <-ctx.Done():
		e.abandon()
		return nil, &RPCError{Addr: b.addr(), Cmd: req.Type(), Sent: e.sent.Load(), Err: ctx.Err()}
	case <-closing:
		e.abandon()
		return nil, &RPCError{Addr: b.addr(), Cmd: req.Type(), Sent: e.sent.Load(), Err: b.cn.pool.closedErr()}
	}
}

// sendDirect sends e from the caller's goroutine when nobody else is
// sending on the connection (nothing queued, the send lock free), saving
// the hand-off to the sender goroutine and its wake-up. Callers try it
// while fewer than lingerWaiting of them wait on the connection: at that
// load a message of one request costs less than the hop (profiles at 16
// callers on 2 cores were dominated by the sender's futex wake-ups), while
// above it the sender gathers batches the store serves more cheaply. It
// reports false, having done nothing, when the caller should queue instead. A direct Send does not watch the caller's ctx; it blocks
// only as long as gRPC's flow control does, with 1 GiB windows rarely.
func (b *batchConn) sendDirect(e *entry) bool {
	cfg := &b.cn.pool.client.cfg
	if cfg.overloadWait > 0 && b.cn.pool.load.Load() > cfg.overloadLoad {
		return false // the sender waits to pack more while the store is overloaded
	}
	if len(b.queue) != 0 || !b.sendMu.TryLock() {
		return false
	}
	defer b.sendMu.Unlock()
	if b.cn.pool.ctx.Err() != nil {
		return false // closing: the queue path reports it
	}
	b.direct[0] = e
	b.flush(b.direct[:1])
	b.direct[0] = nil
	b.cn.pool.client.stats.directSends.Add(1)
	return true
}

func (b *batchConn) sendLoop() {
	cfg := &b.cn.pool.client.cfg
	closing := b.cn.pool.ctx.Done()
	batch := make([]*entry, 0, cfg.maxBatchSize)
	var timer *time.Timer
	for {
		batch = batch[:0]
		select {
		case e := <-b.queue:
			batch = append(batch, e)
		case <-closing:
			b.sendMu.Lock()
			b.shutdown()
			b.sendMu.Unlock()
			return
		}
		batch = b.drain(batch, cfg.maxBatchSize)
		// Under load (many callers waiting on this connection, few of
		// them queued) yield once so that callers about to queue can do
		// so and share this message. At low load waiting is small and
		// nothing is delayed.
		if len(batch) < cfg.maxBatchSize && b.waiting.Load() >= lingerWaiting {
			runtime.Gosched()
			batch = b.drain(batch, cfg.maxBatchSize)
		}
		if cfg.overloadWait > 0 && len(batch) < cfg.overloadSize &&
			b.cn.pool.load.Load() > cfg.overloadLoad {
			if timer == nil {
				timer = time.NewTimer(cfg.overloadWait)
			} else {
				timer.Reset(cfg.overloadWait)
			}
			batch = b.waitMore(batch, min(cfg.overloadSize, cfg.maxBatchSize), timer.C, closing)
			timer.Stop()
		}
		b.sendMu.Lock()
		b.flush(batch)
		b.sendMu.Unlock()
	}
}

// drain appends already-queued entries without blocking.
func (b *batchConn) drain(batch []*entry, max int) []*entry {
	for len(batch) < max {
		select {
		case e := <-b.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// waitMore blocks until batch holds size entries, the timer fires or the
// pool closes. Only used while the store reports overload.
func (b *batchConn) waitMore(batch []*entry, size int, timeout <-chan time.Time, closing <-chan struct{}) []*entry {
	for len(batch) < size {
		select {
		case e := <-b.queue:
			batch = append(batch, e)
		case <-timeout:
			return batch
		case <-closing:
			return batch
		}
	}
	return batch
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
			e.done <- result{err: &RPCError{Addr: b.addr(), Cmd: e.req.Type(), Err: err}}
		}
		return
	}
	ids := slices.Grow(b.ids[:0], len(live))[:len(live)]
	b.ids = ids
	for i := range live {
		b.nextID++
		ids[i] = b.nextID
	}
	frame := encodeBatch(live, ids, uint64(time.Now().UnixNano()))
	if !s.register(ids, live) {
		return // the stream failed meanwhile and already failed the entries
	}
	if err := s.cs.SendMsg(frame); err != nil {
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

// shutdown fails everything still queued when the pool closes.
func (b *batchConn) shutdown() {
	err := b.cn.pool.closedErr()
	if b.stream != nil {
		b.stream.fail(b, err)
	}
	for {
		select {
		case e := <-b.queue:
			e.done <- result{err: &RPCError{Addr: b.addr(), Cmd: e.req.Type(), Err: err}}
		default:
			return
		}
	}
}

// batchStream is one BatchCommands stream and the requests in flight on it.
type batchStream struct {
	cs     tikvpb.Tikv_BatchCommandsClient
	cancel context.CancelFunc

	mu      sync.Mutex
	pending map[uint64]*entry
	closed  bool
}

func (s *batchStream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// register records entries as in flight under ids. It reports false, after
// failing the entries, if the stream already broke.
func (s *batchStream) register(ids []uint64, es []*entry) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		for _, e := range es {
			e.done <- result{err: &RPCError{Cmd: e.req.Type(), Err: ErrStreamBroken}}
		}
		return false
	}
	for i, e := range es {
		e.sent.Store(true)
		e.id = ids[i]
		s.pending[ids[i]] = e
		e.stream.Store(s)
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
		e.done <- result{err: &RPCError{Addr: pool.addr, Cmd: e.req.Type(), Sent: true, Err: err}}
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
