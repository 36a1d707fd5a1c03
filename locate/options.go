package locate

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by [New] when the matching option is not given.
const (
	DefaultRegionTTL       = 10 * time.Minute
	DefaultRegionTTLJitter = time.Minute
	DefaultScanAhead       = 8
)

type config struct {
	ttl       time.Duration
	jitter    time.Duration
	scanAhead int
	buckets   bool
	logger    *slog.Logger
}

func defaultConfig() config {
	return config{
		ttl:       DefaultRegionTTL,
		jitter:    DefaultRegionTTLJitter,
		scanAhead: DefaultScanAhead,
		logger:    slog.New(slog.DiscardHandler),
	}
}

func (c *config) validate() error {
	switch {
	case c.ttl <= 0 || c.jitter < 0:
		return fmt.Errorf("locate: %w: region TTL %v jitter %v", ErrInvalidOption, c.ttl, c.jitter)
	case c.scanAhead < 1:
		return fmt.Errorf("locate: %w: scan ahead %d < 1", ErrInvalidOption, c.scanAhead)
	case c.logger == nil:
		return fmt.Errorf("locate: %w: nil logger", ErrInvalidOption)
	}
	return nil
}

// Option configures a [Cache]. Options are sealed: build them with the With*
// functions of this package.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRegionTTL sets how long a cached region stays usable without being
// accessed; each region gets a fixed extra delay in [0, jitter) so that
// regions loaded together do not expire together. Access extends the TTL.
// Defaults [DefaultRegionTTL] and [DefaultRegionTTLJitter].
func WithRegionTTL(ttl, jitter time.Duration) Option {
	return optionFunc(func(c *config) { c.ttl, c.jitter = ttl, jitter })
}

// WithScanAhead sets how many regions one cache miss loads from PD, starting
// with the missed one, so that the next keys of a scan or batch are already
// cached. 1 loads only the missed region. Default [DefaultScanAhead].
func WithScanAhead(n int) Option { return optionFunc(func(c *config) { c.scanAhead = n }) }

// WithBuckets asks PD for bucket boundaries when loading regions.
// Default: off.
func WithBuckets() Option { return optionFunc(func(c *config) { c.buckets = true }) }

// WithLogger sets the logger for cache state transitions (region reloaded,
// invalidated, store re-resolved). Default: discard.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }
