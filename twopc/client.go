package twopc

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/tso"
)

// TimestampSource hands out timestamps from the cluster's TSO; *tso.Client
// satisfies it, and tests supply fakes. Its timestamps' physical part is
// also the clock lock TTLs are judged against.
type TimestampSource interface {
	GetTS(ctx context.Context) (tso.Timestamp, error)
}

// Client runs Percolator commits and resolves other transactions' locks
// over a shared region cache, sender and timestamp source. It is safe for
// concurrent use. Background work (secondary commits, cleanups,
// heartbeats) runs on the client's lifetime: Close waits for it.
type Client struct {
	sender   *locate.Sender
	router   *locate.Router
	codec    *keycodec.Codec
	ts       TimestampSource
	cfg      config
	resolver *Resolver
	// sizeLimit and keyLimit are the batch limits of prewrites (bytes and
	// keys) and of key-only requests (keys), built once.
	sizeLimit, keyLimit locate.BatchOption

	life    context.Context
	cancel  context.CancelFunc
	bg      sync.WaitGroup
	bgMu    sync.Mutex // guards closed, pending, idle and hbq; orders bg.Go before Close's bg.Wait
	closed  bool
	pending int
	idle    chan struct{} // closed when pending drops to 0
	hbq     heartbeatQueue
	bcast   broadcastStats
}

// New returns a client that sends through sender (and its region cache)
// and takes timestamps from ts. Keys are wire keys: under API V2 the
// caller applies the keyspace codec given with [WithCodec]. New does no
// I/O.
func New(sender *locate.Sender, ts TimestampSource, opts ...Option) (*Client, error) {
	if sender == nil || ts == nil {
		return nil, fmt.Errorf("twopc: %w: nil sender or timestamp source", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	codec := cfg.codec
	if codec == nil {
		codec, _ = keycodec.NewV1(keycodec.Txn) // cannot fail for a valid mode
	}
	c := &Client{sender: sender, router: locate.NewRouter(sender, codec), codec: codec, ts: ts, cfg: cfg, idle: make(chan struct{})}
	close(c.idle)
	c.sizeLimit, c.keyLimit = limits(cfg.batchSize, cfg.batchKeys), limits(math.MaxInt, cfg.batchKeys)
	c.life, c.cancel = context.WithCancel(context.Background())
	c.resolver = newResolver(c)
	return c, nil
}

// Resolver returns the client's lock resolver.
func (c *Client) Resolver() *Resolver { return c.resolver }

// Close stops background work and waits for it: secondary commits still
// running are abandoned (their locks are resolved by later readers, which
// find the primary committed). Close is idempotent.
func (c *Client) Close() error {
	c.bgMu.Lock()
	c.closed = true
	c.bgMu.Unlock()
	c.cancel()
	c.bg.Wait()
	return nil
}

// Drain waits until no background work (secondary commits, cleanups) is
// running, or ctx is done.
func (c *Client) Drain(ctx context.Context) error {
	for {
		c.bgMu.Lock()
		n, ch := c.pending, c.idle
		c.bgMu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// goBackground runs fn on the client's lifetime ctx; it returns false (and
// runs nothing) after Close.
func (c *Client) goBackground(fn func(ctx context.Context)) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed {
		return false
	}
	c.pending++
	if c.pending == 1 {
		c.idle = make(chan struct{})
	}
	c.bg.Go(func() {
		defer func() {
			c.bgMu.Lock()
			c.pending--
			if c.pending == 0 {
				close(c.idle)
			}
			c.bgMu.Unlock()
		}()
		fn(c.life)
	})
	return true
}
