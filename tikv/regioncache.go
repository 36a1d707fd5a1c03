package tikv

import (
	"errors"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/locate"
)

// upkeepConfig holds the facade's settings for the region cache's
// background loop (locate.Cache.StartUpkeep).
type upkeepConfig struct {
	off   bool
	probe *probeSetting
	opts  []locate.UpkeepOption
	errs  []error
	// safeTS is the safe-ts poll interval; nil means the default, 0 off.
	safeTS *time.Duration
}

// WithoutUpkeep turns off the region cache's background loop. Expired
// regions are then only replaced when looked up (never freed), stores are
// re-read from PD only when a request proves them stale, and a store marked
// unreachable recovers only when a request to it succeeds. Default: the loop
// runs from New to Close.
func WithoutUpkeep() Option {
	return optionFunc(func(c *config) { c.upkeep.off = true })
}

// WithStoreProbe sets how often the background loop probes each store that
// a request failed to reach (through the gRPC health service TiKV serves)
// and how long one probe may take; a store that answers SERVING takes
// requests again. Interval 0 turns probing off. Defaults
// locate.DefaultProbeInterval (1s) and locate.DefaultProbeTimeout (1s).
func WithStoreProbe(interval, timeout time.Duration) Option {
	return optionFunc(func(c *config) {
		if interval < 0 || timeout <= 0 {
			c.upkeep.errs = append(c.upkeep.errs, fmt.Errorf("WithStoreProbe(%v, %v)", interval, timeout))
			return
		}
		c.upkeep.probe = &probeSetting{interval: interval, timeout: timeout}
	})
}

// WithRegionPurge sets how often the background loop drops expired and
// invalid regions from the cache and how many cached regions one pass looks
// at. Interval 0 turns purging off. Defaults locate.DefaultPurgeInterval
// (1s) and locate.DefaultPurgeScan (4096).
func WithRegionPurge(interval time.Duration, scan int) Option {
	return optionFunc(func(c *config) {
		if interval < 0 || (interval > 0 && scan < 1) {
			c.upkeep.errs = append(c.upkeep.errs, fmt.Errorf("WithRegionPurge(%v, %d)", interval, scan))
			return
		}
		c.upkeep.opts = append(c.upkeep.opts, locate.WithPurge(interval, scan))
	})
}

// WithStoreRefresh sets how often the background loop reloads the store
// list from PD. Interval 0 turns it off. Default
// locate.DefaultStoreRefreshInterval (10s).
func WithStoreRefresh(interval time.Duration) Option {
	return optionFunc(func(c *config) {
		if interval < 0 {
			c.upkeep.errs = append(c.upkeep.errs, fmt.Errorf("WithStoreRefresh(%v)", interval))
			return
		}
		c.upkeep.opts = append(c.upkeep.opts, locate.WithStoreRefresh(interval))
	})
}

// WithSafeTSPoll sets how often the background loop asks every store for its
// stale-read safe ts (GetStoreSafeTS), which stale reads use to pick a
// replica that can serve them and MaxStalenessTS uses as a floor. Interval
// 0 turns polling off (stale reads then try replicas blindly). Default
// locate.DefaultSafeTSInterval (2s).
func WithSafeTSPoll(interval time.Duration) Option {
	return optionFunc(func(c *config) {
		if interval < 0 {
			c.upkeep.errs = append(c.upkeep.errs, fmt.Errorf("WithSafeTSPoll(%v)", interval))
			return
		}
		c.upkeep.safeTS = &interval
	})
}

type probeSetting struct{ interval, timeout time.Duration }

// upkeepOptions returns the locate options for the loop, probing through
// hc and polling safe ts through rpc unless told otherwise.
func (u *upkeepConfig) upkeepOptions(hc locate.HealthChecker, rpc locate.RPCClient) []locate.UpkeepOption {
	p := probeSetting{interval: locate.DefaultProbeInterval, timeout: locate.DefaultProbeTimeout}
	if u.probe != nil {
		p = *u.probe
	}
	opts := []locate.UpkeepOption{locate.WithProbe(hc, p.interval, p.timeout)}
	if u.safeTS == nil {
		opts = append(opts, locate.WithSafeTSUpdate(rpc, locate.DefaultSafeTSInterval))
	} else if *u.safeTS > 0 {
		opts = append(opts, locate.WithSafeTSUpdate(rpc, *u.safeTS))
	}
	return append(opts, u.opts...)
}

// validate reports the upkeep settings that can never work.
func (u *upkeepConfig) validate() error { return errors.Join(u.errs...) }

// CacheStatsTracker is an optional interface of Metrics: New hands it a
// function reading the region cache's cumulative counters (hits, misses,
// loads, invalidations by cause, purges, store probes), and Close calls the
// returned untrack function, after which the adapter never calls it again.
type CacheStatsTracker interface {
	TrackCacheStats(cache func() locate.Stats) (untrack func())
}

// RegionCacheStats returns the region cache's counters (see locate.Stats):
// how often lookups hit, how often PD was asked, why regions were
// invalidated, and what the background loop did.
func (c *Client) RegionCacheStats() locate.Stats { return c.cache.Stats() }
