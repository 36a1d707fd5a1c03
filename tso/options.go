package tso

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

// Defaults for the client options.
const (
	// DefaultMaxBatchSize caps the timestamps asked for in one round.
	DefaultMaxBatchSize = 10000
	// DefaultMaxPending caps requests queued for the dispatcher; GetTS
	// blocks (honouring its ctx) while the queue is full.
	DefaultMaxPending = 1 << 16
	// DefaultPipelineDepth is how many rounds may be in flight on the Tso
	// stream at once (PD's own client calls this its RPC concurrency).
	DefaultPipelineDepth = 2
	// DefaultRoundTimeout bounds one Tso round (stream open, send, receive).
	DefaultRoundTimeout = 3 * time.Second
	// DefaultRetryBudget bounds the backoff sleep of a streak of failing
	// rounds before their requests fail (client-go's TSO budget).
	DefaultRetryBudget = retry.TSOBudget
)

// DefaultBackoff is the curve between failed rounds. It starts far below
// client-go's pdRPC 500ms because a broken stream to a healthy leader is
// usually fixed by reopening it, and a leader change ends any wait at once.
var DefaultBackoff = retry.Backoff{Base: 5 * time.Millisecond, Max: time.Second, Multiplier: 2}

type config struct {
	logger       *slog.Logger
	maxBatch     int
	maxPending   int
	depth        int
	roundTimeout time.Duration
	retryBudget  time.Duration
	backoff      retry.Backoff
	kind         *retry.Kind
	pdOpts       []pdclient.Option
}

func defaultConfig() config {
	return config{
		logger:       slog.New(slog.DiscardHandler),
		maxBatch:     DefaultMaxBatchSize,
		maxPending:   DefaultMaxPending,
		depth:        DefaultPipelineDepth,
		roundTimeout: DefaultRoundTimeout,
		retryBudget:  DefaultRetryBudget,
		backoff:      DefaultBackoff,
	}
}

func (c *config) validate() error {
	switch {
	case c.maxBatch <= 0 || c.maxBatch >= MaxLogical:
		return fmt.Errorf("tso: %w: max batch size must be in (0, %d)", ErrInvalidOption, MaxLogical)
	case c.maxPending <= 0:
		return fmt.Errorf("tso: %w: max pending must be positive", ErrInvalidOption)
	case c.depth <= 0:
		return fmt.Errorf("tso: %w: pipeline depth must be positive", ErrInvalidOption)
	case c.roundTimeout <= 0:
		return fmt.Errorf("tso: %w: round timeout must be positive", ErrInvalidOption)
	case c.retryBudget < 0:
		return fmt.Errorf("tso: %w: retry budget must not be negative", ErrInvalidOption)
	}
	k, err := retry.PDRPC.WithBackoff(c.backoff)
	if err != nil {
		return fmt.Errorf("tso: %w: %w", ErrInvalidOption, err)
	}
	c.kind = k
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

// WithPipelineDepth sets how many rounds may be in flight on the Tso stream
// at once. With more than one, a round is sent while earlier ones are still
// unanswered, so requests that arrive during a round do not wait for it to
// come back; PD answers a stream's rounds in order, and the answers are
// handed out in that order, so timestamps still increase strictly. 1 sends
// the next round only after the previous answer. Default:
// [DefaultPipelineDepth].
func WithPipelineDepth(n int) Option { return optionFunc(func(c *config) { c.depth = n }) }

// WithRoundTimeout bounds one round trip to PD, after which the stream is
// considered broken and reopened. Default: [DefaultRoundTimeout].
func WithRoundTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.roundTimeout = d })
}

// WithRetryBudget bounds the total backoff sleep while the dispatcher
// retries failing rounds (reconnecting, following the leader) before it
// fails the queued requests. Zero fails them at the first error. Default:
// [DefaultRetryBudget].
func WithRetryBudget(d time.Duration) Option {
	return optionFunc(func(c *config) { c.retryBudget = d })
}

// WithBackoff sets the delay curve between failed rounds (equal jitter); a
// leader change cuts a wait short. Default: [DefaultBackoff].
func WithBackoff(b retry.Backoff) Option {
	return optionFunc(func(c *config) { c.backoff = b })
}

// WithPDOptions passes options to the pdclient that [New] creates. It is
// ignored by [NewFromPD].
func WithPDOptions(opts ...pdclient.Option) Option {
	return optionFunc(func(c *config) { c.pdOpts = append(c.pdOpts, opts...) })
}
