package pdclient_test

import (
	"context"
	"fmt"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// Example_getRegion finds the region holding a key on a simulated cluster
// split at "m", then scans every region.
func Example_getRegion() {
	ctx := context.Background()
	split := tikvsim.EncodeKey([]byte("m"))
	sim, err := tikvsim.Start(ctx, tikvsim.Options{SplitKeys: [][]byte{split}})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	cli, err := pdclient.New(ctx, sim.PDAddrs())
	if err != nil {
		panic(err)
	}
	defer cli.Close()

	// Region keys are encoded by the caller (memcomparable for TxnKV).
	r, err := cli.GetRegion(ctx, tikvsim.EncodeKey([]byte("x")))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(r.Meta.StartKey) == string(split), len(r.Meta.EndKey) == 0, r.Leader != nil)
	regions, _ := cli.ScanRegions(ctx, nil, nil, 0)
	fmt.Println(len(regions))
	// Output:
	// true true true
	// 2
}
