// Package locate owns the region cache (regions by start key, epochs,
// leaders, peers, stores and buckets), replica selection and the region
// request sender that turns region errors into cache updates and backoff.
//
// It does not speak transaction or raw-KV semantics; rawkv, twopc and txnkv
// build requests and hand them to locate to route.
//
// # Usage
//
//	cache, err := locate.New(pd) // pd: *pdclient.Client or any [PD]
//	loc, err := cache.LocateKey(ctx, key)
//	groups, err := cache.GroupKeysByRegion(ctx, keys)
//	ranges, err := cache.SplitRangeByRegions(ctx, start, end)
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
// [WithStaleRead], [WithBusyThreshold]) and remembers the replicas that
// failed, so one request never loops on one replica. Each region error TiKV
// returns is turned into a cache update and, where waiting helps, a backoff of
// the matching retry kind (see package retry). An error matching
// [ErrRegionStale] sends the caller back to locate its keys again:
//
//	for {
//		loc, err := cache.LocateKey(ctx, key)
//		...
//		resp, err := sender.Send(ctx, bo, req, loc.Region)
//		if errors.Is(err, locate.ErrRegionStale) {
//			if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil { return err }
//			continue
//		}
//		...
//	}
//
// # Concurrency and errors
//
// A [Cache] and a [Sender] are safe for concurrent use and start no
// goroutines. Lookups
// honour their ctx; a PD load shared by several callers runs until the last
// caller's deadline. Errors are sentinels or the PD client's own errors,
// wrapped. PD knowing no region or store is [ErrRegionNotFound] and
// [ErrStoreNotFound] (pdclient's values); TiKV's RegionNotFound region error
// is [ErrRegionNotFoundOnStore], a [*RegionError] kind like the others.
// Region conditions a backoff kind is named after ([ErrServerIsBusy],
// [ErrDiskFull], ...) are package retry's values, so an error that gave up
// backing off for one matches it as well.
package locate
