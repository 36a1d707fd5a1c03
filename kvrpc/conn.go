package kvrpc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// connPool is the set of gRPC connections to one store address. Its
// connections are created together and closed together; requests pick one
// round-robin, skipping connections that are not ready while one is.
type connPool struct {
	client *Client
	addr   string
	conns  []*conn
	next   atomic.Uint32

	// load and feedback are the latest overload signals from the store.
	load     atomic.Uint64
	feedback atomic.Pointer[kvrpcpb.HealthFeedback]

	ctx    context.Context // cancelled by close; child of the client's
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// conn is one gRPC connection with its unary stub and, when batching is on,
// its BatchCommands sender.
type conn struct {
	pool  *connPool
	cc    *grpc.ClientConn
	stub  tikvpb.TikvClient
	batch *batchConn
	// ready mirrors cc's connectivity state being Ready, kept by watch so
	// that pick reads an atomic instead of taking the ClientConn's lock.
	ready atomic.Bool
}

// initialWindowSize is the HTTP/2 stream and connection flow-control window
// (1 GiB, TiKV's own client default).
const initialWindowSize = 1 << 30

func dialOptions(cfg *config) []grpc.DialOption {
	creds := insecure.NewCredentials()
	if cfg.tlsConfig != nil {
		creds = credentials.NewTLS(cfg.tlsConfig)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(wireCodec{})),
		// Large fixed flow-control windows, as TiKV clients use: a batch
		// of scan or batch-get responses then never stalls on window
		// updates, and gRPC skips its BDP-estimation pings (one ping
		// round trip per burst of data otherwise). Options passed with
		// WithDialOptions come later and override these.
		grpc.WithInitialWindowSize(initialWindowSize),
		grpc.WithInitialConnWindowSize(initialWindowSize),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  cfg.reconnectBase,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   cfg.reconnectMax,
			},
			MinConnectTimeout: cfg.dialTimeout,
		}),
	}
	if cfg.keepaliveTime > 0 {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                cfg.keepaliveTime,
			Timeout:             cfg.keepaliveTimeout,
			PermitWithoutStream: true,
		}))
	}
	return append(opts, cfg.dialOptions...)
}

func newConnPool(c *Client, addr string) (*connPool, error) {
	ctx, cancel := context.WithCancel(c.ctx)
	p := &connPool{client: c, addr: addr, ctx: ctx, cancel: cancel}
	opts := dialOptions(&c.cfg)
	for range c.cfg.connCount {
		// NewClient does no I/O; the connection is made on first use.
		cc, err := grpc.NewClient(addr, opts...)
		if err != nil {
			_ = p.close()
			return nil, err
		}
		cn := &conn{pool: p, cc: cc, stub: tikvpb.NewTikvClient(cc)}
		if c.cfg.maxBatchSize > 0 {
			cn.batch = newBatchConn(cn)
		}
		p.conns = append(p.conns, cn)
	}
	if len(p.conns) > 1 { // pick ignores readiness with a single connection
		for _, cn := range p.conns {
			p.wg.Go(func() { cn.watch(ctx) })
		}
	}
	return p, nil
}

// watch keeps cn.ready current until ctx ends. An idle connection (new, or
// idled by gRPC) is asked to connect, so that every connection of the pool
// becomes ready even though pick only hands out ready ones once one is.
func (cn *conn) watch(ctx context.Context) {
	for {
		s := cn.cc.GetState()
		cn.ready.Store(s == connectivity.Ready)
		if s == connectivity.Idle {
			cn.cc.Connect()
		}
		if !cn.cc.WaitForStateChange(ctx, s) {
			cn.ready.Store(false)
			return
		}
	}
}

// pick returns the next connection round-robin, skipping connections that
// are not ready (connecting, or backing off after a failure) while another
// one is: a request on a connection in transient failure fails at once,
// which the caller would count against the store although a sibling
// connection to the same store works. When none is ready, the round-robin
// choice is returned and the request waits or fails on it as gRPC decides.
func (p *connPool) pick() *conn {
	n := uint32(len(p.conns))
	if n == 1 {
		return p.conns[0]
	}
	i := p.next.Add(1)
	for k := range n {
		if cn := p.conns[(i+k)%n]; cn.ready.Load() {
			return cn
		}
	}
	return p.conns[i%n]
}

// pickBatch returns the connection for a batchable request: the first ready
// one (in pool order) on which fewer than lingerWaiting callers wait, else
// the round-robin choice of pick. Requests thus share one connection until
// it is busy enough to batch, and spread only beyond that. Spreading them
// evenly at every load costs one write syscall per message per connection
// on each side: at 16 callers on 2 cores with 4 connections, write(2) in
// gRPC's writer was 39% of the client's CPU, 8% for the same load on one
// stream, where the writer coalesces the messages queued meanwhile.
func (p *connPool) pickBatch() *conn {
	if len(p.conns) == 1 {
		return p.conns[0]
	}
	for _, cn := range p.conns {
		if cn.ready.Load() && cn.batch.waiting.Load() < lingerWaiting {
			return cn
		}
	}
	return p.pick()
}

// closedErr is the cause reported to requests interrupted by the pool
// closing: ErrClosed if the whole client closed, else ErrStreamBroken (the
// address was closed and the caller may retry on a fresh pool).
func (p *connPool) closedErr() error {
	if p.client.ctx.Err() != nil {
		return errClosed
	}
	return ErrStreamBroken
}

func (p *connPool) close() error {
	var errs []error
	p.once.Do(func() {
		p.cancel()
		p.wg.Wait()
		for _, cn := range p.conns {
			if err := cn.cc.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

// unary sends req as a plain gRPC call.
func (cn *conn) unary(ctx context.Context, req *Request) (*Response, error) {
	cn.pool.client.stats.unaryRequests.Add(1)
	m, err := req.cmd.unary(ctx, cn.stub, req.msg)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		} else if _, ok := ctx.Deadline(); ok && status.Code(err) == codes.DeadlineExceeded {
			// The store ended the call at the deadline sent along with
			// it, a moment before our own timer fired.
			err = context.DeadlineExceeded
		} else if cn.pool.ctx.Err() != nil {
			err = cn.pool.closedErr()
		}
		// A unary call may have reached the store before failing, so Sent
		// is conservatively true.
		return nil, &RPCError{Addr: cn.pool.addr, Cmd: req.Type(), Sent: true, Err: err}
	}
	return &Response{msg: m}, nil
}
