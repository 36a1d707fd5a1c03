package locate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"golang.org/x/sync/singleflight"

	"github.com/tikvgo/tikvgo/pdclient"
)

// item is what the B-tree holds: the start key next to the region pointer, so
// that comparisons never chase the pointer and a lookup pivot needs no
// allocation.
type item struct {
	start []byte
	r     *Region
}

func itemLess(a, b item) bool { return bytes.Compare(a.start, b.start) < 0 }

// btreeDegree trades node size against depth; 32 keeps ~1M regions within
// four levels with nodes of a few cache lines.
const btreeDegree = 32

// Cache is the region cache: regions ordered by start key, indexed by id,
// loaded from PD on a miss and replaced when PD or TiKV prove them stale.
//
// A Cache is safe for concurrent use. It starts no goroutines of its own:
// expired regions are detected lazily on access, and the optional
// background upkeep (purge, store refresh, store liveness probes) runs only
// once started with [Cache.StartUpkeep].
//
// Lookups take no lock: the B-tree is copy-on-write. A writer clones the
// published tree (a constant-time, lazy copy), changes the clone, which copies
// only the nodes it touches, and publishes it; readers keep using whichever
// tree they loaded. Region changes are rare next to lookups, so lookups scale
// with cores instead of contending on a reader count.
type Cache struct {
	pd  PD
	cfg config

	mu   sync.Mutex // serialises writers
	tree atomic.Pointer[btree.BTreeG[item]]
	// byID is a plain map (a sync.Map costs ~70 more bytes per region);
	// idMu guards it and is only taken by id lookups and writers.
	idMu sync.RWMutex
	byID map[uint64]*Region

	regionFlight singleflight.Group
	stores       storeCache
	stats        cacheCounters

	// epoch is the cache's creation time; region expiries are monotonic
	// nanoseconds since it (see now).
	epoch time.Time
}

// New returns an empty cache that loads regions and stores from pd.
func New(pd PD, opts ...Option) (*Cache, error) {
	if pd == nil {
		return nil, fmt.Errorf("locate: %w: nil PD", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cache{pd: pd, cfg: cfg, byID: make(map[uint64]*Region), epoch: time.Now()}
	c.tree.Store(btree.NewG(btreeDegree, itemLess))
	c.stores.init(pd, cfg.logger)
	return c, nil
}

// regionOpts are the PD options every region query carries.
func (c *Cache) regionOpts() []pdclient.RegionOption {
	if c.cfg.buckets {
		return []pdclient.RegionOption{pdclient.WithBuckets()}
	}
	return nil
}

// ttlOf returns the TTL of r: the base plus a per-region jitter derived from
// the id, so it needs no storage and stays stable across reloads.
func (c *Cache) ttlOf(r *Region) time.Duration {
	if c.cfg.jitter <= 0 {
		return c.cfg.ttl
	}
	h := r.id * 0x9e3779b97f4a7c15 // Fibonacci hashing spreads sequential ids
	return c.cfg.ttl + time.Duration(h%uint64(c.cfg.jitter))
}

// now returns the monotonic nanoseconds since the cache was created, plus
// one so that it is never zero (a region's expiry is 0 until it is inserted).
// It reads only the monotonic clock (time.Now also reads the wall clock), so
// wall-clock steps cannot expire or prolong regions.
func (c *Cache) now() int64 { return int64(time.Since(c.epoch)) + 1 }

// fresh reports whether r may be used at now, extending its TTL on access.
// The expiry is rewritten only when less than half the TTL is left, so hot
// regions do not bounce a cache line on every lookup.
func (c *Cache) fresh(r *Region, now int64) bool {
	if r.invalid.Load() != uint32(Valid) {
		return false
	}
	exp := r.expireAt.Load()
	if now >= exp {
		c.invalidate(r, Expired)
		return false
	}
	// Every TTL is below ttl+jitter, so while more than half of that is
	// left no region needs extending, and the per-region TTL (a division)
	// is not computed on most lookups.
	if exp-now >= int64(c.cfg.ttl+c.cfg.jitter)/2 {
		return true
	}
	ttl := int64(c.ttlOf(r))
	if exp-now < ttl/2 {
		r.expireAt.CompareAndSwap(exp, now+ttl)
	}
	return true
}

// search returns the cached region whose start key is the greatest <= key.
func (c *Cache) search(key []byte) *Region {
	var found *Region
	c.tree.Load().DescendLessOrEqual(item{start: key}, func(it item) bool {
		found = it.r
		return false
	})
	return found
}

// searchBefore returns the cached region whose start key is the greatest < key.
func (c *Cache) searchBefore(key []byte) *Region {
	var found *Region
	c.tree.Load().DescendLessOrEqual(item{start: key}, func(it item) bool {
		if bytes.Equal(it.start, key) {
			return true // want strictly less: keep descending
		}
		found = it.r
		return false
	})
	return found
}

// TryLocateKey returns the location of key from the cache only. It never
// calls PD, so it is for observing the cache (tests, diagnostics) rather
// than routing.
func (c *Cache) TryLocateKey(key []byte) (Location, bool) {
	if r := c.search(key); r != nil && r.Contains(key) && c.fresh(r, c.now()) {
		c.stats.hits.add(r.id)
		return r.location(), true
	}
	return Location{}, false
}

// LocateKey returns the region containing key, loading it (and the next
// few regions) from PD on a miss.
func (c *Cache) LocateKey(ctx context.Context, key []byte) (Location, error) {
	r, err := c.regionByKey(ctx, key)
	if err != nil {
		return Location{}, err
	}
	return r.location(), nil
}

// RegionByKey is [Cache.LocateKey] returning the cached region itself, for
// callers that need its peers and leader.
func (c *Cache) RegionByKey(ctx context.Context, key []byte) (*Region, error) {
	return c.regionByKey(ctx, key)
}

func (c *Cache) regionByKey(ctx context.Context, key []byte) (*Region, error) {
	if r := c.search(key); r != nil && r.Contains(key) && c.fresh(r, c.now()) {
		c.stats.hits.add(r.id)
		return r, nil
	}
	return c.load(ctx, "k"+string(key), func(ctx context.Context) (*Region, error) {
		return c.loadByKey(ctx, key)
	})
}

// LocateEndKey returns the region whose range (start, end] contains key:
// the region a reverse scan whose exclusive upper bound is key reads first.
func (c *Cache) LocateEndKey(ctx context.Context, key []byte) (Location, error) {
	if len(key) == 0 {
		// An empty end key means +inf: the last region.
		return c.LocateKey(ctx, lastKeyProbe)
	}
	if r := c.searchBefore(key); r != nil && r.ContainsByEnd(key) && c.fresh(r, c.now()) {
		c.stats.hits.add(r.id)
		return r.location(), nil
	}
	r, err := c.load(ctx, "e"+string(key), func(ctx context.Context) (*Region, error) {
		return c.loadByEndKey(ctx, key)
	})
	if err != nil {
		return Location{}, err
	}
	return r.location(), nil
}

// lastKeyProbe sorts after every realistic key; TiKV keys are far shorter.
var lastKeyProbe = bytes.Repeat([]byte{0xff}, 512)

// LocateRegionByID returns the location of the region with the given id,
// loading it from PD on a miss: for callers that hold a region id from
// elsewhere (a lock's region in lock resolution, a CLI argument).
func (c *Cache) LocateRegionByID(ctx context.Context, id uint64) (Location, error) {
	r, err := c.RegionByID(ctx, id)
	if err != nil {
		return Location{}, err
	}
	return r.location(), nil
}

// RegionByID returns the cached region with the given id, loading it from PD
// on a miss.
func (c *Cache) RegionByID(ctx context.Context, id uint64) (*Region, error) {
	if r := c.regionOfID(id); r != nil && c.fresh(r, c.now()) {
		c.stats.hits.add(r.id)
		return r, nil
	}
	return c.load(ctx, fmt.Sprintf("i%d", id), func(ctx context.Context) (*Region, error) {
		pr, err := c.pd.GetRegionByID(ctx, id, c.regionOpts()...)
		if err != nil {
			return nil, err
		}
		return c.insertFromPD(pr)
	})
}

// CachedRegion returns the cached region for ver if it is still cached at
// exactly that epoch and valid; nil otherwise. It never calls PD.
func (c *Cache) CachedRegion(ver VerID) *Region {
	r := c.regionOfID(ver.ID)
	if r == nil || r.VerID() != ver || r.Invalid() != Valid {
		return nil
	}
	return r
}

// regionOfID returns the cached region with the given id, or nil.
func (c *Cache) regionOfID(id uint64) *Region {
	c.idMu.RLock()
	r := c.byID[id]
	c.idMu.RUnlock()
	return r
}

// dropID removes id from the index if it still maps to r. Callers hold mu.
func (c *Cache) dropID(r *Region) {
	c.idMu.Lock()
	if c.byID[r.id] == r {
		delete(c.byID, r.id)
	}
	c.idMu.Unlock()
}

// load runs fn once per flight key however many callers miss on it at the
// same time; every caller still honours its own ctx.
func (c *Cache) load(ctx context.Context, key string, fn func(context.Context) (*Region, error)) (*Region, error) {
	c.stats.misses.Add(1)
	for retried := false; ; retried = true {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if expired(ctx) {
			return nil, context.DeadlineExceeded
		}
		ch := c.regionFlight.DoChan(key, func() (any, error) {
			fctx, cancel := flightContext(ctx)
			defer cancel()
			c.stats.loads.Add(1)
			r, err := fn(fctx)
			if err != nil {
				c.stats.loadErrors.Add(1)
			}
			return r, err
		})
		select {
		case res := <-ch:
			if res.Err != nil {
				// A shared flight may have died of another caller's
				// deadline; if ours has not passed, fly once more.
				if !retried && res.Shared && errors.Is(res.Err, context.DeadlineExceeded) && !expired(ctx) {
					continue
				}
				return nil, res.Err
			}
			return res.Val.(*Region), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// expired reports whether ctx is done or its deadline has passed (the
// latter may be true a moment before ctx.Err() reports it).
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// flightContext returns the ctx a shared load runs on: it outlives the
// cancellation of the caller that started it (others may still wait) but not
// that caller's deadline, so a hung PD call cannot leak a goroutine forever.
func flightContext(ctx context.Context) (context.Context, context.CancelFunc) {
	fctx := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(fctx, dl)
	}
	return fctx, func() {}
}

// loadByKey fetches the region containing key and up to scanAhead-1
// following regions in one PD call.
func (c *Cache) loadByKey(ctx context.Context, key []byte) (*Region, error) {
	if c.cfg.scanAhead > 1 {
		regions, err := c.pd.ScanRegions(ctx, key, nil, c.cfg.scanAhead, c.regionOpts()...)
		if err != nil {
			return nil, err
		}
		rs := make([]*Region, 0, len(regions))
		for _, pr := range regions {
			// Skip peerless regions; GetRegion below decides for the
			// missed key if it is one of them.
			if pr != nil && pr.Meta != nil && len(pr.Meta.GetPeers()) > 0 {
				rs = append(rs, newRegion(pr))
			}
		}
		c.insertAll(rs)
		var hit *Region
		for _, r := range rs {
			if r.Contains(key) {
				hit = r
				break
			}
		}
		if hit != nil {
			return hit, nil
		}
	}
	pr, err := c.pd.GetRegion(ctx, key, c.regionOpts()...)
	if err != nil {
		return nil, err
	}
	return c.insertFromPD(pr)
}

// loadByEndKey fetches the region whose (start, end] contains key: the
// region containing key, or its predecessor when key is exactly its start.
func (c *Cache) loadByEndKey(ctx context.Context, key []byte) (*Region, error) {
	pr, err := c.pd.GetRegion(ctx, key, c.regionOpts()...)
	if err != nil {
		return nil, err
	}
	if pr != nil && pr.Meta != nil && bytes.Equal(pr.Meta.GetStartKey(), key) {
		if pr, err = c.pd.GetPrevRegion(ctx, key, c.regionOpts()...); err != nil {
			return nil, err
		}
	}
	return c.insertFromPD(pr)
}

// insertFromPD converts and caches a PD region, returning the region the
// caller should use (the PD copy even when the cache kept a newer one).
func (c *Cache) insertFromPD(pr *pdclient.Region) (*Region, error) {
	if pr == nil || pr.Meta == nil {
		return nil, ErrRegionNotFound
	}
	r := newRegion(pr)
	if len(r.peers) == 0 {
		return nil, fmt.Errorf("%w: region %d", ErrNoPeer, r.id)
	}
	c.insert(r)
	return r, nil
}

// insert puts r in the cache, replacing every cached region its range
// overlaps. If a cached overlapping region has a newer version, r is stale
// (PD lags behind a split TiKV already reported) and is not cached.
func (c *Cache) insert(r *Region) bool {
	return c.insertAll([]*Region{r}) == 1
}

// insertAll inserts regions in order under one clone of the tree and
// reports how many were cached.
func (c *Cache) insertAll(rs []*Region) int {
	now := c.now()
	for _, r := range rs {
		r.expireAt.Store(now + int64(c.ttlOf(r)))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tree.Load().Clone()
	n := 0
	for _, r := range rs {
		if c.insertLocked(t, r) {
			n++
		}
	}
	c.tree.Store(t)
	return n
}

func (c *Cache) insertLocked(t *btree.BTreeG[item], r *Region) bool {
	start, end := r.StartKey(), r.EndKey()
	var overlaps []*Region
	t.DescendLessOrEqual(item{start: start}, func(it item) bool {
		if !bytes.Equal(it.start, start) {
			if e := it.r.EndKey(); len(e) == 0 || bytes.Compare(e, start) > 0 {
				overlaps = append(overlaps, it.r)
			}
			return false
		}
		return true
	})
	t.AscendGreaterOrEqual(item{start: start}, func(it item) bool {
		if len(end) > 0 && bytes.Compare(it.start, end) >= 0 {
			return false
		}
		overlaps = append(overlaps, it.r)
		return true
	})
	for _, o := range overlaps {
		if o.ver > r.ver || (o.id == r.id && o.ver == r.ver && o.confVer > r.confVer) {
			return false
		}
	}
	if old := c.regionOfID(r.id); old != nil {
		// Keep a leader learned from TiKV when PD's copy has none.
		if _, ok := r.Leader(); !ok {
			if l, ok := old.Leader(); ok {
				r.switchLeader(l.ID, l.StoreID)
			}
		}
		if r.buckets.Load() == nil {
			r.buckets.Store(old.buckets.Load())
		}
		if !containsRegion(overlaps, old) {
			overlaps = append(overlaps, old)
		}
	}
	for _, o := range overlaps {
		if got, ok := t.Get(item{start: o.StartKey()}); ok && got.r == o {
			t.Delete(item{start: o.StartKey()})
		}
		c.dropID(o)
		if o.id == r.id && o.ver == r.ver && o.confVer == r.confVer {
			// A fresh copy of the same epoch (a scan-ahead reload, a
			// leader update): holders re-look it up, but nothing changed
			// epoch-wise, so it is not counted as an invalidation.
			o.invalidate(Other)
			continue
		}
		c.invalidate(o, EpochNotMatch)
	}
	t.ReplaceOrInsert(item{start: start, r: r})
	c.idMu.Lock()
	c.byID[r.id] = r
	c.idMu.Unlock()
	if len(overlaps) > 0 {
		c.cfg.logger.Debug("locate: region reloaded", slog.Uint64("region_id", r.id),
			slog.Uint64("ver", r.ver), slog.Int("replaced", len(overlaps)))
	}
	return true
}

func containsRegion(rs []*Region, r *Region) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// Len returns the number of cached regions.
func (c *Cache) Len() int { return c.tree.Load().Len() }

// PurgeExpired removes up to limit regions that are invalid or whose TTL
// passed, and returns how many it removed. The cache runs nothing by itself;
// [Cache.StartUpkeep] runs a bounded purge periodically, or an owner may call
// this to bound memory held by regions nobody reads any more.
func (c *Cache) PurgeExpired(limit int) int {
	now := c.now()
	var dead []*Region
	c.tree.Load().Ascend(func(it item) bool {
		if it.r.Invalid() != Valid || now >= it.r.expireAt.Load() {
			dead = append(dead, it.r)
		}
		return len(dead) < limit
	})
	return c.remove(dead)
}

// remove drops the given regions from the cache, each only if it is still
// the cached entry for its start key (a reload may have replaced it since
// the caller saw it), and returns how many it removed.
func (c *Cache) remove(dead []*Region) int {
	if len(dead) == 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tree.Load().Clone()
	n := 0
	for _, r := range dead {
		if got, ok := t.Get(item{start: r.StartKey()}); ok && got.r == r {
			t.Delete(item{start: r.StartKey()})
			c.dropID(r)
			n++
		}
	}
	c.tree.Store(t)
	c.stats.purged.Add(uint64(n))
	return n
}

// purgeScan looks at up to scan cached regions starting at from (the first
// region when from is nil), removes the expired or invalid ones, and returns
// the start key to resume from (nil after the last region) and how many it
// removed. Unlike PurgeExpired it bounds the work of one call whatever the
// cache size, for a loop that sweeps the cache a little at a time.
func (c *Cache) purgeScan(from []byte, scan int) (next []byte, removed int) {
	now := c.now()
	var dead []*Region
	seen := 0
	c.tree.Load().AscendGreaterOrEqual(item{start: from}, func(it item) bool {
		if seen == scan {
			next = it.start
			return false
		}
		seen++
		if it.r.Invalid() != Valid || now >= it.r.expireAt.Load() {
			dead = append(dead, it.r)
		}
		return true
	})
	return next, c.remove(dead)
}
