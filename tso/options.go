package tso

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
)

// Defaults for the client options.
const (
	// DefaultMaxBatchSize caps the timestamps asked for in one round.
	DefaultMaxBatchSize = 10000
	// DefaultMaxPending caps requests queued for the dispatcher; GetTS
	// blocks (honouring its ctx) while the queue is full.
	DefaultMaxPending = 1 << 16
	// DefaultRoundTimeout bounds one Tso round (stream open, send, receive).
	DefaultRoundTimeout = 3 * time.Second
	// DefaultRetryBudget bounds how long failing rounds are retried before
	// their requests fail (client-go's TSO budget is 15s).
	DefaultRetryBudget = 15 * time.Second
)

type config struct {
	logger       *slog.Logger
	maxBatch     int
	maxPending   int
	roundTimeout time.Duration
	retryBudget  time.Duration
	backoffBase  time.Duration
	backoffMax   time.Duration
	pdOpts       []pdclient.Option
}

func defaultConfig() config {
	return config{
		logger:       slog.New(slog.DiscardHandler),
		maxBatch:     DefaultMaxBatchSize,
		maxPending:   DefaultMaxPending,
		roundTimeout: DefaultRoundTimeout,
		retryBudget:  DefaultRetryBudget,
		backoffBase:  5 * time.Millisecond,
		backoffMax:   500 * time.Millisecond,
	}
}

func (c *config) validate() error {
	switch {
	case c.maxBatch <= 0 || c.maxBatch >= MaxLogical:
		return fmt.Errorf("%w: max batch size must be in (0, %d)", ErrInvalidArgument, MaxLogical)
	case c.maxPending <= 0:
		return fmt.Errorf("%w: max pending must be positive", ErrInvalidArgument)
	case c.roundTimeout <= 0:
		return fmt.Errorf("%w: round timeout must be positive", ErrInvalidArgument)
	case c.retryBudget < 0:
		return fmt.Errorf("%w: retry budget must not be negative", ErrInvalidArgument)
	case c.backoffBase <= 0 || c.backoffMax < c.backoffBase:
		return fmt.Errorf("%w: backoff needs 0 < base <= max", ErrInvalidArgument)
	}
	return nil
}

// Option configures a [Client]. Options are sealed.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger for stream reconnects and failures. Default: a
// logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMaxBatchSize caps how many timestamps one round asks PD for.
// Default: [DefaultMaxBatchSize].
func WithMaxBatchSize(n int) Option { return optionFunc(func(c *config) { c.maxBatch = n }) }

// WithMaxPending bounds the request queue. Default: [DefaultMaxPending].
func WithMaxPending(n int) Option { return optionFunc(func(c *config) { c.maxPending = n }) }

// WithRoundTimeout bounds one round trip to PD, after which the stream is
// considered broken and reopened. Default: [DefaultRoundTimeout].
func WithRoundTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.roundTimeout = d })
}

// WithRetryBudget bounds how long the dispatcher retries failing rounds
// (reconnecting, following the leader) before failing the queued requests.
// Zero fails them at the first error. Default: [DefaultRetryBudget].
func WithRetryBudget(d time.Duration) Option {
	return optionFunc(func(c *config) { c.retryBudget = d })
}

// WithBackoff sets the exponential backoff between failed rounds: base
// doubled per attempt up to max, ±50% jitter; a leader change cuts the wait
// short. Default: 5ms to 500ms.
func WithBackoff(base, max time.Duration) Option {
	return optionFunc(func(c *config) { c.backoffBase, c.backoffMax = base, max })
}

// WithPDOptions passes options to the pdclient that [New] creates. It is
// ignored by [NewFromPD].
func WithPDOptions(opts ...pdclient.Option) Option {
	return optionFunc(func(c *config) { c.pdOpts = append(c.pdOpts, opts...) })
}
