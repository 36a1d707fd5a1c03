package locate_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/locate"
)

func newCache(t testing.TB, pd locate.PD, opts ...locate.Option) *locate.Cache {
	t.Helper()
	c, err := locate.New(pd, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	pd := newFakePD()
	for name, opt := range map[string]locate.Option{
		"zero ttl":        locate.WithRegionTTL(0, 0),
		"zero scan":       locate.WithScanAhead(0),
		"nil logger":      locate.WithLogger(nil),
		"negative jitter": locate.WithRegionTTL(time.Second, -1),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := locate.New(pd, opt); !errors.Is(err, locate.ErrInvalidOption) {
				t.Fatalf("New: %v, want ErrInvalidOption", err)
			}
		})
	}
	if _, err := locate.New(nil); !errors.Is(err, locate.ErrInvalidOption) {
		t.Fatalf("New(nil): %v", err)
	}
}

func TestLocateKey(t *testing.T) {
	t.Parallel()
	pd := newFakePD("b", "d", "f")
	c := newCache(t, pd)
	for _, tc := range []struct {
		key        string
		start, end string
		id         uint64
	}{
		{"", "", "b", 1},
		{"a", "", "b", 1},
		{"b", "b", "d", 2},
		{"c", "b", "d", 2},
		{"d", "d", "f", 3},
		{"f", "f", "", 4},
		{"zzz", "f", "", 4},
	} {
		t.Run(fmt.Sprintf("key=%q", tc.key), func(t *testing.T) {
			loc, err := c.LocateKey(t.Context(), []byte(tc.key))
			if err != nil {
				t.Fatal(err)
			}
			if loc.Region.ID != tc.id || string(loc.StartKey) != tc.start || string(loc.EndKey) != tc.end {
				t.Fatalf("got region %d [%q,%q), want %d [%q,%q)", loc.Region.ID, loc.StartKey, loc.EndKey, tc.id, tc.start, tc.end)
			}
			if !loc.Contains([]byte(tc.key)) {
				t.Fatal("location does not contain its key")
			}
		})
	}
	// Scan-ahead loaded all four regions with one PD call.
	if s, g := pd.scan.Load(), pd.getRegion.Load(); s != 1 || g != 0 {
		t.Fatalf("PD calls: scan=%d get=%d, want 1 scan", s, g)
	}
	if c.Len() != 4 {
		t.Fatalf("cached %d regions, want 4", c.Len())
	}
}

func TestLocateKeyWithoutScanAhead(t *testing.T) {
	t.Parallel()
	pd := newFakePD("b", "d")
	c := newCache(t, pd, locate.WithScanAhead(1))
	for _, k := range []string{"a", "a0", "c", "c0"} {
		if _, err := c.LocateKey(t.Context(), []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if g, s := pd.getRegion.Load(), pd.scan.Load(); g != 2 || s != 0 {
		t.Fatalf("PD calls: get=%d scan=%d, want 2 gets (one per region)", g, s)
	}
	if loc, ok := c.TryLocateKey([]byte("c1")); !ok || loc.Region.ID != 2 {
		t.Fatalf("TryLocateKey: %v %v", loc, ok)
	}
	if _, ok := c.TryLocateKey([]byte("e")); ok {
		t.Fatal("TryLocateKey hit an uncached region")
	}
}

func TestLocateEndKey(t *testing.T) {
	t.Parallel()
	pd := newFakePD("b", "d")
	for _, tc := range []struct {
		key string
		id  uint64
	}{
		{"b", 1}, // exclusive end of region 1
		{"c", 2}, // inside region 2
		{"d", 2}, // end of region 2
		{"e", 3}, // inside the last region
		{"", 3},  // +inf: the last region
		{"a", 1}, // inside the first region
	} {
		t.Run(fmt.Sprintf("key=%q", tc.key), func(t *testing.T) {
			t.Parallel()
			for _, warm := range []bool{false, true} {
				c := newCache(t, pd)
				if warm {
					if err := warmAll(t.Context(), c); err != nil {
						t.Fatal(err)
					}
				}
				loc, err := c.LocateEndKey(t.Context(), []byte(tc.key))
				if err != nil {
					t.Fatal(err)
				}
				if loc.Region.ID != tc.id {
					t.Fatalf("warm=%v: region %d, want %d", warm, loc.Region.ID, tc.id)
				}
			}
		})
	}
}

func TestLocateRegionByID(t *testing.T) {
	t.Parallel()
	pd := newFakePD("b")
	c := newCache(t, pd)
	loc, err := c.LocateRegionByID(t.Context(), 2)
	if err != nil || string(loc.StartKey) != "b" {
		t.Fatalf("LocateRegionByID: %v %v", loc, err)
	}
	if _, err := c.LocateRegionByID(t.Context(), 2); err != nil || pd.getByID.Load() != 1 {
		t.Fatalf("second lookup went to PD (%d calls): %v", pd.getByID.Load(), err)
	}
	if _, err := c.LocateRegionByID(t.Context(), 99); !errors.Is(err, locate.ErrRegionNotFound) {
		t.Fatalf("unknown id: %v, want ErrRegionNotFound", err)
	}
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD("m")
		pd.block = make(chan struct{})
		c := newCache(t, pd)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if loc, err := c.LocateKey(t.Context(), []byte("x")); err != nil || loc.Region.ID != 2 {
					t.Errorf("LocateKey: %v %v", loc, err)
				}
			})
		}
		synctest.Wait() // all 50 are parked on the one in-flight load
		close(pd.block)
		wg.Wait()
		if n := pd.scan.Load(); n != 1 {
			t.Fatalf("PD scans = %d, want 1", n)
		}
	})
}

func TestWaiterHonoursOwnContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD()
		pd.block = make(chan struct{})
		c := newCache(t, pd)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := c.LocateKey(ctx, []byte("k"))
			errc <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("LocateKey: %v, want Canceled", err)
		}
		close(pd.block)
	})
}

func TestPDErrorIsReturned(t *testing.T) {
	t.Parallel()
	pd := newFakePD()
	pd.fail = errPDDown
	c := newCache(t, pd)
	if _, err := c.LocateKey(t.Context(), []byte("k")); !errors.Is(err, errPDDown) {
		t.Fatalf("LocateKey: %v, want the PD error", err)
	}
}

func TestSplitReplacesCachedRegion(t *testing.T) {
	t.Parallel()
	pd := newFakePD("m")
	c := newCache(t, pd)
	before, err := c.LocateKey(t.Context(), []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	left, right := pd.split("f")
	// TiKV answers the stale request with EpochNotMatch and both halves.
	if behind := c.OnEpochNotMatch(before.Region, 1, []*metapb.Region{left, right}); behind {
		t.Fatal("store reported newer regions but cache thinks it is behind")
	}
	if c.CachedRegion(before.Region) != nil {
		t.Fatal("stale region still cached")
	}
	for key, want := range map[string]uint64{"c": left.Id, "g": right.Id, "n": 2} {
		loc, err := c.LocateKey(t.Context(), []byte(key))
		if err != nil {
			t.Fatal(err)
		}
		if loc.Region.ID != want || loc.Region.Ver != pd.regionVer(key) {
			t.Fatalf("key %q: %v, want region %d at ver %d", key, loc.Region, want, pd.regionVer(key))
		}
	}
	if c.Len() != 3 {
		t.Fatalf("cached %d regions, want 3", c.Len())
	}
	// Cached copies from TiKV need no PD call.
	if pd.getRegion.Load() != 0 || pd.scan.Load() != 1 {
		t.Fatalf("PD calls get=%d scan=%d", pd.getRegion.Load(), pd.scan.Load())
	}
}

func TestStalePDDataDoesNotOverwriteNewerRegions(t *testing.T) {
	t.Parallel()
	pd := newFakePD()
	c := newCache(t, pd)
	loc, err := c.LocateKey(t.Context(), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	// TiKV already split the region at "m"; PD has not heard yet.
	left := &metapb.Region{Id: 1, EndKey: []byte("m"), RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 2},
		Peers: []*metapb.Peer{{Id: 11, StoreId: 1}}}
	right := &metapb.Region{Id: 50, StartKey: []byte("m"), RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 2},
		Peers: []*metapb.Peer{{Id: 501, StoreId: 1}}}
	c.OnEpochNotMatch(loc.Region, 1, []*metapb.Region{left, right})
	c.InvalidateRegion(1, locate.Other)
	// Reloading region 1 fetches PD's stale whole-range copy: it serves this
	// lookup but must not evict the newer right half.
	if _, err := c.LocateKey(t.Context(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	got, err := c.LocateKey(t.Context(), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Region.ID != 50 {
		t.Fatalf("key x in region %d, want the newer region 50", got.Region.ID)
	}
}

func TestOnEpochNotMatchStoreBehind(t *testing.T) {
	t.Parallel()
	pd := newFakePD()
	c := newCache(t, pd)
	loc, err := c.LocateKey(t.Context(), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	old := &metapb.Region{Id: 1, RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 0}}
	if !c.OnEpochNotMatch(loc.Region, 2, []*metapb.Region{old}) {
		t.Fatal("store with an older epoch not reported as behind")
	}
	if c.CachedRegion(loc.Region) == nil {
		t.Fatal("region invalidated although the store was behind")
	}
}

func TestUpdateLeader(t *testing.T) {
	t.Parallel()
	pd := newFakePD()
	c := newCache(t, pd)
	r, err := c.RegionByKey(t.Context(), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := r.Leader(); !ok || l.StoreID != 1 {
		t.Fatalf("initial leader %v %v", l, ok)
	}
	if !c.UpdateLeader(r.VerID(), &metapb.Peer{Id: 13, StoreId: 3}) {
		t.Fatal("UpdateLeader rejected a known peer")
	}
	if l, _ := r.Leader(); l.StoreID != 3 {
		t.Fatalf("leader on store %d, want 3", l.StoreID)
	}
	stale := r.VerID()
	stale.Ver--
	c.UpdateLeader(stale, &metapb.Peer{Id: 12, StoreId: 2})
	if l, _ := r.Leader(); l.StoreID != 3 {
		t.Fatal("a hint for a stale epoch moved the leader")
	}
	if c.UpdateLeader(r.VerID(), &metapb.Peer{Id: 99, StoreId: 9}) || r.Invalid() != locate.NoLeader {
		t.Fatalf("unknown leader peer: invalid=%v, want NoLeader", r.Invalid())
	}
	if _, err := c.LocateKey(t.Context(), []byte("a")); err != nil || pd.scan.Load() != 2 {
		t.Fatalf("invalidated region not reloaded (scans %d): %v", pd.scan.Load(), err)
	}
}

func TestRegionTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD()
		c := newCache(t, pd, locate.WithRegionTTL(time.Minute, 0))
		locateA := func() {
			t.Helper()
			if _, err := c.LocateKey(t.Context(), []byte("a")); err != nil {
				t.Fatal(err)
			}
		}
		locateA()
		// Accesses within the TTL keep the region alive past its first TTL.
		for range 4 {
			time.Sleep(40 * time.Second)
			locateA()
		}
		if n := pd.scan.Load(); n != 1 {
			t.Fatalf("PD scans = %d after regular access, want 1", n)
		}
		time.Sleep(61 * time.Second)
		locateA()
		if n := pd.scan.Load(); n != 2 {
			t.Fatalf("PD scans = %d after TTL, want 2", n)
		}
	})
}

func TestBuckets(t *testing.T) {
	t.Parallel()
	pd := newFakePD("m")
	c := newCache(t, pd)
	r, err := c.RegionByKey(t.Context(), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	c.UpdateBuckets(r.VerID(), &metapb.Buckets{RegionId: 1, Version: 2, Keys: [][]byte{{}, []byte("d"), []byte("h"), []byte("m")}})
	c.UpdateBuckets(r.VerID(), &metapb.Buckets{RegionId: 1, Version: 1, Keys: [][]byte{{}, []byte("m")}})
	loc, err := c.LocateKey(t.Context(), []byte("e"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.BucketVersion() != 2 {
		t.Fatalf("bucket version %d, want 2 (older update ignored)", loc.BucketVersion())
	}
	for key, want := range map[string]string{"a": `["","d")`, "e": `["d","h")`, "h": `["h","m")`} {
		s, e, ok := loc.LocateBucket([]byte(key))
		if got := fmt.Sprintf("[%q,%q)", s, e); !ok || got != want {
			t.Errorf("bucket of %q = %s, want %s", key, got, want)
		}
	}
	if _, _, ok := loc.LocateBucket([]byte("x")); ok {
		t.Fatal("bucket found outside the region")
	}
}

func TestStoreCache(t *testing.T) {
	t.Parallel()
	pd := newFakePD()
	pd.stores[4] = &metapb.Store{Id: 4, Address: "gone", State: metapb.StoreState_Tombstone}
	c := newCache(t, pd)
	s, err := c.Store(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "store2" || !s.MatchesLabels([]locate.Label{{Key: "zone", Value: "z2"}}) || s.MatchesLabels([]locate.Label{{Key: "zone", Value: "z1"}}) {
		t.Fatalf("store %+v", s)
	}
	if _, err := c.Store(t.Context(), 2); err != nil || pd.getStore.Load() != 1 {
		t.Fatalf("second Store call hit PD (%d): %v", pd.getStore.Load(), err)
	}
	if _, err := c.Store(t.Context(), 4); !errors.Is(err, locate.ErrStoreNotFound) {
		t.Fatalf("tombstone: %v", err)
	}
	pd.mu.Lock()
	pd.stores[2] = &metapb.Store{Id: 2, Address: "store2-moved"}
	pd.mu.Unlock()
	c.InvalidateStore(2)
	if s, err := c.Store(t.Context(), 2); err != nil || s.Addr() != "store2-moved" {
		t.Fatalf("after invalidation: %v %v", s, err)
	}
	all, err := c.RefreshStores(t.Context())
	if err != nil || len(all) != 3 {
		t.Fatalf("RefreshStores: %d stores, %v", len(all), err)
	}
	s.MarkUnreachable()
	if s.Reachable() {
		t.Fatal("MarkUnreachable ignored")
	}
}

func TestSharedLoadSurvivesAnotherCallersDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD()
		pd.block = make(chan struct{})
		c := newCache(t, pd)
		short, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		errA := make(chan error, 1)
		go func() {
			_, err := c.LocateKey(short, []byte("k"))
			errA <- err
		}()
		synctest.Wait() // A's flight is parked in PD
		errB := make(chan error, 1)
		go func() {
			_, err := c.LocateKey(t.Context(), []byte("k"))
			errB <- err
		}()
		synctest.Wait() // B joined A's flight
		if err := <-errA; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("short caller: %v", err)
		}
		synctest.Wait() // B flew again and is parked in PD
		close(pd.block)
		if err := <-errB; err != nil {
			t.Fatalf("patient caller: %v", err)
		}
		if n := pd.scan.Load(); n != 2 {
			t.Fatalf("PD scans = %d, want 2", n)
		}
	})
}
