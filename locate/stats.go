package locate

import "sync/atomic"

// Stats are the cumulative counters of a [Cache] and, where one runs, its
// [Upkeep], plus a few sizes read at the time of the call. Counters only
// grow; subtract two readings for a rate.
type Stats struct {
	// Hits counts lookups served from the cache; Misses those that had to
	// wait for a PD load (their own or one another lookup started).
	Hits   uint64
	Misses uint64
	// Loads counts PD region loads actually run (concurrent misses on one
	// key share a load); LoadErrors those that failed.
	Loads      uint64
	LoadErrors uint64
	// Invalidations counts regions that became invalid, by cause.
	Invalidations Invalidations
	// Purged counts regions removed by PurgeExpired or the upkeep loop.
	Purged uint64
	// StoreRefreshes and StoreRefreshErrors count store list reloads from
	// PD (RefreshStores).
	StoreRefreshes     uint64
	StoreRefreshErrors uint64
	// Probes counts liveness probes of unreachable stores; ProbeFailures
	// those that did not find the store serving; StoresRecovered the probes
	// that marked a store reachable again.
	Probes          uint64
	ProbeFailures   uint64
	StoresRecovered uint64

	// Regions is the number of cached regions, Stores of cached stores,
	// UnreachableStores of those currently marked unreachable.
	Regions           int
	Stores            int
	UnreachableStores int
}

// Invalidations counts region invalidations by [InvalidReason].
type Invalidations struct {
	NoLeader       uint64
	RegionNotFound uint64
	EpochNotMatch  uint64
	StoreNotFound  uint64
	Expired        uint64
	Other          uint64
}

// Of returns the count for reason (0 for [Valid]).
func (v Invalidations) Of(reason InvalidReason) uint64 {
	switch reason {
	case NoLeader:
		return v.NoLeader
	case RegionNotFound:
		return v.RegionNotFound
	case EpochNotMatch:
		return v.EpochNotMatch
	case StoreNotFound:
		return v.StoreNotFound
	case Expired:
		return v.Expired
	case Other:
		return v.Other
	default:
		return 0
	}
}

// InvalidReasons lists every reason a region can be invalidated for, in
// declaration order: the bounded label set of an invalidation metric.
var InvalidReasons = []InvalidReason{NoLeader, RegionNotFound, EpochNotMatch, StoreNotFound, Expired, Other}

// hitStripes spreads hit counting over several cache lines: a single
// counter written by every lookup on every core would bounce between cores
// and serialise lookups that otherwise share nothing but read-only tree
// nodes.
const hitStripes = 8

type paddedCounter struct {
	n atomic.Uint64
	_ [56]byte // one cache line each
}

// stripedCounter is a counter cheap to increment from many cores at once.
type stripedCounter struct{ s [hitStripes]paddedCounter }

// add increments the stripe of region id: free to compute (the id is in
// the region's first cache line, which the lookup just read), and lookups
// of different regions, the common case under concurrency, mostly land on
// different stripes. (A per-thread random stripe measured twice the cost
// of one atomic add here.)
func (c *stripedCounter) add(id uint64) { c.s[id%hitStripes].n.Add(1) }

func (c *stripedCounter) load() uint64 {
	var n uint64
	for i := range c.s {
		n += c.s[i].n.Load()
	}
	return n
}

// numReasons sizes the per-reason array; Other is the last reason.
const numReasons = int(Other) + 1

type cacheCounters struct {
	hits          stripedCounter
	misses        atomic.Uint64
	loads         atomic.Uint64
	loadErrors    atomic.Uint64
	invalidated   [numReasons]atomic.Uint64
	purged        atomic.Uint64
	refreshes     atomic.Uint64
	refreshErrors atomic.Uint64
	probes        atomic.Uint64
	probeFailures atomic.Uint64
	recovered     atomic.Uint64
}

// invalidate marks r invalid for reason and counts it if r was valid.
func (c *Cache) invalidate(r *Region, reason InvalidReason) {
	if r.invalidate(reason) && int(reason) < numReasons {
		c.stats.invalidated[reason].Add(1)
	}
}

// Stats returns the cache's counters. It is cheap (no PD call, no lock on
// the lookup path) and safe to call concurrently with anything.
func (c *Cache) Stats() Stats {
	s := &c.stats
	inv := func(r InvalidReason) uint64 { return s.invalidated[r].Load() }
	out := Stats{
		Hits:       s.hits.load(),
		Misses:     s.misses.Load(),
		Loads:      s.loads.Load(),
		LoadErrors: s.loadErrors.Load(),
		Invalidations: Invalidations{
			NoLeader: inv(NoLeader), RegionNotFound: inv(RegionNotFound), EpochNotMatch: inv(EpochNotMatch),
			StoreNotFound: inv(StoreNotFound), Expired: inv(Expired), Other: inv(Other),
		},
		Purged:             s.purged.Load(),
		StoreRefreshes:     s.refreshes.Load(),
		StoreRefreshErrors: s.refreshErrors.Load(),
		Probes:             s.probes.Load(),
		ProbeFailures:      s.probeFailures.Load(),
		StoresRecovered:    s.recovered.Load(),
		Regions:            c.Len(),
	}
	c.stores.stores.Range(func(_, v any) bool {
		out.Stores++
		if !v.(*Store).Reachable() {
			out.UnreachableStores++
		}
		return true
	})
	return out
}
