package locate_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/locate"
)

func TestStatsCountsLookupsAndInvalidations(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD("m")
		c := newCache(t, pd, locate.WithRegionTTL(time.Minute, 0))
		ctx := t.Context()

		// One miss loads both regions (scan ahead); the rest are hits.
		loc, err := c.LocateKey(ctx, []byte("a"))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b", "z"} {
			if _, err := c.LocateKey(ctx, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := c.TryLocateKey([]byte("x")); !ok {
			t.Fatal("TryLocateKey missed a cached region")
		}
		if _, err := c.LocateRegionByID(ctx, loc.Region.ID); err != nil {
			t.Fatal(err)
		}
		s := c.Stats()
		if s.Hits != 5 || s.Misses != 1 || s.Loads != 1 || s.LoadErrors != 0 || s.Regions != 2 {
			t.Fatalf("after lookups: %+v", s)
		}

		// Each cause is counted once per region, whatever repeats it.
		c.InvalidateRegion(loc.Region.ID, locate.RegionNotFound)
		c.InvalidateRegion(loc.Region.ID, locate.Other)
		if _, err := c.LocateKey(ctx, []byte("a")); err != nil { // reload
			t.Fatal(err)
		}
		loc, _ = c.LocateKey(ctx, []byte("a"))
		if c.UpdateLeader(loc.Region, &metapb.Peer{Id: 999, StoreId: 9}) {
			t.Fatal("UpdateLeader accepted an unknown peer")
		}
		time.Sleep(2 * time.Minute) // the other region ("m".."") expires
		locZ, err := c.LocateKey(ctx, []byte("z"))
		if err != nil {
			t.Fatal(err)
		}
		s = c.Stats()
		// The reload of "a" also reloaded the next region (scan ahead);
		// a copy of the same epoch replacing it is not an invalidation.
		want := locate.Invalidations{RegionNotFound: 1, NoLeader: 1, Expired: 1}
		if s.Invalidations != want {
			t.Fatalf("invalidations %+v, want %+v", s.Invalidations, want)
		}
		for _, r := range locate.InvalidReasons {
			if got := s.Invalidations.Of(r); got != map[locate.InvalidReason]uint64{
				locate.RegionNotFound: 1, locate.NoLeader: 1, locate.Expired: 1,
			}[r] {
				t.Fatalf("Of(%v) = %d", r, got)
			}
		}

		pd.mu.Lock()
		pd.fail = errPDDown
		pd.mu.Unlock()
		c.InvalidateRegion(locZ.Region.ID, locate.Other)
		if _, err := c.LocateKey(ctx, []byte("z")); !errors.Is(err, errPDDown) {
			t.Fatalf("LocateKey with PD down: %v", err)
		}
		if s := c.Stats(); s.LoadErrors != 1 || s.Invalidations.Other != 1 {
			t.Fatalf("after a failed load: %+v", s)
		}
		if _, err := c.RefreshStores(ctx); err == nil {
			t.Fatal("RefreshStores with PD down succeeded")
		}
		pd.mu.Lock()
		pd.fail = nil
		pd.mu.Unlock()
		if _, err := c.RefreshStores(ctx); err != nil {
			t.Fatal(err)
		}
		if n := c.PurgeExpired(10); n != 2 {
			t.Fatalf("PurgeExpired removed %d, want the two invalid regions", n)
		}
		s = c.Stats()
		if s.Purged != 2 || s.StoreRefreshes != 1 || s.StoreRefreshErrors != 1 || s.Stores != 3 {
			t.Fatalf("after purge and refresh: %+v", s)
		}
		c.CachedStore(2).MarkUnreachable()
		if s := c.Stats(); s.UnreachableStores != 1 {
			t.Fatalf("UnreachableStores = %d, want 1", s.UnreachableStores)
		}
	})
}

// TestStatsCountOnlyEpochChanges checks that an EpochNotMatch invalidation is
// counted for a region whose epoch changed, and not for a cached region that
// a copy of the same epoch replaces (TiKV's answer listed it too).
func TestStatsCountOnlyEpochChanges(t *testing.T) {
	t.Parallel()
	pd := newFakePD("m")
	c := newCache(t, pd)
	ctx := t.Context()
	before, err := c.LocateKey(ctx, []byte("c")) // loads both regions
	if err != nil {
		t.Fatal(err)
	}
	pd.mu.Lock()
	same := pd.regions[1].Meta // "m".."", unchanged by the split below
	pd.mu.Unlock()
	left, right := pd.split("f")
	if behind := c.OnEpochNotMatch(before.Region, 1, []*metapb.Region{left, right, same}); behind {
		t.Fatal("OnEpochNotMatch: store reported as behind")
	}
	if got := c.Stats().Invalidations; got != (locate.Invalidations{EpochNotMatch: 1}) {
		t.Fatalf("invalidations %+v, want one EpochNotMatch (the split region only)", got)
	}
	loc, err := c.LocateKey(ctx, []byte("n"))
	if err != nil || loc.Region.ID != same.Id {
		t.Fatalf("LocateKey(n) = %+v, %v; want region %d", loc, err, same.Id)
	}
}
