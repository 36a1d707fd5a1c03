package tikvprom

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tikvgo/tikvgo/kvrpc"
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

type source struct {
	rpc func() kvrpc.Stats
	pd  func() pdclient.Stats
	tso func() tso.Stats
}

// totals is the sum of the counters of every source.
type totals struct {
	rpc kvrpc.Stats
	pd  pdclient.Stats
	tso tso.Stats
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
}

type counter struct {
	desc  *prometheus.Desc
	value func(*totals) uint64
}

// statsCollector exports the Stats of the tracked sources as counters.
// Sources that were untracked live on in retired, so counters never go
// down when a client closes.
type statsCollector struct {
	counters []counter

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
}
