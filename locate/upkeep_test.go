package locate_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/locate"
)

// fakeChecker answers health checks per address: serving unless down.
type fakeChecker struct {
	mu    sync.Mutex
	down  map[string]bool
	calls atomic.Int32
}

func (f *fakeChecker) CheckHealth(ctx context.Context, addr string) error {
	f.calls.Add(1)
	f.mu.Lock()
	down := f.down[addr]
	f.mu.Unlock()
	if down {
		<-ctx.Done() // a partitioned store: the probe runs into its timeout
		return ctx.Err()
	}
	return nil
}

func (f *fakeChecker) set(addr string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down == nil {
		f.down = map[string]bool{}
	}
	f.down[addr] = down
}

func startUpkeep(t *testing.T, c *locate.Cache, opts ...locate.UpkeepOption) *locate.Upkeep {
	t.Helper()
	u, err := c.StartUpkeep(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

func TestUpkeepRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	c := newCache(t, newFakePD())
	for name, opt := range map[string]locate.UpkeepOption{
		"negative purge":   locate.WithPurge(-time.Second, 10),
		"zero purge scan":  locate.WithPurge(time.Second, 0),
		"negative refresh": locate.WithStoreRefresh(-time.Second),
		"negative probe":   locate.WithProbe(&fakeChecker{}, -time.Second, time.Second),
		"zero timeout":     locate.WithProbe(&fakeChecker{}, time.Second, 0),
	} {
		t.Run(name, func(t *testing.T) {
			if u, err := c.StartUpkeep(opt); !errors.Is(err, locate.ErrInvalidOption) {
				if u != nil {
					_ = u.Close()
				}
				t.Fatalf("StartUpkeep = %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestUpkeepPurgesExpiredRegionsInBoundedPasses(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD("b", "c", "d", "e")
		c := newCache(t, pd, locate.WithRegionTTL(time.Minute, 0))
		if _, err := c.LocateKey(t.Context(), []byte("a")); err != nil { // loads all 5
			t.Fatal(err)
		}
		u := startUpkeep(t, c, locate.WithPurge(time.Second, 2), locate.WithStoreRefresh(0))
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if n := c.Len(); n != 5 {
			t.Fatalf("purged live regions: %d left", n)
		}
		// Past the TTL each tick looks at two regions, so at most two go
		// per tick and all five within three ticks (the cursor wraps).
		time.Sleep(30 * time.Second)
		synctest.Wait()
		prev := c.Len()
		for range 3 {
			time.Sleep(time.Second)
			synctest.Wait()
			if n := c.Len(); prev-n > 2 {
				t.Fatalf("one purge pass removed %d regions, want at most 2", prev-n)
			}
			prev = c.Len()
		}
		if prev != 0 {
			t.Fatalf("%d expired regions left after three passes", prev)
		}
		if s := c.Stats(); s.Purged != 5 {
			t.Fatalf("Purged = %d, want 5", s.Purged)
		}
		if err := u.Close(); err != nil {
			t.Fatal(err)
		}
		_ = u.Close() // idempotent
	})
}

func TestUpkeepRefreshesStores(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD()
		c := newCache(t, pd)
		if _, err := c.Store(t.Context(), 2); err != nil {
			t.Fatal(err)
		}
		startUpkeep(t, c, locate.WithStoreRefresh(10*time.Second), locate.WithPurge(0, 0))
		pd.mu.Lock()
		pd.stores[2] = &metapb.Store{Id: 2, Address: "store2-moved"}
		pd.mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := c.CachedStore(2).Addr(); got != "store2-moved" {
			t.Fatalf("store 2 at %q after a refresh", got)
		}
		if s := c.Stats(); s.StoreRefreshes != 1 {
			t.Fatalf("StoreRefreshes = %d, want 1", s.StoreRefreshes)
		}
	})
}

func TestUpkeepProbesUnreachableStores(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pd := newFakePD()
		c := newCache(t, pd)
		for id := uint64(1); id <= 3; id++ {
			if _, err := c.Store(t.Context(), id); err != nil {
				t.Fatal(err)
			}
		}
		hc := &fakeChecker{}
		startUpkeep(t, c, locate.WithProbe(hc, time.Second, 300*time.Millisecond), locate.WithPurge(0, 0), locate.WithStoreRefresh(0))

		// Healthy stores are never probed.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := hc.calls.Load(); n != 0 {
			t.Fatalf("%d probes of healthy stores", n)
		}

		s := c.CachedStore(2)
		hc.set(s.Addr(), true)
		s.MarkUnreachable()
		time.Sleep(time.Second) // first probe: runs into its timeout
		synctest.Wait()
		if s.Reachable() {
			t.Fatal("a failed probe marked the store reachable")
		}
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		if st := c.Stats(); st.Probes != 1 || st.ProbeFailures != 1 || st.UnreachableStores != 1 {
			t.Fatalf("after a failed probe: %+v", st)
		}
		hc.set(s.Addr(), false) // the store comes back
		time.Sleep(700 * time.Millisecond)
		synctest.Wait()
		if !s.Reachable() {
			t.Fatal("store still unreachable one probe interval after it came back")
		}
		if st := c.Stats(); st.Probes != 2 || st.StoresRecovered != 1 || st.UnreachableStores != 0 {
			t.Fatalf("after recovery: %+v", st)
		}
	})
}

func TestUpkeepWithoutCheckerNeverProbes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, newFakePD())
		s, err := c.Store(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		startUpkeep(t, c, locate.WithStoreRefresh(0))
		s.MarkUnreachable()
		time.Sleep(time.Minute)
		synctest.Wait()
		if s.Reachable() || c.Stats().Probes != 0 {
			t.Fatal("probed without a health checker")
		}
	})
}
