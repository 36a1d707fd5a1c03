package rawkv

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

// APIVersion is the storage API version of the TiKV cluster (TiKV's
// storage.api-version). The client must use the version the cluster runs.
type APIVersion int

const (
	// V1 stores raw keys as they are and has no TTL. It is the default.
	V1 APIVersion = iota
	// V1TTL stores raw keys as they are, with an expiry per value.
	V1TTL
	// V2 prefixes every raw key with 'r' and a 3-byte keyspace id, keeps
	// versions and TTLs.
	V2
)

// String implements fmt.Stringer.
func (v APIVersion) String() string {
	switch v {
	case V1:
		return "V1"
	case V1TTL:
		return "V1TTL"
	case V2:
		return "V2"
	}
	return fmt.Sprintf("APIVersion(%d)", int(v))
}

// Limits and defaults applied by New when the matching option is not given.
const (
	// MaxScanLimit is the largest limit one Scan or ReverseScan accepts,
	// as in client-go (its MaxRawKVScanLimit).
	MaxScanLimit = 10240
	// DefaultBatchKeys is how many keys one batch RPC carries at most
	// (client-go's rawBatchPairCount).
	DefaultBatchKeys = 512
	// DefaultBatchBytes is the soft cap on key+value bytes per batch RPC:
	// a request is cut once it reaches it (client-go's rawBatchPutSize).
	DefaultBatchBytes = 16 * 1024
	// DefaultMaxKeySize is TiKV's default storage.max-key-size.
	DefaultMaxKeySize = 8 * 1024
	// DefaultMaxValueSize keeps a single value under TiKV's default
	// raft-entry-max-size (8 MiB), leaving room for the key and framing.
	DefaultMaxValueSize = 8*1024*1024 - 64*1024
	// DefaultMaxBatchKeys bounds the keys of one batch call.
	DefaultMaxBatchKeys = 1 << 20
	// DefaultMaxBatchBytes bounds the key+value bytes of one batch call.
	DefaultMaxBatchBytes = 256 * 1024 * 1024
	// DefaultParallelism bounds the concurrent RPCs of one batch call.
	DefaultParallelism = 16
	// DefaultPageSize is how many pairs Client.All fetches per RPC.
	DefaultPageSize = 256
	// DefaultKeyspace is the keyspace API V2 uses when WithKeyspace is not
	// given.
	DefaultKeyspace = "DEFAULT"
	// writeExecutionLimit is stamped on writes as max_execution_duration,
	// as client-go does (20 s).
	writeExecutionLimit = 20 * time.Second
	// DefaultReadTimeout bounds each attempt of a point read (Get,
	// BatchGet, GetKeyTTL); range reads (Scan, ReverseScan, Checksum) get
	// RangeReadFactor times as long. A healthy store answers a point read in
	// milliseconds and a busy one says so (ServerIsBusy), so an attempt
	// silent for 2 s means a wedged store or a dropped request: the read
	// moves on to another replica, or retries, instead of holding the
	// caller until its deadline. client-go bounds attempts by 30 s (short)
	// and 60 s (medium) and adds a shorter configurable read timeout that
	// fails over the same way; ours is that shorter timeout, on by default.
	// Writes get no per-attempt timeout by default: a write attempt that
	// times out has an unknown outcome.
	DefaultReadTimeout = 2 * time.Second
	// RangeReadFactor is how many times the read timeout a range read's
	// attempt may take: one attempt scans up to a region's worth of pairs.
	RangeReadFactor = 5
)

type config struct {
	apiVersion     APIVersion
	keyspace       string
	atomic         bool
	logger         *slog.Logger
	requestTimeout time.Duration
	readTimeout    time.Duration
	budget         time.Duration
	batchKeys      int
	batchBytes     int
	maxKeySize     int
	maxValueSize   int
	maxBatchKeys   int
	maxBatchBytes  int
	parallelism    int
	pageSize       int
	pdOpts         []pdclient.Option
	rpcOpts        []kvrpc.Option
	cacheOpts      []locate.Option
	observers      []func(retry.BackoffEvent)
	boOpts         []retry.Option // given to every Backoffer; nil without observers
}

func defaultConfig() config {
	return config{
		logger:        slog.New(slog.DiscardHandler),
		budget:        retry.RawKVBudget,
		readTimeout:   DefaultReadTimeout,
		batchKeys:     DefaultBatchKeys,
		batchBytes:    DefaultBatchBytes,
		maxKeySize:    DefaultMaxKeySize,
		maxValueSize:  DefaultMaxValueSize,
		maxBatchKeys:  DefaultMaxBatchKeys,
		maxBatchBytes: DefaultMaxBatchBytes,
		parallelism:   DefaultParallelism,
		pageSize:      DefaultPageSize,
	}
}

func (c *config) validate() error {
	switch {
	case c.apiVersion < V1 || c.apiVersion > V2:
		return fmt.Errorf("rawkv: %w: api version %v", ErrInvalidOption, c.apiVersion)
	case c.keyspace != "" && c.apiVersion != V2:
		return fmt.Errorf("rawkv: %w: keyspace %q needs api version V2", ErrInvalidOption, c.keyspace)
	case c.logger == nil:
		return fmt.Errorf("rawkv: %w: nil logger", ErrInvalidOption)
	case c.requestTimeout < 0 || c.readTimeout < 0 || c.budget < 0:
		return fmt.Errorf("rawkv: %w: negative timeout", ErrInvalidOption)
	case c.batchKeys < 1 || c.batchBytes < 1:
		return fmt.Errorf("rawkv: %w: batch limits must be positive", ErrInvalidOption)
	case c.maxKeySize < 1 || c.maxValueSize < 0 || c.maxBatchKeys < 1 || c.maxBatchBytes < 1:
		return fmt.Errorf("rawkv: %w: size limits must be positive", ErrInvalidOption)
	case c.parallelism < 1:
		return fmt.Errorf("rawkv: %w: parallelism must be positive", ErrInvalidOption)
	case c.pageSize < 1 || c.pageSize > MaxScanLimit:
		return fmt.Errorf("rawkv: %w: page size must be in [1, %d]", ErrInvalidOption, MaxScanLimit)
	}
	return nil
}

// Option configures a Client. Options are sealed: build them with the With*
// functions of this package.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithAPIVersion sets the API version the cluster runs. Default V1.
func WithAPIVersion(v APIVersion) Option { return optionFunc(func(c *config) { c.apiVersion = v }) }

// WithKeyspace selects the keyspace of an API V2 client by name; New loads
// its id from PD. Default DefaultKeyspace. It requires WithAPIVersion(V2).
func WithKeyspace(name string) Option { return optionFunc(func(c *config) { c.keyspace = name }) }

// WithAtomicForCAS puts the client in atomic mode: every write is sent with
// for_cas so TiKV serialises it with CompareAndSwap under the same per-key
// latch, and writes whose answer is lost are not retried (they fail with
// ErrUndetermined). CompareAndSwap requires it. Every client writing the
// keys a CAS touches must use atomic mode, or the CAS is not atomic.
// Default: off.
func WithAtomicForCAS() Option { return optionFunc(func(c *config) { c.atomic = true }) }

// WithLogger sets the logger for state transitions (keyspace loaded, client
// closed) and, for a client built by New, of the parts it builds. Default:
// discard.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithRequestTimeout bounds each RPC attempt of every call, writes
// included, and replaces the read timeouts of WithReadTimeout; a read
// attempt that times out is tried again on another replica at once, an
// idempotent write's too, and a write that must not be resent fails with
// ErrUndetermined. Default 0: writes are bounded by the call's ctx only,
// reads by WithReadTimeout.
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.requestTimeout = d })
}

// WithReadTimeout bounds each attempt of a point read by d and of a range
// read by RangeReadFactor*d; an attempt that times out is tried again at
// once on another replica, or on the leader once the region's replicas are
// used up. Default DefaultReadTimeout; 0 leaves reads bounded by the
// call's ctx only.
func WithReadTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.readTimeout = d })
}

// WithRetryBudget bounds the total backoff sleep of one call. Default
// retry.RawKVBudget. The call's ctx deadline bounds everything as well.
func WithRetryBudget(d time.Duration) Option { return optionFunc(func(c *config) { c.budget = d }) }

// WithBackoffObserver calls fn after every backoff of every call: each
// Backoffer the client creates gets retry.WithObserver(fn), and the Backoffers
// forked from it for the RPCs of a batch call share fn. fn runs synchronously
// on the goroutine that backed off, possibly from several goroutines at once,
// so it must be safe for concurrent use and should only count and time (for
// example tikvprom's Metrics.ObserveBackoff). Given more than once, every fn
// is called, in the order given; a nil fn is ignored. Backoffs of the PD
// client and the timestamp client are not reported here. Default: none, which
// costs nothing per call.
func WithBackoffObserver(fn func(retry.BackoffEvent)) Option {
	return optionFunc(func(c *config) {
		if fn != nil {
			c.observers = append(c.observers, fn)
		}
	})
}

// backoffOptions returns the options of every Backoffer of a client with
// these observers: nil without any.
func backoffOptions(observers []func(retry.BackoffEvent)) []retry.Option {
	switch len(observers) {
	case 0:
		return nil
	case 1:
		return []retry.Option{retry.WithObserver(observers[0])}
	}
	all := slices.Clone(observers)
	return []retry.Option{retry.WithObserver(func(ev retry.BackoffEvent) {
		for _, fn := range all {
			fn(ev)
		}
	})}
}

// WithBatchLimits sets how batch calls are cut into RPCs: at most keys keys
// per RPC, and an RPC is closed once its key+value bytes reach bytes.
// Defaults DefaultBatchKeys and DefaultBatchBytes.
func WithBatchLimits(keys, bytes int) Option {
	return optionFunc(func(c *config) { c.batchKeys, c.batchBytes = keys, bytes })
}

// WithMaxKeySize sets the longest key accepted (keyspace prefix included).
// Default DefaultMaxKeySize.
func WithMaxKeySize(n int) Option { return optionFunc(func(c *config) { c.maxKeySize = n }) }

// WithMaxValueSize sets the longest value accepted. Default
// DefaultMaxValueSize.
func WithMaxValueSize(n int) Option { return optionFunc(func(c *config) { c.maxValueSize = n }) }

// WithMaxBatch bounds one batch call: at most keys keys and bytes key+value
// bytes, else ErrBatchTooLarge. Defaults DefaultMaxBatchKeys and
// DefaultMaxBatchBytes.
func WithMaxBatch(keys, bytes int) Option {
	return optionFunc(func(c *config) { c.maxBatchKeys, c.maxBatchBytes = keys, bytes })
}

// WithParallelism bounds how many RPCs one batch call has in flight.
// Default DefaultParallelism.
func WithParallelism(n int) Option { return optionFunc(func(c *config) { c.parallelism = n }) }

// WithPageSize sets how many pairs Client.All fetches per RPC, which bounds
// its memory. Default DefaultPageSize.
func WithPageSize(n int) Option { return optionFunc(func(c *config) { c.pageSize = n }) }

// WithPDOptions passes options to the PD client New builds. Ignored by
// NewWithCluster.
func WithPDOptions(opts ...pdclient.Option) Option {
	return optionFunc(func(c *config) { c.pdOpts = append(c.pdOpts, opts...) })
}

// WithRPCOptions passes options to the store RPC client New builds (TLS,
// connection count, interceptors). Ignored by NewWithCluster.
func WithRPCOptions(opts ...kvrpc.Option) Option {
	return optionFunc(func(c *config) { c.rpcOpts = append(c.rpcOpts, opts...) })
}

// WithCacheOptions passes options to the region cache New builds. Ignored by
// NewWithCluster.
func WithCacheOptions(opts ...locate.Option) Option {
	return optionFunc(func(c *config) { c.cacheOpts = append(c.cacheOpts, opts...) })
}

type callConfig struct {
	cf      string
	keyOnly bool
	ttl     time.Duration
}

// CallOption tunes one call. Options that do not apply to a call are
// ignored by it.
type CallOption interface{ applyCall(*callConfig) }

type callOptionFunc func(*callConfig)

func (f callOptionFunc) applyCall(c *callConfig) { f(c) }

// WithColumnFamily selects the column family of the call: "default" (the
// default), "lock" or "write" under V1 and V1TTL; only "default" under V2.
// Any other name fails with ErrUnknownColumnFamily.
func WithColumnFamily(cf string) CallOption {
	return callOptionFunc(func(c *callConfig) { c.cf = cf })
}

// WithKeyOnly makes scans return keys with nil values.
func WithKeyOnly() CallOption { return callOptionFunc(func(c *callConfig) { c.keyOnly = true }) }

// WithTTL makes Put and BatchPut write values that expire after d (rounded up
// to whole seconds, as TiKV keeps seconds). 0 means never. It needs API
// V1TTL or V2 (else ErrTTLNotSupported).
func WithTTL(d time.Duration) CallOption { return callOptionFunc(func(c *callConfig) { c.ttl = d }) }

func callOpts(opts []CallOption) callConfig {
	if len(opts) == 0 {
		// The common case: no per-call options. Returning a literal here
		// keeps the no-option path from allocating: c below escapes
		// through the interface call.
		return callConfig{}
	}
	var c callConfig
	for _, o := range opts {
		if o != nil {
			o.applyCall(&c)
		}
	}
	return c
}
