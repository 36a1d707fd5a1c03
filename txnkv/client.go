package txnkv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pingcap/kvproto/pkg/keyspacepb"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/latches"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// TimestampSource hands out TSO timestamps; *tso.Client satisfies it.
type TimestampSource interface {
	GetTS(ctx context.Context) (tso.Timestamp, error)
}

// GCStateSource reads the cluster's GC state; *pdclient.Client satisfies
// it.
type GCStateSource interface {
	GetGCState(ctx context.Context, keyspaceID uint32, withBarriers bool, opts ...pdclient.CallOption) (pdclient.GCState, error)
}

// Cluster is the shared client stack NewWithCluster builds a transactional
// client on, so that raw and transactional clients share one PD client,
// one region cache, one RPC client and one TSO stream. The client never
// closes these parts.
type Cluster struct {
	// GC reads the transaction safe point; nil disables the GC-too-early
	// check. If it also lists stores (GetAllStores, as *pdclient.Client
	// does), WithBoundedStaleness asks the stores for their safe ts.
	GC GCStateSource
	// Cache is the region cache.
	Cache *locate.Cache
	// RPC sends requests to stores; *kvrpc.Client satisfies it.
	RPC locate.RPCClient
	// TSO hands out start, for-update and commit timestamps.
	TSO TimestampSource
}

// Client is the transactional client: it begins transactions and opens
// snapshots over one shared stack, commits through package twopc and
// resolves locks with twopc's resolver. It is safe for concurrent use and
// immutable after New; Close releases what it owns.
type Client struct {
	cfg     config
	cache   *locate.Cache
	sender  *locate.Sender
	router  *locate.Router
	codec   *keycodec.Codec // user keys <-> wire keys (API V2 keyspace)
	ts      TimestampSource
	gc      GCStateSource
	rpc     locate.RPCClient
	tp      *twopc.Client
	latches *latches.Latches

	safePoints *gc.SafePointCache // nil: no GC-too-early check

	closed  atomic.Bool
	closeMu sync.Mutex
	closers []func() error // parts New built, closed in order
}

// New connects to the PD cluster at pdEndpoints and builds a
// transactional client with its own PD client, TSO client, region cache
// and RPC client. ctx bounds only the discovery of PD and the TSO stream's
// start.
func New(ctx context.Context, pdEndpoints []string, opts ...Option) (*Client, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	pd, err := pdclient.New(ctx, pdEndpoints, pdclient.WithLogger(cfg.logger))
	if err != nil {
		return nil, fmt.Errorf("txnkv: connect pd: %w", err)
	}
	closers := []func() error{pd.Close}
	fail := func(err error) (*Client, error) {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
		return nil, err
	}
	rpc, err := kvrpc.New(kvrpc.WithLogger(cfg.logger))
	if err != nil {
		return fail(fmt.Errorf("txnkv: rpc client: %w", err))
	}
	closers = append(closers, rpc.Close)
	cache, err := locate.New(pd, locate.WithLogger(cfg.logger))
	if err != nil {
		return fail(fmt.Errorf("txnkv: region cache: %w", err))
	}
	if cfg.byName {
		ks, err := pd.LoadKeyspace(ctx, cfg.keyspace)
		if err != nil {
			return fail(fmt.Errorf("%w: %q: %w", ErrKeyspace, cfg.keyspace, err))
		}
		if ks.State != keyspacepb.KeyspaceState_ENABLED {
			return fail(fmt.Errorf("%w: %q is %v", ErrKeyspace, cfg.keyspace, ks.State))
		}
		if ks.ID > keycodec.MaxKeyspaceID {
			return fail(fmt.Errorf("%w: %q has id %d beyond 24 bits", ErrKeyspace, cfg.keyspace, ks.ID))
		}
		cfg.byName, cfg.keyspace, cfg.keyspaceID = false, "", ks.ID
	}
	ts, err := tso.NewFromPD(ctx, pd, tso.WithLogger(cfg.logger))
	if err != nil {
		return fail(fmt.Errorf("txnkv: tso client: %w", err))
	}
	closers = append(closers, ts.Close)
	c, err := newClient(cfg, Cluster{GC: pd, Cache: cache, RPC: rpc, TSO: ts})
	if err != nil {
		return fail(err)
	}
	// Close order: the TSO stream, then the RPC client, then PD.
	c.closers = []func() error{ts.Close, rpc.Close, pd.Close}
	return c, nil
}

// NewWithCluster builds a transactional client on parts someone else owns
// (the tikv facade shares them with the raw client). It does no I/O.
func NewWithCluster(cl Cluster, opts ...Option) (*Client, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	return newClient(cfg, cl)
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

func newClient(cfg config, cl Cluster) (*Client, error) {
	if cl.Cache == nil || cl.RPC == nil || cl.TSO == nil {
		return nil, fmt.Errorf("txnkv: %w: cluster needs a cache, an rpc client and a TSO", ErrInvalidOption)
	}
	if cfg.byName {
		return nil, fmt.Errorf("txnkv: %w: NewWithCluster does no I/O to load keyspace %q: use WithKeyspaceID", ErrInvalidOption, cfg.keyspace)
	}
	c := &Client{cfg: cfg, cache: cl.Cache, sender: locate.NewSender(cl.Cache, cl.RPC), ts: cl.TSO, gc: cl.GC, rpc: cl.RPC}
	codec, err := newCodec(cfg)
	if err != nil {
		return nil, fmt.Errorf("txnkv: %w: %w", ErrInvalidOption, err)
	}
	c.codec = codec
	c.router = locate.NewRouter(c.sender, codec)
	if cl.GC != nil {
		ks := pdclient.NullKeyspaceID
		if cfg.v2 {
			ks = codec.KeyspaceID()
		}
		if c.safePoints, err = gc.NewSafePointCache(gc.PDSafePoints(cl.GC, ks), cfg.safePointTTL); err != nil {
			return nil, fmt.Errorf("txnkv: %w", err)
		}
	}
	tpOpts := append([]twopc.Option{twopc.WithLogger(cfg.logger), twopc.WithCodec(codec)}, cfg.twopcOpts...)
	tp, err := twopc.New(c.sender, cl.TSO, tpOpts...)
	if err != nil {
		return nil, fmt.Errorf("txnkv: committer: %w", err)
	}
	c.tp = tp
	if cfg.latches {
		l, err := latches.New(cfg.latchOpts...)
		if err != nil {
			_ = tp.Close()
			return nil, fmt.Errorf("txnkv: %w: %w", ErrInvalidOption, err)
		}
		c.latches = l
	}
	return c, nil
}

// Close stops the committer's background work (secondary commits still
// running are left to later readers' lock resolution) and releases what
// New built. It is idempotent; calls made after it fail with ErrClosed.
func (c *Client) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed.Swap(true) {
		return nil
	}
	errs := []error{c.tp.Close()}
	if c.latches != nil {
		errs = append(errs, c.latches.Close())
	}
	for _, f := range c.closers {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// KeyspaceID returns the keyspace id of an API V2 client, 0 under V1.
func (c *Client) KeyspaceID() uint32 { return c.codec.KeyspaceID() }

// Committer returns the client's committer and lock resolver, for tools
// (GC, lock inspection) that need the protocol directly.
func (c *Client) Committer() *twopc.Client { return c.tp }

func (c *Client) checkOpen() error {
	if c.closed.Load() {
		return fmt.Errorf("txnkv: %w", ErrClosed)
	}
	return nil
}

// CurrentTS returns a fresh timestamp from the client's TSO.
func (c *Client) CurrentTS(ctx context.Context) (tso.Timestamp, error) {
	if err := c.checkOpen(); err != nil {
		return 0, err
	}
	ts, err := c.ts.GetTS(ctx)
	if err != nil {
		return 0, fmt.Errorf("txnkv: get ts: %w", err)
	}
	return ts, nil
}

// checkSafePoint fails a read at ts below the transaction safe point with
// *GCTooEarlyError; gc.SafePointCache owns the check and its caching.
func (c *Client) checkSafePoint(ctx context.Context, ts tso.Timestamp) error {
	if c.safePoints == nil {
		return nil
	}
	return c.safePoints.CheckReadTS(ctx, ts)
}

// SafePoints returns the cache of the txn safe point that the client's
// reads check (nil when the cluster has no GC state source). The facade
// hands it to its GC client, so a GC round is seen by reads at once.
func (c *Client) SafePoints() *gc.SafePointCache { return c.safePoints }

func (c *Client) txnConfig(opts []TxnOption) (txnConfig, error) {
	cfg := c.cfg.defaults
	cfg.labels = slices.Clone(cfg.labels)
	cfg.hooks = slices.Clone(cfg.hooks)
	for _, o := range opts {
		if o != nil {
			o.applyTxn(&cfg)
		}
	}
	return cfg, cfg.validate()
}

// startTS picks a transaction's start ts: the explicit one, a fresh TSO
// timestamp, one the configured staleness older, or the bounded-staleness
// choice.
func (c *Client) startTS(ctx context.Context, cfg *txnConfig) (tso.Timestamp, error) {
	if cfg.startTS != 0 {
		return cfg.startTS, nil
	}
	ts, err := c.CurrentTS(ctx)
	if err != nil {
		return 0, err
	}
	switch {
	case cfg.staleness > 0:
		ts = tso.Compose(ts.Physical()-cfg.staleness.Milliseconds(), 0)
	case cfg.maxStaleness > 0:
		ts = c.boundedStaleTS(ctx, ts, cfg)
	}
	return ts, nil
}

// Snapshot returns a read-only view of the data committed at or before ts
// (0: a fresh timestamp). It fails with *GCTooEarlyError when ts is below
// the GC safe point. ctx bounds the timestamp and safe point lookups.
func (c *Client) Snapshot(ctx context.Context, ts tso.Timestamp, opts ...TxnOption) (*Snapshot, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	cfg, err := c.txnConfig(opts)
	if err != nil {
		return nil, err
	}
	if ts != 0 {
		cfg.startTS = ts
	}
	if ts, err = c.startTS(ctx, &cfg); err != nil {
		return nil, err
	}
	if err := c.checkSafePoint(ctx, ts); err != nil {
		return nil, err
	}
	return newSnapshot(c, ts, cfg), nil
}
