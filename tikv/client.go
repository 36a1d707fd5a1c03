package tikv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/txnkv"
)

// errClientClosed is what the facade's own calls return after Close; it
// matches ErrClosed.
var errClientClosed = fmt.Errorf("tikv: %w", ErrClosed)

// Timestamp is a TSO timestamp: physical milliseconds shifted left by 18
// bits plus a logical counter.
type Timestamp = tso.Timestamp

// Client is the entry point of tikvgo: one PD client, one store RPC client
// and one region cache, shared by the raw client (Client.Raw) and the
// transactional client (Client.Txn). The timestamp client is
// started on first use (Client.TSO, Client.CurrentTS), so a raw-only user
// pays for no TSO stream.
//
// A Client is safe for concurrent use and immutable after New. Close
// releases everything it started.
type Client struct {
	cfg   config
	pd    *pdclient.Client
	ownPD bool
	rpc   *kvrpc.Client
	cache *locate.Cache
	keep  *locate.Upkeep // nil with WithoutUpkeep
	raw   *rawkv.Client
	txn   *txnkv.Client // built by Txn on first use, under mu
	tsoOb TSOObserver

	tsoPtr atomic.Pointer[tso.Client] // read by the stats function without mu

	mu      sync.Mutex
	tso     *tso.Client
	gc      *gc.Client
	oracle  *tso.Oracle // started with the TSO client's first Oracle call
	closed  bool
	untrack func()
	// untrackCache stops a CacheStatsTracker; set once in New.
	untrackCache func()
}

// New connects to the PD cluster at pdAddrs and builds the shared client
// stack and the raw client on it. ctx bounds only the I/O of construction:
// PD discovery and, under API V2, the keyspace lookup. A bad option fails
// with an error matching ErrInvalidOption before anything is dialled.
func New(ctx context.Context, pdAddrs []string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.pd == nil && len(pdAddrs) == 0 {
		cfg.errs = append(cfg.errs, errors.New("no PD address"))
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tlsCfg := cfg.tlsCfg
	if f := cfg.tlsFiles; f != nil {
		var err error
		tlsCfg, err = pdclient.LoadTLSConfig(f.ca, f.cert, f.key)
		if err != nil {
			if !errors.Is(err, ErrInvalidOption) { // an unreadable file
				return nil, fmt.Errorf("tikv: %w: %w", ErrInvalidOption, err)
			}
			return nil, fmt.Errorf("tikv: %w", err)
		}
	}

	c := &Client{cfg: cfg, pd: cfg.pd}
	var closers []func() error
	fail := func(err error) (*Client, error) {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
		return nil, err
	}

	if c.pd == nil {
		pdOpts := []pdclient.Option{pdclient.WithLogger(cfg.logger)}
		if tlsCfg != nil {
			pdOpts = append(pdOpts, pdclient.WithTLS(tlsCfg))
		}
		if len(cfg.dialOpts) > 0 {
			pdOpts = append(pdOpts, pdclient.WithDialOptions(cfg.dialOpts...))
		}
		if cfg.pdTimeout > 0 {
			pdOpts = append(pdOpts, pdclient.WithRPCTimeout(cfg.pdTimeout))
		}
		pd, err := pdclient.New(ctx, pdAddrs, pdOpts...)
		if err != nil {
			return nil, fmt.Errorf("tikv: connect to PD: %w", err)
		}
		c.pd, c.ownPD = pd, true
		closers = append(closers, pd.Close)
	}

	// The RPC client is built before the cache it reports health feedback
	// to, so the callback reads the cache through an atomic pointer. No
	// request can be sent before the cache is set: the raw client, the only
	// sender, is built after it.
	var cachePtr atomic.Pointer[locate.Cache]
	rpcOpts := []kvrpc.Option{
		kvrpc.WithLogger(cfg.logger),
		kvrpc.WithConnectionCount(cfg.connCount),
		kvrpc.WithHealthFeedback(func(_ string, fb *kvrpcpb.HealthFeedback) {
			if cache := cachePtr.Load(); cache != nil {
				cache.RecordHealthFeedback(fb)
			}
		}),
	}
	if tlsCfg != nil {
		rpcOpts = append(rpcOpts, kvrpc.WithTLSConfig(tlsCfg))
	}
	if len(cfg.dialOpts) > 0 {
		rpcOpts = append(rpcOpts, kvrpc.WithDialOptions(cfg.dialOpts...))
	}
	if cfg.metrics != nil {
		rpcOpts = append(rpcOpts, kvrpc.WithInterceptors(cfg.metrics.InterceptRPC))
	}
	rpc, err := kvrpc.New(rpcOpts...)
	if err != nil {
		return fail(fmt.Errorf("tikv: store rpc client: %w", err))
	}
	c.rpc = rpc
	closers = append(closers, rpc.Close)

	cache, err := locate.New(c.pd, locate.WithLogger(cfg.logger))
	if err != nil {
		return fail(fmt.Errorf("tikv: region cache: %w", err))
	}
	cachePtr.Store(cache)
	c.cache = cache
	if !cfg.upkeep.off {
		keep, err := cache.StartUpkeep(cfg.upkeep.upkeepOptions(rpc, rpc)...)
		if err != nil {
			// The facade validated the settings; a bad one would still
			// match ErrInvalidOption, the sentinel every module wraps.
			return fail(fmt.Errorf("tikv: region cache upkeep: %w", err))
		}
		c.keep = keep
		closers = append(closers, keep.Close)
	}

	// The caller's raw options come first so the facade's own settings,
	// which New already validated, win.
	rawOpts := append([]rawkv.Option(nil), cfg.rawOpts...)
	rawOpts = append(rawOpts, rawkv.WithAPIVersion(cfg.apiVersion), rawkv.WithLogger(cfg.logger))
	if cfg.keyspace != "" {
		rawOpts = append(rawOpts, rawkv.WithKeyspace(cfg.keyspace))
	}
	if cfg.requestTimeout > 0 {
		rawOpts = append(rawOpts, rawkv.WithRequestTimeout(cfg.requestTimeout))
	}
	if ob, ok := cfg.metrics.(BackoffObserver); ok {
		// Added to any observer of WithRawOptions, not in its place.
		rawOpts = append(rawOpts, rawkv.WithBackoffObserver(ob.ObserveBackoff))
	}
	raw, err := rawkv.NewWithCluster(ctx, rawkv.Cluster{PD: c.pd, Cache: cache, RPC: rpc}, rawOpts...)
	if err != nil {
		// A bad WithRawOptions value already matches ErrInvalidOption:
		// every module wraps the same sentinel.
		return fail(fmt.Errorf("tikv: raw client: %w", err))
	}
	c.raw = raw

	if cfg.metrics != nil {
		if ob, ok := cfg.metrics.(TSOObserver); ok {
			c.tsoOb = ob
		}
		if st, ok := cfg.metrics.(StatsTracker); ok {
			var pdStats func() pdclient.Stats
			if c.ownPD {
				pdStats = c.pd.Stats
			}
			c.untrack = st.TrackStats(rpc.Stats, pdStats, c.tsoStats)
		}
		if ct, ok := cfg.metrics.(CacheStatsTracker); ok {
			c.untrackCache = ct.TrackCacheStats(cache.Stats)
		}
	}
	cfg.logger.Info("tikv: client ready",
		slog.String("api_version", cfg.apiVersion.String()),
		slog.Uint64("keyspace_id", uint64(raw.KeyspaceID())))
	return c, nil
}

// tsoStats reads the timestamp client's counters, zero before it exists.
func (c *Client) tsoStats() tso.Stats {
	if t := c.tsoPtr.Load(); t != nil {
		return t.Stats()
	}
	return tso.Stats{}
}

// Raw returns the raw key-value client. It shares the Client's stack and
// is closed by Client.Close (do not close it yourself); after that its calls
// fail with ErrClosed.
func (c *Client) Raw() *RawClient { return c.raw }

// PD returns the PD client, for tools that list regions and stores. It is
// closed by Client.Close unless it was passed with WithPDClient.
func (c *Client) PD() *pdclient.Client { return c.pd }

// APIVersion returns the API version the client speaks.
func (c *Client) APIVersion() APIVersion { return c.cfg.apiVersion }

// TSO returns the timestamp client, starting it (one stream to the PD
// leader) on first use; ctx bounds only that start. It is closed by
// Client.Close; after Close TSO fails with ErrClosed.
func (c *Client) TSO(ctx context.Context) (*tso.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClientClosed
	}
	if c.tso == nil {
		t, err := tso.NewFromPD(ctx, c.pd, tso.WithLogger(c.cfg.logger))
		if err != nil {
			return nil, fmt.Errorf("tikv: start TSO client: %w", err)
		}
		c.tso = t
		c.tsoPtr.Store(t)
	}
	return c.tso, nil
}

// CurrentTS returns a fresh timestamp from PD, strictly greater than every
// timestamp this Client handed out before.
func (c *Client) CurrentTS(ctx context.Context) (Timestamp, error) {
	start := time.Now()
	ts, err := c.currentTS(ctx)
	if c.tsoOb != nil {
		c.tsoOb.ObserveTSO(time.Since(start), err)
	}
	return ts, err
}

func (c *Client) currentTS(ctx context.Context) (Timestamp, error) {
	t, err := c.TSO(ctx)
	if err != nil {
		return 0, err
	}
	ts, err := t.GetTS(ctx)
	// If Close raced with the call, err matches ErrClosed already:
	// tso.ErrClosed is the same value.
	return ts, err
}

// Close releases everything New started: the raw client, the timestamp
// client, the region cache's background loop, store connections, and the PD client unless it was shared with
// WithPDClient. It returns once their goroutines have stopped. Close is
// idempotent; calls made after it fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	t, o, untrack, txn := c.tso, c.oracle, c.untrack, c.txn
	c.mu.Unlock()

	if untrack != nil {
		untrack()
	}
	if c.untrackCache != nil {
		c.untrackCache()
	}
	// Users first, then what they use: the raw and TSO clients stop
	// sending before the RPC and PD clients they send through go away.
	errs := []error{c.raw.Close()}
	if txn != nil {
		errs = append(errs, txn.Close())
	}
	if o != nil {
		// Before the TSO client its refresher reads.
		errs = append(errs, o.Close())
	}
	if t != nil {
		errs = append(errs, t.Close())
	}
	if c.keep != nil {
		// Before the RPC and PD clients its probes and refreshes use.
		errs = append(errs, c.keep.Close())
	}
	errs = append(errs, c.rpc.Close())
	if c.ownPD {
		errs = append(errs, c.pd.Close())
	}
	c.cfg.logger.Info("tikv: client closed")
	return errors.Join(errs...)
}
