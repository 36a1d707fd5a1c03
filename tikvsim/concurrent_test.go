package tikvsim_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestConcurrentSafeRegionChurn runs raw writers that follow region errors
// while regions split, merge and change leaders underneath them. Every
// write must land exactly where a later read finds it.
func TestConcurrentSafeRegionChurn(t *testing.T) {
	c := start(t, tikvsim.Options{})
	kv := kvClients(t, c)
	ctx := tctx(t)
	const writers, perWriter = 4, 40

	put := func(key string) error {
		for attempt := 0; attempt < 1000; attempt++ {
			ri, err := c.RegionByKey([]byte(key))
			if err != nil {
				return err
			}
			resp, err := kv[ri.Leader].RawPut(ctx, &kvrpcpb.RawPutRequest{Context: rctx(ri, 0), Key: []byte(key), Value: []byte(key)})
			if err != nil {
				return err
			}
			if resp.GetRegionError() == nil {
				if resp.GetError() != "" {
					return fmt.Errorf("put %s: %s", key, resp.GetError())
				}
				return nil
			}
			// Region changed under us: reload and retry, as a client would.
		}
		return fmt.Errorf("put %s: too many region errors", key)
	}

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if err := put(fmt.Sprintf("k%d-%03d", w, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 30 {
			k := []byte(fmt.Sprintf("k%d-%03d", i%writers, i))
			left, err := c.SplitRegionAt(k)
			if err != nil {
				continue
			}
			regions := c.Regions()
			r := regions[i%len(regions)]
			_ = c.TransferLeader(r.ID, r.Peers[i%len(r.Peers)].StoreID)
			if i%3 == 0 {
				if right, err := c.RegionByKey(k); err == nil {
					_ = c.MergeRegions(left, right.ID)
				}
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range writers {
		for i := range perWriter {
			key := fmt.Sprintf("k%d-%03d", w, i)
			ri := rawRegionFor(t, c, []byte(key))
			resp, err := kv[ri.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte(key)})
			if err != nil || string(resp.GetValue()) != key {
				t.Fatalf("get %s: %v %v", key, resp, err)
			}
		}
	}
	// Regions still tile the key space.
	regions := c.Regions()
	if len(regions[0].StartKey) != 0 || len(regions[len(regions)-1].EndKey) != 0 {
		t.Fatalf("key space not covered: %+v", regions)
	}
	for i := 1; i < len(regions); i++ {
		if string(regions[i-1].EndKey) != string(regions[i].StartKey) {
			t.Fatalf("hole or overlap between %+v and %+v", regions[i-1], regions[i])
		}
	}
}
