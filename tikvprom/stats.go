package tikvprom

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tso"
)

// TrackStats starts exporting the cumulative Stats of one client's parts
// (the facade's tikv.StatsTracker); any function may be nil. The functions
// are called at scrape time. The returned untrack function reads them one
// last time, keeps those counts, and stops calling them; it is idempotent.
func (m *Metrics) TrackStats(rpc func() kvrpc.Stats, pd func() pdclient.Stats, t func() tso.Stats) (untrack func()) {
	return m.stats.track(&source{rpc: rpc, pd: pd, tso: t})
}

// TrackCacheStats starts exporting the cumulative Stats of one region cache
// (the facade's tikv.CacheStatsTracker): hits, misses, PD loads,
// invalidations by cause, purges and store probes. cache is called at scrape
// time. The returned untrack function reads it one last time, keeps those
// counts, and stops calling it; it is idempotent.
func (m *Metrics) TrackCacheStats(cache func() locate.Stats) (untrack func()) {
	return m.stats.track(&source{cache: cache})
}

type source struct {
	rpc   func() kvrpc.Stats
	pd    func() pdclient.Stats
	tso   func() tso.Stats
	cache func() locate.Stats
}

// totals is the sum of the counters of every source.
type totals struct {
	rpc   kvrpc.Stats
	pd    pdclient.Stats
	tso   tso.Stats
	cache locate.Stats
}

func (t *totals) add(s *source) {
	if s.rpc != nil {
		r := s.rpc()
		t.rpc.BatchMessages += r.BatchMessages
		t.rpc.BatchedRequests += r.BatchedRequests
		t.rpc.UnaryRequests += r.UnaryRequests
		t.rpc.StreamsOpened += r.StreamsOpened
		t.rpc.StreamFailures += r.StreamFailures
	}
	if s.pd != nil {
		p := s.pd()
		t.pd.Discoveries += p.Discoveries
		t.pd.DiscoveryFailures += p.DiscoveryFailures
		t.pd.LeaderChanges += p.LeaderChanges
		t.pd.Retries += p.Retries
	}
	if s.tso != nil {
		x := s.tso()
		t.tso.Rounds += x.Rounds
		t.tso.Timestamps += x.Timestamps
		t.tso.FailedRounds += x.FailedRounds
		t.tso.Streams += x.Streams
	}
	if s.cache != nil {
		x := s.cache()
		c := &t.cache
		c.Hits += x.Hits
		c.Misses += x.Misses
		c.Loads += x.Loads
		c.LoadErrors += x.LoadErrors
		c.Purged += x.Purged
		c.StoreRefreshes += x.StoreRefreshes
		c.StoreRefreshErrors += x.StoreRefreshErrors
		c.Probes += x.Probes
		c.ProbeFailures += x.ProbeFailures
		c.StoresRecovered += x.StoresRecovered
		v, w := &c.Invalidations, x.Invalidations
		v.NoLeader += w.NoLeader
		v.RegionNotFound += w.RegionNotFound
		v.EpochNotMatch += w.EpochNotMatch
		v.StoreNotFound += w.StoreNotFound
		v.Expired += w.Expired
		v.Other += w.Other
	}
}

// reasonLabel is the invalidation reason as a label value ("no_leader").
func reasonLabel(r locate.InvalidReason) string { return strings.ReplaceAll(r.String(), " ", "_") }

type counter struct {
	desc  *prometheus.Desc
	value func(*totals) uint64
}

// statsCollector exports the Stats of the tracked sources as counters.
// Sources that were untracked live on in retired, so counters never go
// down when a client closes.
type statsCollector struct {
	counters []counter
	// invalidations is labelled by reason, one of locate.InvalidReasons:
	// a fixed, small label set.
	invalidations *prometheus.Desc

	mu      sync.Mutex
	live    map[*source]struct{}
	retired totals
}

func newStatsCollector(ns string, labels prometheus.Labels) *statsCollector {
	c := func(sub, name, help string, v func(*totals) uint64) counter {
		return counter{desc: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, name), help, nil, labels), value: v}
	}
	return &statsCollector{
		live: map[*source]struct{}{},
		invalidations: prometheus.NewDesc(prometheus.BuildFQName(ns, "region_cache", "invalidations_total"),
			"Cached regions invalidated, by reason.", []string{"reason"}, labels),
		counters: []counter{
			c("rpc", "batch_messages_total", "BatchCommands messages sent to stores.", func(t *totals) uint64 { return t.rpc.BatchMessages }),
			c("rpc", "batched_requests_total", "Requests carried by BatchCommands messages.", func(t *totals) uint64 { return t.rpc.BatchedRequests }),
			c("rpc", "unary_requests_total", "Requests sent as unary RPCs.", func(t *totals) uint64 { return t.rpc.UnaryRequests }),
			c("rpc", "streams_opened_total", "BatchCommands streams opened.", func(t *totals) uint64 { return t.rpc.StreamsOpened }),
			c("rpc", "stream_failures_total", "BatchCommands streams that broke while in use.", func(t *totals) uint64 { return t.rpc.StreamFailures }),
			c("pd", "discoveries_total", "Successful PD member discoveries.", func(t *totals) uint64 { return t.pd.Discoveries }),
			c("pd", "discovery_failures_total", "PD member discoveries where no member answered usefully.", func(t *totals) uint64 { return t.pd.DiscoveryFailures }),
			c("pd", "leader_changes_total", "PD leader switches after the first discovery.", func(t *totals) uint64 { return t.pd.LeaderChanges }),
			c("pd", "retries_total", "PD RPC attempts repeated after a retryable failure.", func(t *totals) uint64 { return t.pd.Retries }),
			c("tso", "rounds_total", "Successful TSO stream rounds.", func(t *totals) uint64 { return t.tso.Rounds }),
			c("tso", "timestamps_total", "Timestamps handed out by TSO rounds.", func(t *totals) uint64 { return t.tso.Timestamps }),
			c("tso", "failed_rounds_total", "TSO stream rounds that failed.", func(t *totals) uint64 { return t.tso.FailedRounds }),
			c("tso", "streams_total", "TSO streams opened.", func(t *totals) uint64 { return t.tso.Streams }),
			c("region_cache", "hits_total", "Region lookups served from the cache.", func(t *totals) uint64 { return t.cache.Hits }),
			c("region_cache", "misses_total", "Region lookups that waited for a PD load.", func(t *totals) uint64 { return t.cache.Misses }),
			c("region_cache", "loads_total", "Region loads from PD (concurrent misses share one).", func(t *totals) uint64 { return t.cache.Loads }),
			c("region_cache", "load_errors_total", "Region loads from PD that failed.", func(t *totals) uint64 { return t.cache.LoadErrors }),
			c("region_cache", "purged_total", "Expired or invalid regions removed from the cache.", func(t *totals) uint64 { return t.cache.Purged }),
			c("region_cache", "store_refreshes_total", "Store list reloads from PD.", func(t *totals) uint64 { return t.cache.StoreRefreshes }),
			c("region_cache", "store_refresh_errors_total", "Store list reloads from PD that failed.", func(t *totals) uint64 { return t.cache.StoreRefreshErrors }),
			c("region_cache", "store_probes_total", "Liveness probes of unreachable stores.", func(t *totals) uint64 { return t.cache.Probes }),
			c("region_cache", "store_probe_failures_total", "Liveness probes that did not find the store serving.", func(t *totals) uint64 { return t.cache.ProbeFailures }),
			c("region_cache", "stores_recovered_total", "Unreachable stores a probe marked reachable again.", func(t *totals) uint64 { return t.cache.StoresRecovered }),
		},
	}
}

func (c *statsCollector) track(s *source) func() {
	c.mu.Lock()
	c.live[s] = struct{}{}
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			delete(c.live, s)
			c.retired.add(s)
		})
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, k := range c.counters {
		ch <- k.desc
	}
	ch <- c.invalidations
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	t := c.retired
	for s := range c.live {
		t.add(s)
	}
	c.mu.Unlock()
	for _, k := range c.counters {
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.CounterValue, float64(k.value(&t)))
	}
	for _, r := range locate.InvalidReasons {
		ch <- prometheus.MustNewConstMetric(c.invalidations, prometheus.CounterValue,
			float64(t.cache.Invalidations.Of(r)), reasonLabel(r))
	}
}
