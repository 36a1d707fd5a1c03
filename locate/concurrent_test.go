package locate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// TestConcurrentSafeCache runs lookups against splits, invalidations and
// leader updates; every answer must contain its key.
func TestConcurrentSafeCache(t *testing.T) {
	t.Parallel()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	pd := newFakePD("m")
	c := newCache(t, pd, locate.WithScanAhead(4))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for range 500 {
				key := fmt.Appendf(nil, "%c%03d", 'a'+rng.IntN(26), rng.IntN(1000))
				loc, err := c.LocateKey(t.Context(), key)
				if err != nil {
					t.Error(err)
					return
				}
				if !loc.Contains(key) {
					t.Errorf("location [%q,%q) does not contain %q", loc.StartKey, loc.EndKey, key)
					return
				}
				switch rng.IntN(10) {
				case 0:
					c.InvalidateRegion(loc.Region.ID, locate.Other)
				case 1:
					c.UpdateLeader(loc.Region, &metapb.Peer{Id: loc.Region.ID*10 + 2, StoreId: 2})
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 25 {
			at := fmt.Sprintf("%c", 'b'+i)
			loc, err := c.LocateKey(t.Context(), []byte(at))
			if err != nil {
				t.Error(err)
				return
			}
			if string(loc.StartKey) == at {
				continue
			}
			l, r := pd.split(at)
			c.OnEpochNotMatch(loc.Region, 1, []*metapb.Region{l, r})
		}
	})
	wg.Wait()
}

func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := newCache(t, newFakePD("c", "f", "k"), locate.WithRegionTTL(time.Minute, 0))
		if err := warmAll(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		c.InvalidateRegion(2, locate.Other)
		if n := c.PurgeExpired(10); n != 1 || c.Len() != 3 {
			t.Fatalf("purged %d, %d left; want 1 purged, 3 left", n, c.Len())
		}
		time.Sleep(2 * time.Minute)
		if n := c.PurgeExpired(2); n != 2 || c.Len() != 1 {
			t.Fatalf("purged %d, %d left; want the limit of 2 purged", n, c.Len())
		}
	})
}

func TestRecordHealthFeedback(t *testing.T) {
	t.Parallel()
	c := newCache(t, newFakePD())
	s, err := c.Store(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	c.RecordHealthFeedback(&kvrpcpb.HealthFeedback{StoreId: 3, SlowScore: 90})
	c.RecordHealthFeedback(&kvrpcpb.HealthFeedback{StoreId: 77, SlowScore: 90})
	if s.SlowScore() != 90 {
		t.Fatalf("slow score %d, want 90", s.SlowScore())
	}
}

// TestConcurrentSafeRouter sends batches from several goroutines while PD
// splits regions under them: every key must be served exactly once, by a
// batch whose region holds it.
func TestConcurrentSafeRouter(t *testing.T) {
	t.Parallel()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	e := newRouteEnv(t, nil, "m")
	key := func(k []byte) ([]byte, int) { return k, len(k) }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for range 50 {
				keys := make([][]byte, 1+rng.IntN(40))
				for i := range keys {
					keys[i] = fmt.Appendf(nil, "%c%03d", 'a'+rng.IntN(26), rng.IntN(1000))
				}
				opts := []locate.BatchOption{locate.WithBatchLimit(1+rng.IntN(8), 0), locate.WithConcurrency(1 + rng.IntN(4))}
				batches, err := locate.GroupByRegion(t.Context(), e.router, keys, key, opts...)
				if err != nil {
					t.Error(err)
					return
				}
				served := make([]atomic.Int32, len(keys))
				err = locate.SendBatches(t.Context(), retry.New(time.Minute), e.router, batches, key, func(ctx context.Context, bo *retry.Backoffer, b locate.Batch[[]byte]) error {
					if _, err := e.sender.Send(ctx, bo, batchGet(b.Items), b.Location.Region); err != nil {
						return err
					}
					for i, k := range b.Items {
						if !b.Location.Contains(k) {
							return fmt.Errorf("batch of [%q, %q) holds %q", b.Location.StartKey, b.Location.EndKey, k)
						}
						served[b.Index[i]].Add(1)
					}
					return nil
				}, opts...)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range served {
					if n := served[i].Load(); n != 1 {
						t.Errorf("key %q served %d times", keys[i], n)
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 25 {
			e.pd.split(fmt.Sprintf("%c5", 'a'+i))
		}
	})
	wg.Wait()
}
