package tso

import (
	"context"
	"log/slog"
	"sync"

	"github.com/tikvgo/tikvgo/pdclient"
)

// Client hands out timestamps from PD's Tso stream. One dispatcher goroutine
// sends every queued request in a single stream message per round and hands
// the answer out in order, so timestamps are unique and strictly increasing
// across all callers of one Client, across reconnects and leader changes.
// It is safe for concurrent use.
type Client struct {
	cfg    config
	log    *slog.Logger
	pd     *pdclient.Client
	ownsPD bool

	reqs chan *request
	pool sync.Pool

	ctx    context.Context // lifecycle; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// request is one pending timestamp. The dispatcher fills ts/err and then
// sends one token on done, which publishes them to the waiter.
type request struct {
	ctx  context.Context
	done chan struct{}
	ts   Timestamp
	err  error
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
// close pd. ctx is accepted for symmetry with [New]; nothing is done with it
// yet because the stream is opened lazily.
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
		reqs:   make(chan *request, cfg.maxPending),
	}
	c.pool.New = func() any { return &request{done: make(chan struct{}, 1)} }
	c.ctx, c.cancel = context.WithCancel(context.Background())
	d := newDispatcher(c)
	c.wg.Add(1)
	go d.run()
	return c
}

// Close stops the dispatcher, fails pending requests with [ErrClosed] and,
// for a client made by [New], closes its pdclient. It is idempotent and
// returns after every goroutine has stopped.
func (c *Client) Close() error {
	c.once.Do(func() {
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

// enqueue hands r to the dispatcher, blocking while the queue is full.
func (c *Client) enqueue(ctx context.Context, r *request) error {
	select {
	case c.reqs <- r:
		return nil
	default:
	}
	select {
	case c.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return ErrClosed
	}
}

// GetTS returns a fresh timestamp, greater than every timestamp this client
// returned before. It waits at most until ctx is done.
func (c *Client) GetTS(ctx context.Context) (Timestamp, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if c.ctx.Err() != nil {
		return 0, ErrClosed
	}
	r := c.pool.Get().(*request)
	r.ctx = ctx
	if err := c.enqueue(ctx, r); err != nil {
		r.ctx = nil
		c.pool.Put(r)
		return 0, err
	}
	if c.ctx.Err() != nil {
		// Close raced with the enqueue; the dispatcher may already have
		// drained the queue, so do not wait for it to answer.
		return 0, ErrClosed
	}
	// The dispatcher answers every request it finds in the queue, even when
	// closing (Close cancels before the final drain, and the check above saw
	// no cancel), so waiting on done and ctx alone is enough. Leaving the
	// client's shared lifecycle channel out of this select keeps thousands
	// of concurrent waiters from contending on one channel lock.
	select {
	case <-r.done:
		ts, err := r.ts, r.err
		r.ctx, r.err = nil, nil
		c.pool.Put(r) // the dispatcher is done with r: it sent the token last
		return ts, err
	case <-ctx.Done():
		// The dispatcher may still answer r; it is left to the GC.
		return 0, ctx.Err()
	}
}

// Future is the pending result of [Client.GetTSAsync]. It is not safe for
// concurrent use by several goroutines.
type Future struct {
	c    *Client
	r    *request
	err  error // set when enqueueing failed
	got  bool
	ts   Timestamp
	rerr error
}

// GetTSAsync queues a timestamp request and returns at once (unless the
// queue is full, when it waits, honouring ctx). ctx also lets the dispatcher
// skip the request if it is cancelled before being sent.
func (c *Client) GetTSAsync(ctx context.Context) *Future {
	f := &Future{c: c}
	if err := ctx.Err(); err != nil {
		f.err = err
		return f
	}
	if c.ctx.Err() != nil {
		f.err = ErrClosed
		return f
	}
	f.r = &request{ctx: ctx, done: make(chan struct{}, 1)}
	f.err = c.enqueue(ctx, f.r)
	return f
}

// Wait returns the timestamp, waiting at most until ctx is done. Once it
// has returned a result it returns the same result again.
func (f *Future) Wait(ctx context.Context) (Timestamp, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.got {
		return f.ts, f.rerr
	}
	select {
	case <-f.r.done:
		f.got, f.ts, f.rerr = true, f.r.ts, f.r.err
		return f.ts, f.rerr
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-f.c.ctx.Done():
		return 0, ErrClosed
	}
}
