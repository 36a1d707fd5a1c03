// Package tikv is the facade of tikvgo, a Go client for TiKV: one
// constructor that takes PD addresses and options, builds one client stack
// (a PD client, a store RPC client, a region cache) and hands out the raw
// key-value client on it; one Close releases everything. The transactional
// client will be handed out from the same stack once package txnkv exists.
//
// The facade owns no protocol logic. It wires the modules below it
// (pdclient, tso, kvrpc, locate, rawkv) and re-exports the raw API, types
// and error values alike, with the error types and sentinels of the lower
// modules that callers branch on, so one import is enough.
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
// does raw key-value work holds no TSO stream. [Client.Oracle] adds a cached
// clock over it: [Client.LowResolutionTS], [Client.StaleTS] (a read ts some
// age in the past) and [Client.MaxStalenessTS] (the freshest ts within a
// staleness bound that every replica can serve, from the stores' polled safe
// ts). A stale read at such a ts sent with locate.WithStaleReadAt goes only
// to replicas whose safe ts covers it.
//
// # Region administration
//
// [Client.Regions] splits regions at keys ([RegionAdmin.Split], which can
// also scatter the new regions and wait), scatters regions
// ([RegionAdmin.Scatter]) and waits for PD's scatter operators to finish
// under the ctx deadline ([RegionAdmin.WaitScatter]).
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
// Test errors with errors.Is and errors.As, never by text. Each condition
// has one sentinel, owned by the lowest module that sees it; this package
// re-exports the ones a caller branches on as aliases, so the facade's name
// and the owner's are the same value ([ErrClosed] is rawkv.ErrClosed is
// retry.ErrClosed, and a store connection or PD client closed under a call
// matches it too). The whole taxonomy, with owners, causes and what to do,
// is docs/errors.md in the repository; in short:
//
//   - Bad input fails before anything is sent and is never retryable:
//     [ErrInvalidOption] from New (every module's option error is this
//     value), [ErrInvalidRange], [ErrEmptyKey], [ErrKeyTooLarge],
//     [ErrValueTooLarge], [ErrBatchTooLarge], [ErrLengthMismatch],
//     [ErrUnknownColumnFamily], [ErrTTLNotSupported], [ErrInvalidTTL],
//     [ErrScanLimitExceeded], [ErrCASNeedsAtomicMode], [ErrNotInAtomicMode].
//   - Gave up: calls retry transport failures and region errors themselves,
//     within their budget. When it is spent they return an [*ExhaustedError]
//     matching [ErrBudgetExhausted] or [ErrMaxAttempts], the condition it
//     kept hitting ([ErrTiKVServerTimeout], [ErrPDServerTimeout],
//     [ErrRegionUnavailable], [ErrServerIsBusy], [ErrDiskFull],
//     [ErrStaleCommand], [ErrMaxTimestampNotSynced], [ErrDataIsNotReady],
//     [ErrRegionNotInitialized], [ErrIsWitness], [ErrRecoveryInProgress]),
//     and its last cause: a [*RPCError] (transport; Sent says whether the
//     store may have the request) or a [*RegionError]. Trying again later
//     may work. A ctx that ends during a backoff gives an
//     [*InterruptedError] matching ctx.Err().
//   - Fail-fast region errors, in a [*RegionError] at once:
//     [ErrFlashbackInProgress], [ErrFlashbackNotPrepared],
//     [ErrRaftEntryTooLarge].
//   - Unknown outcome: a write that may or may not have been applied matches
//     [ErrUndetermined] (an [*UndeterminedError] when any attempt's answer
//     was lost or, for a batch or range write, part of it succeeded, a
//     [*RegionError] when TiKV said so), whatever the last attempt's error.
//     It is never retried automatically: read back to learn the outcome.
//   - Server answers: [*ServerError] matching [ErrServer] (TiKV rejected a
//     raw request), [*PDError], [ErrRegionNotFound] and [ErrStoreNotFound]
//     (PD knows no such region or store), [ErrClusterIDMismatch] (wrong
//     endpoints, never retried), [ErrNoLeader], [ErrKeyspace],
//     [ErrUnexpectedResponse] (an answer out of protocol).
//   - [ErrClosed] after Close, for every call that ends after it; a write
//     whose request had left when Close cut it short matches
//     [ErrUndetermined] as well.
//
// [IsRetryable] asks an error whether the same call may succeed again; what
// the clients return has already been retried, so it reports false for it.
// Transactional errors (write conflict, key exists, deadlock, lock wait
// timeout, transaction too large, undetermined commit, GC too early,
// assertion failed) will join this list with package txnkv.
//
// # Background work
//
// Besides the connections, New starts the region cache's upkeep loop: it
// drops expired regions a few thousand at a time, reloads the store list
// from PD every 10 s, and probes each store a request could not reach once a
// second through the gRPC health service TiKV serves, so that a store that
// comes back takes requests again within about a second; every 2 s it asks
// each store for its stale-read safe ts. [WithStoreProbe], [WithRegionPurge],
// [WithStoreRefresh] and [WithSafeTSPoll] tune it, [WithoutUpkeep] turns it
// off, and [Client.RegionCacheStats] shows what the cache and the loop did.
//
// # Concurrency
//
// A Client and the raw client are safe for concurrent use and immutable after
// New. Close is idempotent, returns after every goroutine the client started
// has stopped, and makes later calls fail with [ErrClosed].
package tikv
