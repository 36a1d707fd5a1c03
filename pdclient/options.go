package pdclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/retry"
)

// Defaults for the client options.
const (
	// DefaultMemberRefreshInterval is how often members are re-discovered
	// when nothing went wrong.
	DefaultMemberRefreshInterval = time.Minute
	// DefaultRPCTimeout bounds one attempt of one RPC.
	DefaultRPCTimeout = 3 * time.Second
	// DefaultRetryBudget bounds the total backoff sleep of one call
	// (client-go's region-load budget, unweighted).
	DefaultRetryBudget = 20 * time.Second
	// DefaultCallerID is sent in every request header.
	DefaultCallerID = "tikvgo"
)

type config struct {
	logger          *slog.Logger
	tls             *tls.Config
	refreshInterval time.Duration
	rpcTimeout      time.Duration
	retryBudget     time.Duration
	backoff         *retry.Backoff // nil: retry.PDRPC as is
	kind            *retry.Kind
	callerID        string
	dialOpts        []grpc.DialOption
}

func defaultConfig() config {
	return config{
		logger:          slog.New(slog.DiscardHandler),
		refreshInterval: DefaultMemberRefreshInterval,
		rpcTimeout:      DefaultRPCTimeout,
		retryBudget:     DefaultRetryBudget,
		callerID:        DefaultCallerID,
	}
}

func (c *config) validate() error {
	switch {
	case c.refreshInterval <= 0:
		return fmt.Errorf("pdclient: %w: member refresh interval must be positive", ErrInvalidOption)
	case c.rpcTimeout <= 0:
		return fmt.Errorf("pdclient: %w: RPC timeout must be positive", ErrInvalidOption)
	case c.retryBudget < 0:
		return fmt.Errorf("pdclient: %w: retry budget must not be negative", ErrInvalidOption)
	}
	c.kind = retry.PDRPC
	if c.backoff != nil {
		k, err := retry.PDRPC.WithBackoff(*c.backoff)
		if err != nil {
			return fmt.Errorf("pdclient: %w: %w", ErrInvalidOption, err)
		}
		c.kind = k
	}
	return nil
}

// Option configures a [Client]. Options are sealed: only this package
// implements them.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger for state transitions (leader changes,
// discovery failures). Default: a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithTLS makes every connection to PD use TLS with cfg. Default: plaintext.
// See [LoadTLSConfig] to build cfg from PEM files.
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tls = cfg })
}

// WithMemberRefreshInterval sets how often the member list and leader are
// refreshed in the background. Leader errors trigger a refresh at once
// regardless. Default: [DefaultMemberRefreshInterval].
func WithMemberRefreshInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refreshInterval = d })
}

// WithRPCTimeout bounds every single RPC attempt; the caller's ctx still
// bounds the whole call including retries. Default: [DefaultRPCTimeout].
func WithRPCTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.rpcTimeout = d })
}

// WithRetryBudget bounds the total backoff sleep of one call that keeps
// failing retryably (leader changes, unreachable members); the caller's ctx
// may end it earlier. Zero disables retries. Default: [DefaultRetryBudget].
func WithRetryBudget(d time.Duration) Option {
	return optionFunc(func(c *config) { c.retryBudget = d })
}

// WithBackoff sets the delay curve between retries of a PD call and between
// failed member discoveries (equal jitter, as client-go's pdRPC backoff).
// A wait ends early when a new leader is found. Default: [retry.PDRPC]'s
// curve, 500ms doubling up to 3s.
func WithBackoff(b retry.Backoff) Option {
	return optionFunc(func(c *config) { c.backoff = &b })
}

// WithCallerID sets the caller_id sent in every request header.
// Default: [DefaultCallerID].
func WithCallerID(id string) Option {
	return optionFunc(func(c *config) { c.callerID = id })
}

// WithDialOptions appends gRPC dial options to those the client uses
// (transport credentials are set by [WithTLS] and should not be passed here).
//
// # Experimental
func WithDialOptions(opts ...grpc.DialOption) Option {
	return optionFunc(func(c *config) { c.dialOpts = append(c.dialOpts, opts...) })
}

// LoadTLSConfig builds a client TLS configuration from PEM files: caPath is
// the CA bundle used to verify PD; certPath and keyPath, when both are
// non-empty, are the client certificate and key for mutual TLS.
func LoadTLSConfig(caPath, certPath, keyPath string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caPath != "" {
		pem, err := os.ReadFile(caPath)
		if err != nil {
			return nil, fmt.Errorf("pdclient: read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("pdclient: %w: no certificate in CA file %q", ErrInvalidOption, caPath)
		}
		cfg.RootCAs = pool
	}
	if (certPath == "") != (keyPath == "") {
		return nil, fmt.Errorf("pdclient: %w: certificate and key must be given together", ErrInvalidOption)
	}
	if certPath != "" {
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return nil, fmt.Errorf("pdclient: load key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// CallOption tunes one call. Every CallOption is also a [RegionOption] and a
// [StoreOption].
type CallOption interface {
	RegionOption
	StoreOption
	applyCall(*callConfig)
}

type callConfig struct {
	timeout time.Duration
	// follower lets retries after a transport failure go to a follower.
	follower bool
}

type callOption func(*callConfig)

func (f callOption) applyCall(c *callConfig)     { f(c) }
func (f callOption) applyRegion(c *regionConfig) { f(&c.callConfig) }
func (f callOption) applyStore(c *storeConfig)   { f(&c.callConfig) }

// WithCallTimeout bounds the whole call, retries included, to d (on top of
// the ctx deadline, whichever is earlier).
func WithCallTimeout(d time.Duration) CallOption {
	return callOption(func(c *callConfig) { c.timeout = d })
}

func collectCall(opts []CallOption) callConfig {
	var cc callConfig
	for _, o := range opts {
		if o != nil {
			o.applyCall(&cc)
		}
	}
	return cc
}

// RegionOption tunes a region query.
type RegionOption interface{ applyRegion(*regionConfig) }

type regionConfig struct {
	callConfig
	buckets        bool
	allowFollower  bool
	containAllKeys bool
}

type regionOption func(*regionConfig)

func (f regionOption) applyRegion(c *regionConfig) { f(c) }

// WithBuckets asks PD to include the region's bucket boundaries.
func WithBuckets() RegionOption {
	return regionOption(func(c *regionConfig) { c.buckets = true })
}

// WithAllowFollower lets a PD follower answer the query from its synced
// region cache (gRPC metadata pd-allow-follower-handle). The call goes to
// the leader first; when the leader cannot be reached, retries go to the
// other members, whose answer may be slightly stale. A follower whose cache
// has no such region answers REGION_NOT_FOUND, and the next retry returns to
// the leader.
func WithAllowFollower() RegionOption {
	return regionOption(func(c *regionConfig) { c.allowFollower, c.follower = true, true })
}

// WithContainAllKeyRange makes BatchScanRegions fail (with a [PDError] of
// type REGIONS_NOT_CONTAIN_ALL_KEY_RANGE) when PD's region tree has a hole in
// a requested range.
func WithContainAllKeyRange() RegionOption {
	return regionOption(func(c *regionConfig) { c.containAllKeys = true })
}

func collectRegion(opts []RegionOption) regionConfig {
	var rc regionConfig
	for _, o := range opts {
		if o != nil {
			o.applyRegion(&rc)
		}
	}
	return rc
}

// StoreOption tunes a store query.
type StoreOption interface{ applyStore(*storeConfig) }

type storeConfig struct {
	callConfig
	excludeTombstone bool
}

type storeOption func(*storeConfig)

func (f storeOption) applyStore(c *storeConfig) { f(c) }

// WithExcludeTombstones leaves out stores PD considers removed.
func WithExcludeTombstones() StoreOption {
	return storeOption(func(c *storeConfig) { c.excludeTombstone = true })
}

func collectStore(opts []StoreOption) storeConfig {
	var sc storeConfig
	for _, o := range opts {
		if o != nil {
			o.applyStore(&sc)
		}
	}
	return sc
}
