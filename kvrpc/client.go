package kvrpc

import (
	"context"
	"fmt"
	"sync"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// Invoker sends a request to the store at target and returns its response.
// It is the "next" step an [Interceptor] calls.
type Invoker func(ctx context.Context, target string, req *Request) (*Response, error)

// Interceptor wraps every request the client sends: it may inspect or stamp
// the request, time it, short-circuit it with its own response, or wrap the
// error. It must call next at most once to continue the chain, and must not
// keep req once it returned: callers may reuse a request and its message
// for their next call. Interceptors are installed with [WithInterceptors]
// and run in the order given.
type Interceptor func(ctx context.Context, target string, req *Request, next Invoker) (*Response, error)

// Load is the overload feedback a store last sent on a BatchCommands stream.
type Load struct {
	// TransportLayerLoad is TiKV's gRPC CPU usage in percent (280 = 280%).
	TransportLayerLoad uint64
	// HealthFeedback is the last health feedback (slow score) the store
	// attached to a batch response, or nil if none arrived yet.
	HealthFeedback *kvrpcpb.HealthFeedback
}

// Client sends TiKV commands to stores by address. It keeps a pool of gRPC
// connections per address, created on first use, and sends batchable
// requests through one BatchCommands stream per connection.
//
// A Client is safe for concurrent use. Close releases every connection and
// stops every goroutine the client started.
type Client struct {
	cfg    config
	invoke Invoker
	stats  counters

	ctx    context.Context // lifecycle; cancelled by Close
	cancel context.CancelFunc

	pools sync.Map // addr -> *connPool; read on the hot path without a lock
	mu    sync.Mutex
	// closed is guarded by mu; it stops new pools being created after Close.
	closed bool
}

// New returns a client configured by opts. It does no I/O: connections are
// opened lazily on the first request to each store.
func New(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{cfg: cfg, ctx: ctx, cancel: cancel}
	c.invoke = chain(cfg.interceptors, c.send)
	return c, nil
}

// chain builds the invoker that runs its in order around last. It is built
// once, so a request pays one closure call per interceptor and nothing when
// there are none.
func chain(its []Interceptor, last Invoker) Invoker {
	inv := last
	for i := len(its) - 1; i >= 0; i-- {
		it, next := its[i], inv
		inv = func(ctx context.Context, target string, req *Request) (*Response, error) {
			return it(ctx, target, req, next)
		}
	}
	return inv
}

// Send sends req to the store at addr and waits for its response, for ctx to
// end, or for the client to close. The ctx deadline is the deadline of this
// one attempt; Send never retries.
//
// Transport failures come back as [*RPCError]; use its Sent field to decide
// whether a write may be retried. A region error in the response is not an
// error here: inspect [Response.RegionError].
func (c *Client) Send(ctx context.Context, addr string, req *Request) (*Response, error) {
	if req == nil || req.msg == nil || addr == "" {
		return nil, ErrInvalidRequest
	}
	return c.invoke(ctx, addr, req)
}

// send is the innermost invoker: pick a connection and the batch or unary path.
func (c *Client) send(ctx context.Context, addr string, req *Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, &RPCError{Addr: addr, Cmd: req.Type(), Err: err}
	}
	p, err := c.pool(addr)
	if err != nil {
		return nil, &RPCError{Addr: addr, Cmd: req.Type(), Err: err}
	}
	if p.client.cfg.maxBatchSize > 0 && req.Batchable() {
		return p.pickBatch().batch.send(ctx, req)
	}
	if req.timeout > 0 {
		// The unary path is the rare one; a derived ctx is its timer.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.timeout)
		defer cancel()
	}
	return p.pick().unary(ctx, req)
}

// pool returns the connection pool for addr, creating it on first use.
func (c *Client) pool(addr string) (*connPool, error) {
	if p, ok := c.pools.Load(addr); ok {
		return p.(*connPool), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	if p, ok := c.pools.Load(addr); ok {
		return p.(*connPool), nil
	}
	p, err := newConnPool(c, addr)
	if err != nil {
		return nil, err
	}
	c.pools.Store(addr, p)
	return p, nil
}

// StoreLoad returns the overload feedback last received from the store at
// addr; the zero Load if none arrived yet.
func (c *Client) StoreLoad(addr string) Load {
	v, ok := c.pools.Load(addr)
	if !ok {
		return Load{}
	}
	p := v.(*connPool)
	return Load{TransportLayerLoad: p.load.Load(), HealthFeedback: p.feedback.Load()}
}

// CloseAddr closes the connections to addr (for example after the store's
// address changed). Requests in flight to it fail with [ErrStreamBroken] or a
// gRPC error; the next request to addr opens new connections.
func (c *Client) CloseAddr(addr string) error {
	c.mu.Lock()
	v, ok := c.pools.LoadAndDelete(addr)
	c.mu.Unlock()
	if !ok {
		return nil
	}
	return v.(*connPool).close()
}

// Close closes every connection, fails queued and in-flight requests with
// [ErrClosed], and returns once every goroutine the client started has
// stopped. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.cancel()
	var pools []*connPool
	c.pools.Range(func(k, v any) bool {
		pools = append(pools, v.(*connPool))
		c.pools.Delete(k)
		return true
	})
	c.mu.Unlock()
	var firstErr error
	for _, p := range pools {
		if err := p.close(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("kvrpc: close %s: %w", p.addr, err)
		}
	}
	return firstErr
}
