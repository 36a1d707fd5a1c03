package tikv

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/txnkv"
)

// ErrInvalidOption is wrapped by the error New returns for an option that
// can never work (a negative timeout, a keyspace without API V2, unreadable
// TLS files, conflicting settings, a bad WithRawOptions value). New sends
// nothing when it returns it. It is the one value every module wraps for a
// bad option (retry.ErrInvalidOption), so it matches theirs too.
var ErrInvalidOption = retry.ErrInvalidOption

// Option configures New. Options are sealed: build them with the With*
// functions of this package.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tlsCfg         *tls.Config
	tlsFiles       *tlsFiles
	apiVersion     APIVersion
	keyspace       string
	logger         *slog.Logger
	metrics        Metrics
	dialOpts       []grpc.DialOption
	requestTimeout time.Duration
	pdTimeout      time.Duration
	connCount      int
	pd             *pdclient.Client
	rawOpts        []rawkv.Option
	txnOpts        []txnkv.Option
	upkeep         upkeepConfig
	errs           []error
}

type tlsFiles struct{ ca, cert, key string }

func defaultConfig() config {
	return config{
		apiVersion: V1,
		logger:     slog.New(slog.DiscardHandler),
		connCount:  kvrpc.DefaultConnectionCount,
	}
}

// validate reports every setting that can never work, before any I/O.
func (c *config) validate() error {
	errs := append([]error(nil), c.errs...)
	switch c.apiVersion {
	case V1, V1TTL, V2:
	default:
		errs = append(errs, fmt.Errorf("api version %v is unknown", c.apiVersion))
	}
	if c.keyspace != "" && c.apiVersion != V2 {
		errs = append(errs, fmt.Errorf("keyspace %q needs api version V2", c.keyspace))
	}
	if c.requestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request timeout %v is negative", c.requestTimeout))
	}
	if c.pdTimeout < 0 {
		errs = append(errs, fmt.Errorf("pd timeout %v is negative", c.pdTimeout))
	}
	if c.connCount < 1 {
		errs = append(errs, fmt.Errorf("connection count %d is below 1", c.connCount))
	}
	if c.tlsCfg != nil && c.tlsFiles != nil {
		errs = append(errs, errors.New("WithTLS and WithTLSFiles are exclusive"))
	}
	if c.tlsFiles != nil && c.tlsFiles.ca == "" {
		errs = append(errs, errors.New("WithTLSFiles needs a CA file"))
	}
	if c.tlsFiles != nil && (c.tlsFiles.cert == "") != (c.tlsFiles.key == "") {
		errs = append(errs, errors.New("WithTLSFiles needs both the certificate and the key, or neither"))
	}
	if c.pd != nil && c.pdTimeout > 0 {
		// The shared PD client was configured by its owner; silently
		// ignoring a PD setting here would hide a mistake.
		errs = append(errs, errors.New("WithPDClient excludes WithPDTimeout"))
	}
	if err := c.upkeep.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("tikv: %w: %w", ErrInvalidOption, errors.Join(errs...))
}

// WithTLS makes every connection, to PD and to the stores, use TLS with cfg.
// Default: plaintext. It excludes WithTLSFiles.
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c *config) {
		if cfg == nil {
			c.errs = append(c.errs, errors.New("WithTLS(nil)"))
			return
		}
		c.tlsCfg = cfg
	})
}

// WithTLSFiles is WithTLS with a configuration New loads from PEM files:
// ca verifies the servers; cert and key, both set or both empty, add a client
// certificate for mutual TLS. A file New cannot load makes it fail with
// ErrInvalidOption.
func WithTLSFiles(ca, cert, key string) Option {
	return optionFunc(func(c *config) { c.tlsFiles = &tlsFiles{ca: ca, cert: cert, key: key} })
}

// WithAPIVersion sets the storage API version the cluster runs (TiKV's
// storage.api-version). Default V1.
func WithAPIVersion(v APIVersion) Option {
	return optionFunc(func(c *config) { c.apiVersion = v })
}

// WithKeyspace selects the keyspace of an API V2 client by name; New loads
// its id from PD. It requires WithAPIVersion(V2). Default DefaultKeyspace.
func WithKeyspace(name string) Option {
	return optionFunc(func(c *config) {
		if name == "" {
			c.errs = append(c.errs, errors.New("WithKeyspace(\"\")"))
			return
		}
		c.keyspace = name
	})
}

// WithLogger sets the logger handed to every module the client builds (PD,
// TSO, RPC, region cache, raw client); they log state transitions only,
// never per request. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			c.errs = append(c.errs, errors.New("WithLogger(nil)"))
			return
		}
		c.logger = l
	})
}

// WithMetrics hands m the client's events: every store RPC passes through
// m.InterceptRPC, and the optional interfaces m implements (StatsTracker,
// TSOObserver, BackoffObserver, CacheStatsTracker) are used too. The facade registers nothing anywhere; the
// caller owns m and whatever registry it writes to. Default: none.
func WithMetrics(m Metrics) Option {
	return optionFunc(func(c *config) {
		if m == nil {
			c.errs = append(c.errs, errors.New("WithMetrics(nil)"))
			return
		}
		c.metrics = m
	})
}

// WithGRPCDialOptions appends gRPC dial options to those used for PD and
// store connections. Transport credentials come from WithTLS; do not pass
// them here.
//
// # Experimental
func WithGRPCDialOptions(opts ...grpc.DialOption) Option {
	return optionFunc(func(c *config) { c.dialOpts = append(c.dialOpts, opts...) })
}

// WithRequestTimeout bounds each store RPC attempt, writes included; an
// attempt that times out is tried again on another replica within the
// call's ctx (a write that must not be resent then fails with
// ErrUndetermined). Default 0: a write's attempts are bounded by the call's
// ctx only, and a raw read's by rawkv.DefaultReadTimeout (tune it with
// WithRawOptions(rawkv.WithReadTimeout(d))).
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.requestTimeout = d })
}

// WithPDTimeout bounds each PD RPC attempt. Default
// pdclient.DefaultRPCTimeout (3s).
func WithPDTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.pdTimeout = d })
}

// WithConnectionCount sets how many gRPC connections the client keeps to
// each store. Default kvrpc.DefaultConnectionCount.
func WithConnectionCount(n int) Option {
	return optionFunc(func(c *config) { c.connCount = n })
}

// WithPDClient makes the client use pd instead of discovering PD itself.
// The caller keeps ownership: Close does not close pd, and pd must outlive
// the client. The pdAddrs given to New are then ignored, WithTLS,
// WithTLSFiles and WithGRPCDialOptions apply to store connections only, and
// WithPDTimeout is rejected (pd's owner configured it).
func WithPDClient(pd *pdclient.Client) Option {
	return optionFunc(func(c *config) {
		if pd == nil {
			c.errs = append(c.errs, errors.New("WithPDClient(nil)"))
			return
		}
		c.pd = pd
	})
}

// WithRawOptions passes options to the raw client (for example
// rawkv.WithAtomicForCAS, batch limits, the retry budget). The options that
// configure the shared parts (rawkv.WithPDOptions, WithRPCOptions,
// WithCacheOptions) are ignored: the facade builds those parts. The raw
// options are checked when the raw client is built, after PD discovery; a bad
// one still fails New with ErrInvalidOption (and rawkv.ErrInvalidOption).
// Default: none.
func WithRawOptions(opts ...rawkv.Option) Option {
	return optionFunc(func(c *config) { c.rawOpts = append(c.rawOpts, opts...) })
}

// WithAtomicForCAS puts the raw client in atomic mode, which
// RawClient.CompareAndSwap requires: every raw write takes TiKV's per-key
// CAS latch, and a write whose answer was lost fails with ErrUndetermined
// instead of being resent. Every client writing the keys a CAS touches must
// use it. It is WithRawOptions(rawkv.WithAtomicForCAS()). Default: off.
func WithAtomicForCAS() Option { return WithRawOptions(rawkv.WithAtomicForCAS()) }
