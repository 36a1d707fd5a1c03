package tso

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
)

// Client hands out timestamps from PD's Tso stream. Callers join the group
// of requests waiting for the next round; whoever finds room in the
// stream's pipeline sends the waiting groups itself, one stream message per
// group, and the stream's receive goroutine answers them in the order they
// were sent. Timestamps are therefore unique and strictly increasing across
// all callers of one Client, across reconnects and leader changes. It is
// safe for concurrent use.
type Client struct {
	cfg    config
	log    *slog.Logger
	pd     *pdclient.Client
	ownsPD bool

	// mu guards everything below up to stats, and the fields of the
	// current stream that say what is in flight.
	mu      sync.Mutex
	queue   []*group // unsent, FIFO; only the last one takes new members
	pending int      // members of queued groups
	space   chan struct{}
	closed  bool
	// st is the stream groups are sent on; nil while there is none, and
	// then the dispatcher owes the queue a new one. A broken stream stays
	// here until its receive goroutine has put its unanswered groups back
	// at the front of the queue, so no later group can overtake them.
	st *stream
	// sending is held by the one goroutine sending on st: gRPC allows one
	// sender at a time, and holding it across the send keeps groups on the
	// wire in queue order.
	sending bool
	// last is the largest timestamp handed out.
	last Timestamp
	// broke is the error of the last stream that broke with work in flight
	// and brokeAnswered whether it had answered anything; the dispatcher
	// takes them to decide on backoff.
	broke         error
	brokeAnswered bool
	// burst is set when a round of several requests was answered: their
	// callers are waking and will mostly call again at once. gathering is
	// held by the first of them while it yields so the rest can join its
	// group before it is sent; see join.
	burst, gathering bool
	kick             chan struct{} // cap 1: "the dispatcher has work"

	stats stats

	ctx    context.Context // lifecycle; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// group is the set of requests one round answers. Members join it in order
// and remember their index; when the round completes, first (or err) is set
// and done closed, which wakes every member with one channel operation.
type group struct {
	n      int // members; fixed while the group is in flight
	done   chan struct{}
	first  Timestamp
	err    error
	sentAt time.Time // when the group was last sent; for the round timeout
}

// New connects to the PD cluster behind endpoints with its own pdclient
// (configure it with [WithPDOptions]); Close closes it. ctx bounds only the
// initial discovery.
func New(ctx context.Context, endpoints []string, opts ...Option) (*Client, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	pd, err := pdclient.New(ctx, endpoints, cfg.pdOpts...)
	if err != nil {
		return nil, err
	}
	return start(cfg, pd, true), nil
}

// NewFromPD builds a client on an existing pdclient, reusing its discovery
// and connections, so a process keeps one discovery loop. Close does not
// close pd. The stream is opened lazily; ctx is only checked.
func NewFromPD(ctx context.Context, pd *pdclient.Client, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	return start(cfg, pd, false), nil
}

func buildConfig(opts []Option) (config, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	return cfg, cfg.validate()
}

func start(cfg config, pd *pdclient.Client, owns bool) *Client {
	c := &Client{
		cfg:    cfg,
		log:    cfg.logger,
		pd:     pd,
		ownsPD: owns,
		space:  make(chan struct{}),
		kick:   make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.dispatch()
	return c
}

// Close stops the dispatcher and the stream, fails waiting requests with
// [ErrClosed] and, for a client made by [New], closes its pdclient. It is
// idempotent and returns after every goroutine has stopped.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		close(c.space) // wake callers waiting for room; they see closed
		c.mu.Unlock()
		c.cancel()
		c.wg.Wait()
		if c.ownsPD {
			_ = c.pd.Close()
		}
	})
	return nil
}

// PD returns the pdclient this client uses.
func (c *Client) PD() *pdclient.Client { return c.pd }

// join adds one request to the last queued group, waiting while the queue
// holds maxPending requests, and then sends what the pipeline has room for.
// It returns the group and the member's index.
func (c *Client) join(ctx context.Context) (*group, int, error) {
	c.mu.Lock()
	for {
		if c.closed {
			c.mu.Unlock()
			return nil, 0, errClosed
		}
		if c.pending < c.cfg.maxPending {
			break
		}
		space := c.space
		c.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
		c.mu.Lock()
	}
	var g *group
	if n := len(c.queue); n > 0 && c.queue[n-1].n < c.cfg.maxBatch {
		g = c.queue[n-1]
	} else {
		g = &group{done: make(chan struct{})}
		c.queue = append(c.queue, g)
	}
	idx := g.n
	g.n++
	c.pending++
	if c.st != nil {
		if c.burst && !c.gathering {
			// The first caller back from a round of several would
			// otherwise send a round of one while the others are still
			// waking up. Let them run and join first: one yield per
			// round, and always followed by a send, so nothing waits on
			// callers that do not come back.
			c.burst, c.gathering = false, true
			c.mu.Unlock()
			runtime.Gosched()
			c.mu.Lock()
			c.gathering = false
		}
		// The caller sends its own group when the pipeline has room: at
		// low load that saves a hand-off to another goroutine per call.
		c.pumpLocked()
		c.mu.Unlock()
	} else {
		c.mu.Unlock()
		// No stream: the dispatcher opens one and sends the queue.
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return g, idx, nil
}

// takeLocked removes and returns the oldest queued group, or nil.
func (c *Client) takeLocked() *group {
	if len(c.queue) == 0 {
		return nil
	}
	g := c.queue[0]
	copy(c.queue, c.queue[1:])
	c.queue[len(c.queue)-1] = nil
	c.queue = c.queue[:len(c.queue)-1]
	wasFull := c.pending >= c.cfg.maxPending
	c.pending -= g.n
	if wasFull && !c.closed {
		close(c.space)
		c.space = make(chan struct{})
	}
	return g
}

// requeueLocked puts groups that were in flight on a broken stream back at
// the front of the queue, in the order they were sent, so they go out again
// before anything that queued after them.
func (c *Client) requeueLocked(gs []*group) {
	if len(gs) == 0 {
		return
	}
	n := 0
	for _, g := range gs {
		n += g.n
	}
	c.pending += n
	c.queue = append(c.queue, gs...)
	copy(c.queue[len(gs):], c.queue[:len(c.queue)-len(gs)])
	copy(c.queue, gs)
}

// pumpLocked sends queued groups on the current stream while its pipeline
// has room and no one else is sending. It is called with c.mu held: by a
// caller that just queued, by the receive goroutine after an answer, and by
// the dispatcher after opening a stream. It releases c.mu around each send
// and returns with it held. It re-reads c.st after every send, so a sender
// that outlived its stream goes on with the new one, which the dispatcher
// could not feed while the send role was taken.
func (c *Client) pumpLocked() {
	for !c.sending && !c.gathering && !c.closed && len(c.queue) > 0 {
		st := c.st
		if st == nil || st.broken || len(st.sent) >= c.cfg.depth {
			return
		}
		select {
		case <-st.leader.Changed():
			// Follow the leader before PD has to tell us; what is in
			// flight on the old stream is sent again on the new one.
			c.breakLocked(st, errLeaderChanged)
			return
		default:
		}
		g := c.takeLocked()
		g.sentAt = time.Now()
		st.sent = append(st.sent, g)
		c.sending = true
		// Read the count under the lock: if the stream breaks during the
		// send, its receive goroutine puts g back at the front of the
		// queue, where callers may join it before this send returns.
		n := g.n
		c.mu.Unlock()
		err := st.send(n)
		c.mu.Lock()
		c.sending = false
		if err != nil {
			// gRPC tells why the stream ended through RecvMsg, which the
			// receive goroutine is blocked in; the group is in st.sent
			// already, so that goroutine resends or fails it. Stop
			// sending here; the round timer still bounds the wait.
			st.broken = true
		}
	}
}

func (g *group) ts(idx int) (Timestamp, error) {
	if g.err != nil {
		return 0, g.err
	}
	return g.first + Timestamp(idx), nil
}

// GetTS returns a fresh timestamp, greater than every timestamp this client
// returned before. It waits at most until ctx is done.
func (c *Client) GetTS(ctx context.Context) (Timestamp, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	g, idx, err := c.join(ctx)
	if err != nil {
		return 0, err
	}
	// Every queued or sent group is completed, even when closing, so
	// waiting on the group and ctx alone is enough. Leaving the client's
	// shared lifecycle channel out of this select keeps thousands of
	// concurrent waiters from contending on one channel lock.
	select {
	case <-g.done:
		return g.ts(idx)
	case <-ctx.Done():
		// The timestamp reserved for this caller is simply never used.
		return 0, ctx.Err()
	}
}

// Future is the pending result of [Client.GetTSAsync]. It is a small value;
// Wait may be called any number of times, from any goroutine.
type Future struct {
	g   *group
	idx int
	err error // set when queueing failed
}

// GetTSAsync queues a timestamp request and returns at once (unless the
// queue is full, when it waits, honouring ctx).
func (c *Client) GetTSAsync(ctx context.Context) Future {
	if err := ctx.Err(); err != nil {
		return Future{err: err}
	}
	g, idx, err := c.join(ctx)
	return Future{g: g, idx: idx, err: err}
}

// Wait returns the timestamp, waiting at most until ctx is done.
func (f Future) Wait(ctx context.Context) (Timestamp, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.g == nil {
		return 0, ErrClosed // the zero Future
	}
	select {
	case <-f.g.done:
		return f.g.ts(f.idx)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
