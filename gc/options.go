package gc

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
)

// Option configures a [Client]. It is sealed: only this package implements
// it.
type Option interface{ apply(*config) }

type option func(*config)

func (f option) apply(c *config) { f(c) }

type config struct {
	concurrency  int
	scanLimit    int
	budget       time.Duration
	safePointTTL time.Duration
	codec        *keycodec.Codec
	keyspaceID   uint32
	spSource     SafePointSource
	safePoints   *SafePointCache
	logger       *slog.Logger
}

func defaultConfig() config {
	return config{
		concurrency:  8,
		scanLimit:    1024,
		budget:       60 * time.Second,
		safePointTTL: 10 * time.Second,
		keyspaceID:   pdclient.NullKeyspaceID,
		logger:       slog.New(slog.DiscardHandler),
	}
}

func (c *config) validate() error {
	switch {
	case c.concurrency < 1:
		return fmt.Errorf("gc: %w: concurrency %d < 1", ErrInvalidOption, c.concurrency)
	case c.scanLimit < 1:
		return fmt.Errorf("gc: %w: scan lock limit %d < 1", ErrInvalidOption, c.scanLimit)
	case c.budget <= 0:
		return fmt.Errorf("gc: %w: region budget %v <= 0", ErrInvalidOption, c.budget)
	case c.safePointTTL < 0:
		return fmt.Errorf("gc: %w: safe point TTL %v < 0", ErrInvalidOption, c.safePointTTL)
	}
	return nil
}

// WithConcurrency sets how many regions a range task works on at once.
// Default 8 (client-go's GC default).
func WithConcurrency(n int) Option { return option(func(c *config) { c.concurrency = n }) }

// WithScanLockLimit sets how many locks one ScanLock page returns. Default
// 1024.
func WithScanLockLimit(n int) Option { return option(func(c *config) { c.scanLimit = n }) }

// WithRegionBudget sets the retry budget of each piece of a range task
// (region misses, leader changes, unreachable stores, live locks). Default
// 60 s.
func WithRegionBudget(d time.Duration) Option { return option(func(c *config) { c.budget = d }) }

// WithSafePointTTL sets how long a cached txn safe point is trusted by
// [Client.CheckReadTS] before it is fetched again. Default 10 s (TiKV and
// client-go poll at that period); 0 fetches on every check.
func WithSafePointTTL(d time.Duration) Option {
	return option(func(c *config) { c.safePointTTL = d })
}

// WithCodec sets the key codec: under API V2 it scopes every range (the
// lock phase of a round, DeleteRange, UnsafeDestroyRange) to the keyspace.
// Default API V1, transactional keys.
func WithCodec(codec *keycodec.Codec) Option { return option(func(c *config) { c.codec = codec }) }

// WithKeyspaceID sets the GC-state scope: a keyspace that runs its own
// (keyspace-level) GC. Default [pdclient.NullKeyspaceID], unified GC, or
// with an API V2 codec ([WithCodec]) the codec's keyspace, which is the
// only id New accepts then.
func WithKeyspaceID(id uint32) Option { return option(func(c *config) { c.keyspaceID = id }) }

// WithLogger sets the logger for round and range-task state transitions.
// Default: discard.
func WithLogger(l *slog.Logger) Option {
	return option(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithSafePointSource makes [Client.CheckReadTS] and the other safe point
// reads fetch the txn safe point from src instead of PD's GetGCState.
// Rounds and barriers still use the GC-state API. Default: PD.
func WithSafePointSource(src SafePointSource) Option {
	return option(func(c *config) { c.spSource = src })
}

// WithSafePointCache makes the client check reads against, and record the
// safe points of its rounds in, cache instead of a cache of its own; the
// facade passes the transactional client's cache, so one cache serves both.
// [WithSafePointTTL] and [WithSafePointSource] are then ignored.
func WithSafePointCache(cache *SafePointCache) Option {
	return option(func(c *config) { c.safePoints = cache })
}
