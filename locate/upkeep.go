package locate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// HealthChecker probes whether the store at addr is serving; nil means it
// is. *kvrpc.Client satisfies it (CheckHealth, through the grpc.health.v1
// service TiKV serves). The ctx deadline bounds one probe.
type HealthChecker interface {
	CheckHealth(ctx context.Context, addr string) error
}

// Defaults of the upkeep loop, applied by [Cache.StartUpkeep] when the
// matching option is not given.
const (
	// DefaultPurgeInterval and DefaultPurgeScan: every second the loop
	// looks at the next 4096 cached regions (resuming where it stopped) and
	// drops the expired or invalid ones. That sweeps a million regions in
	// about four minutes, inside the default region TTL, for some tens of
	// microseconds of work a second; the tree is copy-on-write, so lookups
	// never wait for it.
	DefaultPurgeInterval = time.Second
	DefaultPurgeScan     = 4096
	// DefaultStoreRefreshInterval: stores change address, labels or state
	// rarely, and one GetAllStores call every 10 s (as client-go does)
	// notices it without waiting for a request to fail on them.
	DefaultStoreRefreshInterval = 10 * time.Second
	// DefaultProbeInterval: an unreachable store is probed once a second,
	// so a store that came back takes requests again within about a second
	// (client-go's health loop ticks at the same rate), at the cost of one
	// tiny RPC per unreachable store per second and nothing for healthy
	// ones.
	DefaultProbeInterval = time.Second
	// DefaultProbeTimeout bounds one probe (client-go's store liveness
	// timeout is the same): a loopback or LAN health check answers in
	// milliseconds, so a probe that takes a second is from a store that is
	// partitioned or stuck, and counts as failed.
	DefaultProbeTimeout = time.Second
)

type upkeepConfig struct {
	purgeInterval   time.Duration
	purgeScan       int
	refreshInterval time.Duration
	checker         HealthChecker
	probeInterval   time.Duration
	probeTimeout    time.Duration
	safeTSClient    RPCClient
	safeTSInterval  time.Duration
}

func defaultUpkeepConfig() upkeepConfig {
	return upkeepConfig{
		purgeInterval:   DefaultPurgeInterval,
		purgeScan:       DefaultPurgeScan,
		refreshInterval: DefaultStoreRefreshInterval,
		probeInterval:   DefaultProbeInterval,
		probeTimeout:    DefaultProbeTimeout,
	}
}

func (c *upkeepConfig) validate() error {
	switch {
	case c.purgeInterval < 0 || (c.purgeInterval > 0 && c.purgeScan < 1):
		return fmt.Errorf("locate: %w: purge every %v, %d regions", ErrInvalidOption, c.purgeInterval, c.purgeScan)
	case c.refreshInterval < 0:
		return fmt.Errorf("locate: %w: store refresh interval %v", ErrInvalidOption, c.refreshInterval)
	case c.safeTSInterval < 0 || (c.safeTSInterval > 0 && c.safeTSClient == nil):
		return fmt.Errorf("locate: %w: safe ts every %v (client set: %t)", ErrInvalidOption, c.safeTSInterval, c.safeTSClient != nil)
	case c.probeInterval < 0 || c.probeTimeout <= 0:
		return fmt.Errorf("locate: %w: probe every %v, timeout %v", ErrInvalidOption, c.probeInterval, c.probeTimeout)
	}
	return nil
}

// UpkeepOption configures [Cache.StartUpkeep]. Options are sealed: build
// them with the functions of this package.
type UpkeepOption interface{ applyUpkeep(*upkeepConfig) }

type upkeepOption func(*upkeepConfig)

func (f upkeepOption) applyUpkeep(c *upkeepConfig) { f(c) }

// WithPurge sets how often the loop purges expired and invalid regions and
// how many cached regions one pass looks at (a pass resumes after the last
// one it looked at, wrapping round). An interval of 0 turns purging off.
// Defaults [DefaultPurgeInterval] and [DefaultPurgeScan].
func WithPurge(interval time.Duration, scan int) UpkeepOption {
	return upkeepOption(func(c *upkeepConfig) { c.purgeInterval, c.purgeScan = interval, scan })
}

// WithStoreRefresh sets how often the loop reloads the store list from PD
// ([Cache.RefreshStores]); 0 turns it off. Default
// [DefaultStoreRefreshInterval].
func WithStoreRefresh(interval time.Duration) UpkeepOption {
	return upkeepOption(func(c *upkeepConfig) { c.refreshInterval = interval })
}

// WithProbe makes the loop probe, through hc, every store marked
// unreachable (see [Store.MarkUnreachable]) every interval, each probe
// bounded by timeout, and mark it reachable again once it answers. Without
// this option nothing is probed (a store then recovers only when a request
// to it succeeds). An interval of 0 turns probing off. Defaults
// [DefaultProbeInterval] and [DefaultProbeTimeout].
func WithProbe(hc HealthChecker, interval, timeout time.Duration) UpkeepOption {
	return upkeepOption(func(c *upkeepConfig) { c.checker, c.probeInterval, c.probeTimeout = hc, interval, timeout })
}

// WithSafeTSUpdate makes the loop poll every store's safe ts through client
// every interval ([Cache.RefreshSafeTS]), so stale reads sent with
// [WithStaleReadAt] go only to replicas that can serve them. Without this
// option nothing is polled and such reads try replicas as [WithStaleRead]
// does. An interval of 0 means [DefaultSafeTSInterval].
func WithSafeTSUpdate(client RPCClient, interval time.Duration) UpkeepOption {
	return upkeepOption(func(c *upkeepConfig) {
		if interval == 0 {
			interval = DefaultSafeTSInterval
		}
		c.safeTSClient, c.safeTSInterval = client, interval
	})
}

// Upkeep is the cache's background loop, started by [Cache.StartUpkeep]:
// it purges expired regions, refreshes stores from PD, probes unreachable
// stores and, when asked, polls the stores' safe ts. Close stops it. It is safe for concurrent use.
type Upkeep struct {
	c      *Cache
	cfg    upkeepConfig
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	cursor []byte // where the next purge pass starts; loop goroutine only
}

// StartUpkeep starts the cache's background loop and returns it; Close it
// to stop. A cache needs at most one; a bad option fails with
// [ErrInvalidOption] and starts nothing.
func (c *Cache) StartUpkeep(opts ...UpkeepOption) (*Upkeep, error) {
	cfg := defaultUpkeepConfig()
	for _, o := range opts {
		if o != nil {
			o.applyUpkeep(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &Upkeep{c: c, cfg: cfg, cancel: cancel, done: make(chan struct{})}
	go u.run(ctx)
	return u, nil
}

// Close stops the loop and returns once it has stopped (a probe or store
// refresh in flight is cancelled). It is idempotent.
func (u *Upkeep) Close() error {
	u.once.Do(func() {
		u.cancel()
		<-u.done
	})
	return nil
}

// ticker returns a ticker channel for d, or nil (never ready) when d is 0.
func ticker(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

func (u *Upkeep) run(ctx context.Context) {
	defer close(u.done)
	purge, stopPurge := ticker(u.cfg.purgeInterval)
	defer stopPurge()
	refresh, stopRefresh := ticker(u.cfg.refreshInterval)
	defer stopRefresh()
	var probe <-chan time.Time
	if u.cfg.checker != nil {
		var stopProbe func()
		probe, stopProbe = ticker(u.cfg.probeInterval)
		defer stopProbe()
	}
	var safeTS <-chan time.Time
	if u.cfg.safeTSClient != nil {
		var stopSafeTS func()
		safeTS, stopSafeTS = ticker(u.cfg.safeTSInterval)
		defer stopSafeTS()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-safeTS:
			// A store that does not answer keeps its last value; the next
			// tick asks again. Failures are common while a store is down,
			// so they are not logged one by one.
			_ = u.c.RefreshSafeTS(ctx, u.cfg.safeTSClient)
		case <-purge:
			u.purge()
		case <-refresh:
			if _, err := u.c.RefreshStores(ctx); err != nil && ctx.Err() == nil {
				u.c.cfg.logger.Warn("locate: store refresh failed", slog.Any("error", err))
			}
		case <-probe:
			u.probe(ctx)
		}
	}
}

// purge runs one bounded purge pass from the cursor.
func (u *Upkeep) purge() {
	next, _ := u.c.purgeScan(u.cursor, u.cfg.purgeScan)
	u.cursor = next
}

// probe checks every store marked unreachable, concurrently, and waits for
// all of them (each bounded by the probe timeout), so probes never pile up.
func (u *Upkeep) probe(ctx context.Context) {
	var wg sync.WaitGroup
	u.c.stores.stores.Range(func(_, v any) bool {
		s := v.(*Store)
		if s.Reachable() {
			return true
		}
		wg.Go(func() { u.probeStore(ctx, s) })
		return true
	})
	wg.Wait()
}

func (u *Upkeep) probeStore(ctx context.Context, s *Store) {
	pctx, cancel := context.WithTimeout(ctx, u.cfg.probeTimeout)
	err := u.cfg.checker.CheckHealth(pctx, s.Addr())
	cancel()
	if ctx.Err() != nil {
		return // closing: the outcome says nothing about the store
	}
	st := &u.c.stats
	st.probes.Add(1)
	if err != nil {
		st.probeFailures.Add(1)
		return
	}
	if s.unreachable.CompareAndSwap(true, false) {
		st.recovered.Add(1)
		u.c.cfg.logger.Info("locate: store reachable again", slog.Uint64("store_id", s.ID()), slog.String("addr", s.Addr()))
	}
}
