// Package tikv is the facade of tikvgo, a Go client for TiKV: one
// constructor that takes PD addresses and options, builds one client stack
// (a PD client, a store RPC client, a region cache) and hands out the raw
// key-value client on it; one Close releases everything. The transactional
// client will be handed out from the same stack once package txnkv exists.
//
// The facade owns no protocol logic. It wires the modules below it
// (pdclient, tso, kvrpc, locate, rawkv) and re-exports the raw API, types
// and error values alike, so one import is enough.
//
// # Connecting
//
//	cli, err := tikv.New(ctx, []string{"127.0.0.1:2379"},
//		tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("tenant-a"),
//		tikv.WithLogger(logger))
//	if err != nil { ... }
//	defer cli.Close()
//
// The ctx of New bounds only construction: PD discovery and, under API V2,
// the keyspace lookup. Options configure every part at once: [WithTLS] or
// [WithTLSFiles] (PD and stores), [WithLogger] (handed to every module; they
// log state transitions, never single requests), [WithGRPCDialOptions],
// [WithPDTimeout], [WithRequestTimeout], [WithConnectionCount], and
// [WithAtomicForCAS], and [WithRawOptions] for the raw client's other
// settings (batch limits, retry budget). [WithPDClient] reuses a PD client the caller owns.
// An option that can never work makes New fail with [ErrInvalidOption]
// before anything is dialled.
//
// # Raw key-value API
//
//	raw := cli.Raw()
//	err = raw.Put(ctx, []byte("k"), []byte("v"), tikv.WithTTL(time.Minute))
//	v, err := raw.Get(ctx, []byte("k"))            // nil, nil when absent
//	kvs, err := raw.Scan(ctx, []byte("a"), []byte("z"), 100)
//	for kv, err := range raw.All(ctx, []byte("a"), nil) { ... }
//
// Ranges are half-open, [start, end), and an empty end means "to the end".
// CompareAndSwap needs atomic mode ([WithAtomicForCAS]) on every client that
// writes the keys it touches. See package rawkv for the
// retry rules of each call.
//
// # Timestamps
//
// [Client.CurrentTS] returns a fresh timestamp; [Client.TSO] the batching
// timestamp client. It is started lazily, on first use, so a client that only
// does raw key-value work holds no TSO stream.
//
// # Metrics and logging
//
// [WithMetrics] takes a [Metrics]: every store RPC passes through its
// InterceptRPC, and the optional [StatsTracker], [TSOObserver] and
// [BackoffObserver] interfaces are used when it implements them (the last
// sees every backoff of the raw client's calls). The methods use only types
// of the modules below the facade, so the Prometheus adapter
// github.com/tikvgo/tikvgo/tikvprom implements them without importing this
// package. Nothing is registered in any global registry, and nothing is
// logged through a package-level logger.
//
// # Errors
//
// Test errors with errors.Is and errors.As. The sentinels of this package are
// the raw client's own values ([ErrClosed] is rawkv.ErrClosed), so either name
// matches. Bad input (an empty key, start > end, a value over the limits, an
// unknown column family) fails before any request is sent. Errors TiKV
// reports are [*ServerError] values matching [ErrServer]; a write whose
// outcome is unknown matches [ErrUndetermined].
//
// # Background work
//
// Besides the connections, New starts the region cache's upkeep loop: it
// drops expired regions a few thousand at a time, reloads the store list
// from PD every 10 s, and probes each store a request could not reach once a
// second through the gRPC health service TiKV serves, so that a store that
// comes back takes requests again within about a second. [WithStoreProbe],
// [WithRegionPurge] and [WithStoreRefresh] tune it, [WithoutUpkeep] turns it
// off, and [Client.RegionCacheStats] shows what the cache and the loop did.
//
// # Concurrency
//
// A Client and the raw client are safe for concurrent use and immutable after
// New. Close is idempotent, returns after every goroutine the client started
// has stopped, and makes later calls fail with [ErrClosed].
package tikv
