package e2e_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/tikvgo/tikvgo/tikv"
)

// TestCurrentTSStrictlyIncreasing checks the facade's timestamps: strictly
// increasing on one goroutine, and unique and per-goroutine increasing
// under concurrency (the batching client shares one stream).
func TestCurrentTSStrictlyIncreasing(t *testing.T) {
	cli := newClient(t)
	ctx := callCtx(t)
	var prev tikv.Timestamp
	for i := range 200 {
		ts, err := cli.CurrentTS(ctx)
		if err != nil {
			t.Fatalf("CurrentTS #%d: %v", i, err)
		}
		if ts <= prev {
			t.Fatalf("CurrentTS #%d = %d, not above the previous %d", i, ts, prev)
		}
		prev = ts
	}

	const workers, each = 8, 50
	got := make([][]tikv.Timestamp, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				ts, err := cli.CurrentTS(ctx)
				if err != nil {
					errs[w] = err
					return
				}
				got[w] = append(got[w], ts)
			}
		})
	}
	wg.Wait()
	var all []tikv.Timestamp
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v", w, errs[w])
		}
		for i := 1; i < len(got[w]); i++ {
			if got[w][i] <= got[w][i-1] {
				t.Fatalf("worker %d: timestamp %d not above %d", w, got[w][i], got[w][i-1])
			}
		}
		if got[w][0] <= prev {
			t.Fatalf("worker %d: first timestamp %d not above %d, taken before", w, got[w][0], prev)
		}
		all = append(all, got[w]...)
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != workers*each {
		t.Fatalf("concurrent CurrentTS handed out duplicates")
	}
}
