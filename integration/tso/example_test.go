package tso_test

import (
	"context"
	"fmt"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// Example_getTS takes timestamps from a simulated cluster, synchronously and
// asynchronously; the second is always later.
func Example_getTS() {
	ctx := context.Background()
	sim, err := tikvsim.Start(ctx, tikvsim.Options{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	c, err := tso.New(ctx, sim.PDAddrs())
	if err != nil {
		panic(err)
	}
	defer c.Close()

	a, _ := c.GetTS(ctx)
	f := c.GetTSAsync(ctx)
	b, _ := f.Wait(ctx)
	fmt.Println(b > a)
	// Output: true
}
