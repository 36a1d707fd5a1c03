package kvrpc

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"google.golang.org/grpc"
)

// Defaults applied by [New] when the matching option is not given.
const (
	DefaultConnectionCount  = 4
	DefaultMaxBatchSize     = 128
	DefaultDialTimeout      = 5 * time.Second
	DefaultKeepaliveTime    = 10 * time.Second
	DefaultKeepaliveTimeout = 3 * time.Second
	// DefaultReconnectBase and DefaultReconnectMax bound the delay between
	// attempts to reconnect to a store that went away. gRPC's own default
	// grows to 2 minutes; stores restart on the same address and should be
	// used again within about a second of coming back, so the cap is short.
	// A down store then costs one connection attempt per second per
	// connection, which is negligible.
	DefaultReconnectBase = 100 * time.Millisecond
	DefaultReconnectMax  = time.Second
)

type config struct {
	connCount        int
	maxBatchSize     int
	tlsConfig        *tls.Config
	keepaliveTime    time.Duration
	keepaliveTimeout time.Duration
	dialTimeout      time.Duration
	reconnectBase    time.Duration
	reconnectMax     time.Duration
	interceptors     []Interceptor
	logger           *slog.Logger
	onFeedback       func(addr string, fb *kvrpcpb.HealthFeedback)
	dialOptions      []grpc.DialOption
	overloadLoad     uint64
	overloadWait     time.Duration
	overloadSize     int
}

func defaultConfig() config {
	return config{
		connCount:        DefaultConnectionCount,
		maxBatchSize:     DefaultMaxBatchSize,
		keepaliveTime:    DefaultKeepaliveTime,
		keepaliveTimeout: DefaultKeepaliveTimeout,
		dialTimeout:      DefaultDialTimeout,
		reconnectBase:    DefaultReconnectBase,
		reconnectMax:     DefaultReconnectMax,
		logger:           slog.New(slog.DiscardHandler),
	}
}

func (c *config) validate() error {
	switch {
	case c.connCount < 1:
		return fmt.Errorf("kvrpc: %w: connection count %d < 1", ErrInvalidOption, c.connCount)
	case c.maxBatchSize < 0:
		return fmt.Errorf("kvrpc: %w: max batch size %d < 0", ErrInvalidOption, c.maxBatchSize)
	case c.keepaliveTime < 0 || c.keepaliveTimeout < 0 || c.dialTimeout < 0:
		return fmt.Errorf("kvrpc: %w: negative duration", ErrInvalidOption)
	case c.reconnectBase <= 0 || c.reconnectMax < c.reconnectBase:
		return fmt.Errorf("kvrpc: %w: reconnect backoff base %v, max %v (need 0 < base <= max)", ErrInvalidOption, c.reconnectBase, c.reconnectMax)
	case c.overloadWait < 0 || c.overloadSize < 0:
		return fmt.Errorf("kvrpc: %w: negative overload batching setting", ErrInvalidOption)
	case c.logger == nil:
		return fmt.Errorf("kvrpc: %w: nil logger", ErrInvalidOption)
	}
	return nil
}

// Option configures a [Client]. Options are sealed: build them with the
// With* functions of this package.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithConnectionCount sets how many gRPC connections the client keeps to each
// store; requests are spread over them round-robin, and each connection
// carries its own BatchCommands stream. Default [DefaultConnectionCount].
func WithConnectionCount(n int) Option { return optionFunc(func(c *config) { c.connCount = n }) }

// WithMaxBatchSize caps how many requests one BatchCommands message carries.
// Zero disables batching: every request then takes the unary path.
// Default [DefaultMaxBatchSize].
func WithMaxBatchSize(n int) Option { return optionFunc(func(c *config) { c.maxBatchSize = n }) }

// WithTLSConfig makes the client dial stores with TLS. The config is cloned.
// Default: plaintext.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(c *config) {
		if cfg != nil {
			cfg = cfg.Clone()
		}
		c.tlsConfig = cfg
	})
}

// WithKeepalive sets the gRPC keepalive ping interval and the time to wait for
// its ack before the connection is considered dead. Defaults
// [DefaultKeepaliveTime] and [DefaultKeepaliveTimeout]; zero time disables
// pings.
func WithKeepalive(interval, timeout time.Duration) Option {
	return optionFunc(func(c *config) { c.keepaliveTime, c.keepaliveTimeout = interval, timeout })
}

// WithDialTimeout bounds how long opening a BatchCommands stream may wait for
// the connection to become ready. Default [DefaultDialTimeout].
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.dialTimeout = d })
}

// WithReconnectBackoff sets the delay between reconnection attempts to a
// store whose connection failed: the first retry waits about base, each next
// one 1.6 times longer (±20% jitter), capped at max. Defaults
// [DefaultReconnectBase] and [DefaultReconnectMax].
func WithReconnectBackoff(base, max time.Duration) Option {
	return optionFunc(func(c *config) { c.reconnectBase, c.reconnectMax = base, max })
}

// WithInterceptors appends interceptors to the chain every request passes
// through. The first one given is the outermost. Default: none.
func WithInterceptors(its ...Interceptor) Option {
	return optionFunc(func(c *config) { c.interceptors = append(c.interceptors, its...) })
}

// WithLogger sets the logger for state transitions (stream broken and
// re-established). Default: discard.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithHealthFeedback registers a function called with every health feedback
// message a store piggybacks on a batch response. It runs on the stream's
// receive goroutine and must not block. Default: none; the last feedback is
// still available from [Client.StoreLoad].
func WithHealthFeedback(fn func(addr string, fb *kvrpcpb.HealthFeedback)) Option {
	return optionFunc(func(c *config) { c.onFeedback = fn })
}

// WithOverloadBatchWait makes the batch sender wait up to wait for at least
// size requests before sending, but only while the store reports a transport
// layer load above load (for example 200, meaning 200% gRPC CPU). At low load
// the sender never waits. Default: disabled.
func WithOverloadBatchWait(load uint64, wait time.Duration, size int) Option {
	return optionFunc(func(c *config) { c.overloadLoad, c.overloadWait, c.overloadSize = load, wait, size })
}

// WithDialOptions appends raw gRPC dial options, applied after the client's
// own.
//
// # Experimental
//
// This escape hatch may be removed once the options above cover every need.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return optionFunc(func(c *config) { c.dialOptions = append(c.dialOptions, opts...) })
}
