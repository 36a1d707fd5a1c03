package locate_test

import (
	"context"
	"fmt"

	"github.com/tikvgo/tikvgo/locate"
)

func ExampleCache() {
	// A fake PD with regions split at "c" and "f"; use *pdclient.Client in
	// real code.
	cache, err := locate.New(newFakePD("c", "f"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	loc, err := cache.LocateKey(ctx, []byte("d"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("d is in region %d [%q, %q)\n", loc.Region.ID, loc.StartKey, loc.EndKey)

	groups, err := cache.GroupKeysByRegion(ctx, [][]byte{[]byte("a"), []byte("g"), []byte("b")})
	if err != nil {
		panic(err)
	}
	for _, g := range groups {
		fmt.Printf("region %d: %q\n", g.Location.Region.ID, g.Keys)
	}
	// Output:
	// d is in region 2 ["c", "f")
	// region 1: ["a" "b"]
	// region 3: ["g"]
}
