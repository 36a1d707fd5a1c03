package rawkv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

// KeyspaceLoader is the slice of the PD client an API V2 client needs to
// resolve its keyspace. *pdclient.Client satisfies it.
type KeyspaceLoader interface {
	// LoadKeyspace returns the metadata of the keyspace named name.
	LoadKeyspace(ctx context.Context, name string, opts ...pdclient.CallOption) (*pdclient.Keyspace, error)
}

// Cluster is the shared client stack NewWithCluster builds a raw client on,
// so raw and transactional clients can share one PD client, one region cache
// and one RPC client. The raw client never closes these parts.
type Cluster struct {
	// PD resolves the keyspace under API V2; it may be nil otherwise.
	PD KeyspaceLoader
	// Cache is the region cache.
	Cache *locate.Cache
	// RPC sends requests to stores; *kvrpc.Client satisfies it.
	RPC locate.RPCClient
}

// Client is a raw key-value client. It is safe for concurrent use; Close
// releases what it owns.
type Client struct {
	cfg    config
	codec  *keycodec.Codec
	router *locate.Router
	sender *locate.Sender
	// batchOpts are the routing options of every batch call; shared
	// read-only.
	batchOpts []locate.BatchOption
	// kindOpts are the sender options of each call kind's attempt bound,
	// built once so a call does not allocate them; shared read-only.
	kindOpts [write + 1][]locate.SendOption
	// getPool and putPool recycle the per-call state of Get and Put.
	getPool *pointPool[kvrpcpb.RawGetRequest]
	putPool *pointPool[kvrpcpb.RawPutRequest]

	closed  atomic.Bool
	closeMu sync.Mutex
	closers []func() error // parts New built, closed in order
}

// New connects to the PD cluster at pdEndpoints and builds a raw client with
// its own PD client, region cache and RPC client. ctx bounds only the
// discovery of PD and, under API V2, the keyspace lookup.
func New(ctx context.Context, pdEndpoints []string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pdOpts := append([]pdclient.Option{pdclient.WithLogger(cfg.logger)}, cfg.pdOpts...)
	pd, err := pdclient.New(ctx, pdEndpoints, pdOpts...)
	if err != nil {
		return nil, fmt.Errorf("rawkv: connect pd: %w", err)
	}
	rpcOpts := append([]kvrpc.Option{kvrpc.WithLogger(cfg.logger)}, cfg.rpcOpts...)
	rpc, err := kvrpc.New(rpcOpts...)
	if err != nil {
		_ = pd.Close()
		return nil, fmt.Errorf("rawkv: rpc client: %w", err)
	}
	cacheOpts := append([]locate.Option{locate.WithLogger(cfg.logger)}, cfg.cacheOpts...)
	cache, err := locate.New(pd, cacheOpts...)
	if err != nil {
		_ = rpc.Close()
		_ = pd.Close()
		return nil, fmt.Errorf("rawkv: region cache: %w", err)
	}
	c, err := newClient(ctx, cfg, Cluster{PD: pd, Cache: cache, RPC: rpc})
	if err != nil {
		_ = rpc.Close()
		_ = pd.Close()
		return nil, err
	}
	c.closers = []func() error{rpc.Close, pd.Close}
	return c, nil
}

// NewWithCluster builds a raw client on parts someone else owns (the tikv
// facade shares them with the transactional client). ctx bounds only the
// keyspace lookup under API V2. Options that configure the parts
// (WithPDOptions, WithRPCOptions, WithCacheOptions) are ignored.
func NewWithCluster(ctx context.Context, cl Cluster, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newClient(ctx, cfg, cl)
}

func newClient(ctx context.Context, cfg config, cl Cluster) (*Client, error) {
	if cl.Cache == nil || cl.RPC == nil {
		return nil, fmt.Errorf("rawkv: %w: cluster needs a cache and an rpc client", ErrInvalidOption)
	}
	var ksID uint32
	if cfg.apiVersion == V2 {
		if cl.PD == nil {
			return nil, fmt.Errorf("rawkv: %w: api version V2 needs a PD client to load the keyspace", ErrInvalidOption)
		}
		name := cfg.keyspace
		if name == "" {
			name = DefaultKeyspace
		}
		ks, err := cl.PD.LoadKeyspace(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrKeyspace, name, err)
		}
		if ks.State != keyspacepb.KeyspaceState_ENABLED {
			return nil, fmt.Errorf("%w: %q is %v", ErrKeyspace, name, ks.State)
		}
		if ks.ID > keycodec.MaxKeyspaceID {
			return nil, fmt.Errorf("%w: %q has id %d beyond 24 bits", ErrKeyspace, name, ks.ID)
		}
		ksID = ks.ID
		cfg.logger.Info("rawkv: keyspace loaded", slog.String("keyspace", name), slog.Uint64("keyspace_id", uint64(ksID)))
	}
	cfg.boOpts = backoffOptions(cfg.observers)
	codec, err := newCodec(cfg.apiVersion, ksID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyspace, err)
	}
	sender := locate.NewSender(cl.Cache, cl.RPC)
	c := &Client{
		cfg:    cfg,
		codec:  codec,
		router: locate.NewRouter(sender, codec),
		sender: sender,
		batchOpts: []locate.BatchOption{
			locate.WithBatchLimit(cfg.batchKeys, cfg.batchBytes),
			locate.WithConcurrency(cfg.parallelism),
		},
	}
	for kind := range c.kindOpts {
		if d := c.attemptTimeout(callKind(kind)); d > 0 {
			c.kindOpts[kind] = []locate.SendOption{locate.WithAttemptTimeout(d)}
		}
	}
	c.getPool = newPointPool(c, pointRead, kvrpc.CmdRawGet, kvrpc.NewRawGet)
	c.putPool = newPointPool(c, write, kvrpc.CmdRawPut, kvrpc.NewRawPut)
	return c, nil
}

// newCodec returns the raw key codec of an API version (V1TTL keys are V1
// keys).
func newCodec(v APIVersion, keyspaceID uint32) (*keycodec.Codec, error) {
	if v == V2 {
		return keycodec.NewV2(keycodec.Raw, keyspaceID)
	}
	return keycodec.NewV1(keycodec.Raw)
}

// APIVersion returns the API version the client speaks.
func (c *Client) APIVersion() APIVersion { return c.cfg.apiVersion }

// KeyspaceID returns the keyspace id of an API V2 client, 0 otherwise.
func (c *Client) KeyspaceID() uint32 { return c.codec.KeyspaceID() }

// Close releases the parts New built (none for NewWithCluster). Calls made
// after Close fail with ErrClosed; calls in flight may fail with it too.
// Close is idempotent and returns once every goroutine the client's parts
// started has stopped.
func (c *Client) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, f := range c.closers {
		errs = append(errs, f())
	}
	c.closers = nil
	c.cfg.logger.Info("rawkv: client closed")
	return errors.Join(errs...)
}

func (c *Client) checkOpen() error {
	if c.closed.Load() {
		return errClosed
	}
	return nil
}

// newBackoffer returns the backoffer of one call.
// With no observer the options are nil, so this costs what retry.New does.
func (c *Client) newBackoffer() *retry.Backoffer { return retry.New(c.cfg.budget, c.cfg.boOpts...) }

// callKind says how a call's attempts are bounded and whether its outcome
// is tracked.
type callKind int

const (
	pointRead callKind = iota
	rangeRead
	write
)

// call is the state of one client call across all its requests: its backoff
// budget, the sender options, and for a write the record of whether any
// attempt may have been applied.
type call struct {
	bo      *retry.Backoffer
	opts    []locate.SendOption
	outcome *locate.Outcome // nil for reads
	cmd     kvrpc.CmdType
}

// attemptTimeout is the per-attempt bound of a call of kind: the request
// timeout when one is set, else the read timeout for reads (scaled for
// range reads) and none for writes.
func (c *Client) attemptTimeout(kind callKind) time.Duration {
	if c.cfg.requestTimeout != 0 {
		return c.cfg.requestTimeout
	}
	switch kind {
	case pointRead:
		return c.cfg.readTimeout
	case rangeRead:
		return RangeReadFactor * c.cfg.readTimeout
	}
	return 0
}

// newCall starts a call of kind sending cmd.
func (c *Client) newCall(kind callKind, cmd kvrpc.CmdType) *call {
	cl := &call{bo: c.newBackoffer(), cmd: cmd, opts: c.kindOpts[kind]}
	if kind == write {
		// Whether a write whose answer was lost may be resent is the
		// command's own property (kvrpc.Request.Idempotent: never for CAS
		// or for_cas writes); whether the call's outcome is known is
		// recorded over all its attempts.
		cl.outcome = new(locate.Outcome)
		// The three-index slice makes append copy: kindOpts is shared.
		cl.opts = append(cl.opts[:len(cl.opts):len(cl.opts)], locate.WithOutcome(cl.outcome))
	}
	return cl
}

// finish maps the error a call ends with. A write of which any attempt may
// have been applied (an answer lost, earlier or last, a successful batch or
// span before another failed, an UndeterminedResult) is undetermined,
// whatever the last attempt's error was; the error keeps that cause, so a
// write cut short by Close matches both ErrUndetermined and ErrClosed. Every
// error of a call that ends after Close matches ErrClosed.
func (c *Client) finish(cl *call, err error) error {
	if err == nil {
		return nil
	}
	if cl.outcome.MayHaveApplied() && !errors.Is(err, ErrUndetermined) {
		err = &UndeterminedError{Cmd: string(cl.cmd), Err: err}
	}
	return c.wrapErr(err)
}

// sendToKey sends req to the region holding the wire key w; the router
// locates the key again after region changes.
func (c *Client) sendToKey(ctx context.Context, w []byte, kind callKind, req *kvrpc.Request) (*kvrpc.Response, error) {
	return c.route(ctx, w, c.newCall(kind, req.Type()), req)
}

// route is sendToKey for a call already started.
func (c *Client) route(ctx context.Context, w []byte, cl *call, req *kvrpc.Request) (*kvrpc.Response, error) {
	resp, err := c.router.SendKey(ctx, cl.bo, w, req, cl.opts...)
	if err != nil {
		return nil, c.finish(cl, err)
	}
	return resp, nil
}

// wrapErr makes every failure of a call that ended after Close match
// ErrClosed: whatever broke under the call (a closed connection, a PD
// client, a lookup cut short) was caused by Close.
func (c *Client) wrapErr(err error) error {
	if err == nil || !c.closed.Load() || errors.Is(err, ErrClosed) {
		return err
	}
	return fmt.Errorf("rawkv: closed during the call: %w: %w", ErrClosed, err)
}

// checkKey validates one user key and returns its wire form.
func (c *Client) checkKey(k []byte) ([]byte, error) {
	if len(k) == 0 {
		return nil, ErrEmptyKey
	}
	if n := len(k) + c.codec.PrefixLen(); n > c.cfg.maxKeySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrKeyTooLarge, n, c.cfg.maxKeySize)
	}
	return c.codec.EncodeKey(k), nil
}

func (c *Client) checkValue(v []byte) error {
	if len(v) > c.cfg.maxValueSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(v), c.cfg.maxValueSize)
	}
	return nil
}

// checkRange validates a user range [start, end) (empty end = +inf) and
// returns its wire form.
func (c *Client) checkRange(start, end []byte) ([]byte, []byte, error) {
	if len(end) > 0 && string(start) > string(end) {
		return nil, nil, fmt.Errorf("rawkv: %w: start %q after end %q", ErrInvalidRange, start, end)
	}
	if p := c.codec.PrefixLen(); len(start)+p > c.cfg.maxKeySize || len(end)+p > c.cfg.maxKeySize {
		return nil, nil, ErrKeyTooLarge
	}
	ws, we := c.codec.EncodeRange(start, end)
	return ws, we, nil
}
