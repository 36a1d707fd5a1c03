package tso

import (
	"context"
	"log/slog"
	"sync"

	"github.com/tikvgo/tikvgo/pdclient"
)

// Client hands out timestamps from PD's Tso stream. One dispatcher goroutine
// sends all requests queued so far in a single stream message per round and
// hands the answer out in queue order, so timestamps are unique and strictly
// increasing across all callers of one Client, across reconnects and leader
// changes. It is safe for concurrent use.
type Client struct {
	cfg    config
	log    *slog.Logger
	pd     *pdclient.Client
	ownsPD bool

	// mu guards the queue of groups waiting for a round.
	mu      sync.Mutex
	queue   []*group // FIFO; only the last one takes new members
	pending int      // members of queued groups
	space   chan struct{}
	closed  bool
	kick    chan struct{} // cap 1: "the queue is not empty"

	stats stats

	ctx    context.Context // lifecycle; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// group is the set of requests one round answers. Members join it in
// order and remember their index; when the round completes the dispatcher
// sets first (or err) and closes done, which wakes every member at once
// with a single channel operation.
type group struct {
	n     int // members; fixed once the dispatcher takes the group
	done  chan struct{}
	first Timestamp
	err   error
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
	d := newDispatcher(c)
	c.wg.Add(1)
	go d.run()
	return c
}

// Close stops the dispatcher, fails queued requests with [ErrClosed] and,
// for a client made by [New], closes its pdclient. It is idempotent and
// returns after every goroutine has stopped.
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
// holds maxPending requests. It returns the group and the member's index.
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
	first := c.pending == 1
	c.mu.Unlock()
	if first {
		// Only the request that makes the queue non-empty wakes the
		// dispatcher; later ones find it awake.
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return g, idx, nil
}

// take removes and returns the oldest queued group, or nil.
func (c *Client) take() *group {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return nil
	}
	g := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	wasFull := c.pending >= c.cfg.maxPending
	c.pending -= g.n
	if wasFull && !c.closed {
		close(c.space)
		c.space = make(chan struct{})
	}
	return g
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
	// The dispatcher completes every group it queued, even when closing,
	// so waiting on the group and ctx alone is enough. Leaving the client's
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
