// Package locate owns the region cache (regions by start key, epochs,
// leaders, peers, stores and buckets), replica selection and the region
// request sender that turns region errors into cache updates and backoff.
//
// It does not speak transaction or raw-KV semantics; rawkv, twopc and txnkv
// build requests and hand them to locate to route.
//
// # Usage
//
// Client modules (rawkv today, twopc and txnkv next) route every request
// through a [Router]; they never locate keys or retry stale regions
// themselves:
//
//	cache, err := locate.New(pd)             // pd: *pdclient.Client or any [PD]
//	sender := locate.NewSender(cache, rpc)   // rpc: *kvrpc.Client
//	codec, err := keycodec.NewV1(keycodec.Txn) // or NewV2(mode, keyspaceID)
//	router := locate.NewRouter(sender, codec)
//
//	resp, err := router.SendKey(ctx, bo, key, req)                    // one key
//	err = router.WalkRange(ctx, bo, start, end, fn)                   // region by region
//	batches, err := locate.GroupByRegion(ctx, router, items, keyOf, opts...)
//	err = locate.SendBatches(ctx, bo, router, batches, keyOf, send, opts...)
//
// # Routing
//
// The Router covers the three shapes of traffic; each locates again and
// resends on its own after an error matching [ErrRegionStale], backing off
// with retry.RegionMiss on the caller's Backoffer, and honours ctx:
//
//   - [Router.SendKey] sends one request to the region of one key (point
//     reads and writes, a transaction's primary-key operations).
//   - [Router.WalkRange] and [Router.WalkRangeReverse] hand a [SpanFunc] the
//     range's piece in each region, one region at a time, so memory stays
//     bounded (scans page by page, DeleteRange, Checksum, GC's ScanLock
//     over every region).
//   - [GroupByRegion] sorts caller items of any type by key, groups them by
//     region and cuts each group by count and bytes ([WithBatchLimit]);
//     [SendBatches] fans the batches out under [WithConcurrency], each on a
//     fork of the caller's Backoffer, and groups a batch again when its
//     region changed. [Batch.Index] maps results back to the caller's
//     order. For 2PC, [WithPrimary] marks and places first the primary's
//     batch and [WithPrimaryFirst] sends it before the others.
//
// The transactional modules use the same helpers: 2PC groups mutations
// with [WithPrimary] and client-go's 16 KiB [WithBatchLimit] (key+value
// sizes for prewrite, key sizes for commit and cleanup), and commits with
// [WithPrimaryFirst] (or sends the primary batch alone and the rest later on
// a Clone of its Backoffer); a snapshot's BatchGet groups by 5120 keys; a
// snapshot's Scan and GC's ScanLock call [Router.WalkRange] once per page,
// stopping a walk when a page fills and resuming after its last key.
//
// Keys given to a Router are wire keys (what TiKV stores in its key space,
// keyspace prefix included); region boundaries in a [Location] are region
// keys, as PD reports them. The Router's codec (package locate/keycodec)
// converts between the two (identity for raw API V1, memcomparable encoding for
// transactional keys and for API V2), so raw and transactional clients can
// share one [Cache]. [Span] bounds are wire keys.
//
// # The cache
//
// Regions live in a B-tree ordered by start key and in a map by id. A miss
// loads the region and the next few (see [WithScanAhead]) with one PD scan;
// concurrent misses on the same key share one PD call. Every cached region is
// a compact immutable snapshot (about 330 bytes with three peers); only its
// leader, buckets, validity and expiry change in place. A region is reloaded
// when its TTL ([WithRegionTTL]) passes without access or when an error proves
// it stale: [Cache.OnEpochNotMatch] installs the regions TiKV reported,
// [Cache.UpdateLeader] applies NotLeader hints, [Cache.InvalidateRegion] and
// [Cache.InvalidateStore] drop entries for the rest.
//
// # Sending requests
//
// A [Sender] routes a kvrpc request to a region: a per-request replica
// selector picks the target ([WithReplicaRead], [WithMatchLabels],
// [WithStaleRead], [WithStaleReadAt], [WithBusyThreshold]) and remembers the
// replicas that failed, so one request never loops on one replica. A stale
// read sent with [WithStaleReadAt] skips replicas whose polled safe ts
// ([Store.SafeTS]) is below its read ts, at the cost of one atomic load per
// peer, so it is not turned away with DataIsNotReady. Each region error TiKV
// returns is turned into a cache update and, where waiting helps, a backoff of
// the matching retry kind (see package retry). An error matching
// [ErrRegionStale] means the keys must be located again, which the
// [Router] does. When the cached leader failed and another peer serves a
// leader read, that peer is cached as the leader. [WithAttemptTimeout]
// bounds each attempt; an attempt that times out moves on to the next
// replica at once.
//
// A write passes one [Outcome] ([WithOutcome]) to every send of the
// operation; it records whether any attempt, not only the last, may have
// been applied (an answer lost, an UndeterminedResult, a part that
// succeeded), so the caller can report the operation undetermined.
//
// # Upkeep and stats
//
// [Cache.StartUpkeep] starts the cache's optional background loop (the
// facade runs it for its whole life): it purges expired and invalid regions
// a bounded number at a time ([WithPurge]), reloads the store list from PD
// ([WithStoreRefresh]) and, given a [HealthChecker] such as *kvrpc.Client,
// probes every store the sender marked unreachable through the gRPC health
// service until it answers SERVING, then marks it reachable again
// ([WithProbe]), and polls every store's stale-read safe ts
// ([WithSafeTSUpdate], [Cache.RefreshSafeTS]). [Upkeep.Close] stops it. [Cache.Stats] returns the cache's
// counters: hits, misses, PD loads, invalidations by [InvalidReason],
// purges, store refreshes and probes.
//
// # Concurrency and errors
//
// A [Cache], a [Sender] and a [Router] are safe for concurrent use and
// start no goroutines ([SendBatches] runs batches on goroutines it waits
// for). Lookups
// honour their ctx; a PD load shared by several callers runs until the last
// caller's deadline. Errors are sentinels or the PD client's own errors,
// wrapped. PD knowing no region or store is [ErrRegionNotFound] and
// [ErrStoreNotFound] (pdclient's values); TiKV's RegionNotFound region error
// is [ErrRegionNotFoundOnStore], a [*RegionError] kind like the others.
// Region conditions a backoff kind is named after ([ErrServerIsBusy],
// [ErrDiskFull], ...) are package retry's values, so an error that gave up
// backing off for one matches it as well.
package locate
