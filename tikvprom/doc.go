// Package tikvprom is the optional Prometheus adapter of tikvgo: it turns
// the hooks and Stats of the client modules into Prometheus metrics on a
// Registerer the caller supplies. Nothing is registered globally and nothing
// happens at init time.
//
// Library modules never import it, and it never imports the facade: its
// [Metrics] satisfies the facade's tikv.Metrics interface, and the optional
// tikv.StatsTracker, tikv.TSOObserver, tikv.BackoffObserver and
// tikv.CacheStatsTracker, structurally, with methods whose signatures use
// only types of kvrpc, locate, pdclient, tso and retry.
//
// # Usage
//
//	reg := prometheus.NewRegistry()
//	m, err := tikvprom.New(reg, tikvprom.WithNamespace("myapp_tikv"))
//	if err != nil { ... }
//	cli, err := tikv.New(ctx, pdAddrs, tikv.WithMetrics(m))
//
// # Metrics
//
// With the default namespace "tikvgo":
//
//   - tikvgo_rpc_duration_seconds{command,result}: histogram of store RPC
//     attempts, by kvrpc command name ("RawGet", "Prewrite", ...) and result
//     class (ok, region_error, timeout, canceled, error); its _count is the
//     RPC count.
//   - tikvgo_backoff_sleep_seconds{kind,outcome}: histogram of backoff sleeps
//     by retry kind and outcome, fed by [Metrics.ObserveBackoff]: through
//     the facade, every backoff of the raw client's calls.
//   - tikvgo_tso_duration_seconds{result}: histogram of timestamp requests
//     made through the facade's CurrentTS.
//   - Counters read from the clients' Stats at scrape time:
//     tikvgo_rpc_batch_messages_total, tikvgo_rpc_batched_requests_total
//     (their ratio is the average BatchCommands batch), tikvgo_rpc_unary_requests_total,
//     tikvgo_rpc_streams_opened_total, tikvgo_rpc_stream_failures_total,
//     tikvgo_pd_discoveries_total, tikvgo_pd_discovery_failures_total,
//     tikvgo_pd_leader_changes_total, tikvgo_pd_retries_total,
//     tikvgo_tso_rounds_total, tikvgo_tso_timestamps_total (their ratio is
//     the average TSO batch size), tikvgo_tso_failed_rounds_total and
//     tikvgo_tso_streams_total.
//   - Region cache counters, from locate.Stats through
//     [Metrics.TrackCacheStats]: tikvgo_region_cache_hits_total,
//     tikvgo_region_cache_misses_total (hit ratio = hits / (hits + misses)),
//     tikvgo_region_cache_loads_total, tikvgo_region_cache_load_errors_total,
//     tikvgo_region_cache_invalidations_total{reason} (one series per
//     locate.InvalidReasons value: no_leader, region_not_found,
//     epoch_not_match, store_not_found, expired, other),
//     tikvgo_region_cache_purged_total,
//     tikvgo_region_cache_store_refreshes_total,
//     tikvgo_region_cache_store_refresh_errors_total,
//     tikvgo_region_cache_store_probes_total,
//     tikvgo_region_cache_store_probe_failures_total and
//     tikvgo_region_cache_stores_recovered_total.
//
// Labels are bounded: command names, result classes, backoff kinds and
// outcomes, invalidation reasons. Keys, region ids, store addresses and transaction ids never
// become labels.
//
// # Concurrency
//
// A Metrics is safe for concurrent use and may serve several clients at
// once: the Stats counters are summed over every tracked client, and a client
// that is closed keeps its final counts, so counters never go down.
package tikvprom
