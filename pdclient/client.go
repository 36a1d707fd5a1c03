package pdclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/retry"
)

// Client talks to a PD cluster. It discovers the members, follows the
// leader, and sends every RPC to the current leader. It is safe for
// concurrent use; Close releases its goroutine and connections.
type Client struct {
	cfg       config
	log       *slog.Logger
	clusterID atomic.Uint64

	ctx    context.Context // lifecycle; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn // nil once closed
	urls  []string

	leader      atomic.Pointer[Leader]
	checkLeader chan struct{}
	closeOnce   sync.Once
	stats       stats
}

// New discovers the PD cluster behind endpoints ("host:port" or
// "http://host:port"), learns its cluster id and leader, and starts the
// background member refresh. ctx bounds only this initial discovery, which
// is retried with backoff until it succeeds or ctx is done.
func New(ctx context.Context, endpoints []string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var urls []string
	for _, e := range endpoints {
		if a := normalizeAddr(e); a != "" {
			urls = append(urls, a)
		}
	}
	if len(urls) == 0 {
		return nil, ErrNoEndpoints
	}
	c := &Client{
		cfg:         cfg,
		log:         cfg.logger,
		conns:       make(map[string]*grpc.ClientConn),
		urls:        urls,
		checkLeader: make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	// Initial discovery is bounded by ctx only: the caller decides how long
	// to wait for PD to come up.
	bo := retry.New(retry.Unbounded)
	for {
		err := c.discover(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, ErrClusterIDMismatch) {
			c.Close()
			return nil, err
		}
		if werr := bo.Backoff(ctx, cfg.kind, err); werr != nil {
			c.Close()
			return nil, fmt.Errorf("pdclient: initial discovery: %w", werr)
		}
	}
	c.wg.Add(1)
	go c.discoveryLoop()
	return c, nil
}

// ClusterID returns the id of the PD cluster, learned at discovery.
func (c *Client) ClusterID() uint64 { return c.clusterID.Load() }

// Close stops the background loop and closes every connection. It is
// idempotent; calls in flight fail with [ErrClosed].
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.mu.Lock()
		conns := c.conns
		c.conns = nil
		c.mu.Unlock()
		for _, cc := range conns {
			_ = cc.Close()
		}
		if l := c.leader.Load(); l != nil {
			close(l.changed)
		}
	})
	return nil
}

// RequestHeader returns a fresh request header carrying the cluster id and
// caller id, for callers (such as package tso) that send their own RPCs on
// [Leader.Conn].
func (c *Client) RequestHeader() *pdpb.RequestHeader { return c.header() }

func (c *Client) header() *pdpb.RequestHeader {
	return &pdpb.RequestHeader{ClusterId: c.clusterID.Load(), CallerId: c.cfg.callerID}
}

// CheckResponseHeader returns the error a PD response header carries: a
// [*ClusterIDMismatchError] when it comes from another cluster, a [*PDError]
// when PD reported one, nil otherwise.
func (c *Client) CheckResponseHeader(h *pdpb.ResponseHeader) error {
	return c.checkHeader(h, "")
}

func (c *Client) checkHeader(h *pdpb.ResponseHeader, addr string) error {
	if h == nil {
		return &PDError{Type: pdpb.ErrorType_UNKNOWN, Message: "response has no header"}
	}
	if want := c.clusterID.Load(); h.ClusterId != want {
		return &ClusterIDMismatchError{Want: want, Got: h.ClusterId, Addr: addr}
	}
	if e := h.Error; e != nil && e.Type != pdpb.ErrorType_OK {
		return &PDError{Type: e.Type, Message: e.Message}
	}
	return nil
}

// errFollowerMiss marks a REGION_NOT_FOUND from a follower, which is worth
// retrying on the leader.
var errFollowerMiss = status.Error(codes.Unavailable, "pdclient: follower has no such region")

// follower returns a member other than the leader to try, rotating with
// try, or nil when there is none.
func (c *Client) follower(leaderAddr string, try int) *Leader {
	c.mu.Lock()
	var others []string
	for _, u := range c.urls {
		if u != leaderAddr {
			others = append(others, u)
		}
	}
	c.mu.Unlock()
	if len(others) == 0 {
		return nil
	}
	addr := others[try%len(others)]
	cc, err := c.conn(addr)
	if err != nil {
		return nil
	}
	return &Leader{Addr: addr, conn: cc, pd: pdpb.NewPDClient(cc)}
}

type headerResponse interface {
	GetHeader() *pdpb.ResponseHeader
}

// callKind says whether a call may be repeated after an ambiguous failure.
type callKind int

const (
	// idempotent calls (reads, and GC calls whose repetition converges on
	// the same state) retry on every retryable error.
	idempotent callKind = iota
	// mutating calls retry only when PD provably did not apply them.
	mutating
)

// invoke sends one RPC to the leader, checks the response header, and
// retries retryable failures within the retry budget and ctx.
func invoke[R headerResponse](ctx context.Context, c *Client, method string, kind callKind, cc callConfig,
	fn func(ctx context.Context, l *Leader) (R, error)) (R, error) {
	var zero R
	if c.ctx.Err() != nil {
		return zero, errClosed
	}
	if cc.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cc.timeout)
		defer cancel()
	}
	var bo *retry.Backoffer // made at the first failure: the happy path allocates nothing
	leaderDown := false     // the last attempt could not reach the leader
	followerTries := 0
	for {
		if c.ctx.Err() != nil {
			return zero, errClosed
		}
		l := c.leader.Load()
		target := l
		if cc.follower && leaderDown {
			if f := c.follower(l.Addr, followerTries); f != nil {
				target = f
				followerTries++
			}
		}
		actx, cancel := context.WithTimeout(ctx, c.cfg.rpcTimeout)
		resp, err := fn(actx, target)
		cancel()
		leaderDown = false
		if err == nil {
			if err = c.checkHeader(resp.GetHeader(), target.Addr); err == nil {
				return resp, nil
			}
			var pe *PDError
			if target != l && errors.As(err, &pe) && pe.Type == pdpb.ErrorType_REGION_NOT_FOUND {
				// A follower's region cache may lag; ask the leader again.
				err = &RPCError{Method: method, Addr: target.Addr, Err: errFollowerMiss}
			}
		} else {
			err = &RPCError{Method: method, Addr: target.Addr, Err: err}
			if isLeaderRPCErr(err) {
				leaderDown = target == l
				c.ScheduleCheckLeader()
			}
		}
		if c.ctx.Err() != nil {
			return zero, errClosed
		}
		if ctx.Err() != nil {
			return zero, fmt.Errorf("pdclient: %s: %w (last error: %w)", method, ctx.Err(), err)
		}
		if !shouldRetry(err, kind) {
			return zero, err
		}
		if bo == nil {
			bo = retry.New(c.cfg.retryBudget)
		}
		// The wait ends early when discovery publishes a new leader; with a
		// follower to try, there is no reason to wait at all.
		c.stats.retries.Add(1)
		if leaderDown && cc.follower {
			continue
		}
		if werr := bo.BackoffOrWake(ctx, c.cfg.kind, l.changed, err); werr != nil {
			if c.ctx.Err() != nil {
				return zero, errClosed
			}
			return zero, fmt.Errorf("pdclient: %s: %w", method, werr)
		}
	}
}
