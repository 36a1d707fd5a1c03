package locate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

func ExampleCache() {
	// A fake PD with regions split at "c" and "f"; use *pdclient.Client in
	// real code.
	cache, err := locate.New(newFakePD("c", "f"))
	if err != nil {
		panic(err)
	}
	loc, err := cache.LocateKey(context.Background(), []byte("d"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("d is in region %d [%q, %q)\n", loc.Region.ID, loc.StartKey, loc.EndKey)
	// Output:
	// d is in region 2 ["c", "f")
}

func ExampleRouter() {
	cache, err := locate.New(newFakePD("c", "f"))
	if err != nil {
		panic(err)
	}
	// A fake RPC client; use *kvrpc.Client in real code. A nil codec is
	// API V1 raw; see package keycodec for the others.
	router := locate.NewRouter(locate.NewSender(cache, &fakeRPC{answer: script()}), nil)
	ctx, bo := context.Background(), retry.New(time.Second)

	keys := [][]byte{[]byte("g"), []byte("a"), []byte("d"), []byte("b")}
	key := func(k []byte) ([]byte, int) { return k, len(k) }
	batches, err := locate.GroupByRegion(ctx, router, keys, key, locate.WithBatchLimit(2, 0))
	if err != nil {
		panic(err)
	}
	for _, b := range batches {
		fmt.Printf("region %d: %q from positions %v\n", b.Location.Region.ID, b.Items, b.Index)
	}

	err = router.WalkRange(ctx, bo, []byte("b"), []byte("g"), func(_ context.Context, _ *retry.Backoffer, s locate.Span) (bool, error) {
		fmt.Printf("span of region %d: [%q, %q)\n", s.Location.Region.ID, s.Start, s.End)
		return false, nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// region 1: ["a" "b"] from positions [1 3]
	// region 2: ["d"] from positions [2]
	// region 3: ["g"] from positions [0]
	// span of region 1: ["b", "c")
	// span of region 2: ["c", "f")
	// span of region 3: ["f", "g")
}
